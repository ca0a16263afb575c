import { describe, expect, it } from 'vitest';

import { plainData } from '#shared/adapters/dynamodb-order-item';

const roundTrip = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

describe('plainData: what a JSON round trip makes of a record', () => {
  it.each([
    ['a notification record', { id: 'n1', body: '<xml><a><![CDATA[中]]></a></xml>', headers: undefined, n: 0 }],
    ['undefined members at any depth', { a: undefined, b: { c: undefined, d: [{ e: undefined, f: 1 }] } }],
    ['undefined, functions and symbols in a list', { list: [1, undefined, () => 1, Symbol('s'), 'x'] }],
    ['functions and symbols as members', { f: () => 1, s: Symbol('s'), kept: true }],
    ['non-finite numbers', { a: Number.NaN, b: [Infinity, -Infinity], c: -0 }],
    ['a Date', { at: new Date('2024-01-02T03:04:05.678Z'), list: [new Date(0)] }],
    ['an object with toJSON', { amount: { toJSON: () => 'as JSON' } }],
    ['a class instance, a Map and a Set', { m: new Map([[1, 2]]), s: new Set([1]), e: new Error('x') }],
    ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1, b: undefined })],
    ['an own __proto__ member', JSON.parse('{"__proto__": {"x": 1}, "a": 2}') as unknown],
    ['integer-like keys', { b: 1, 2: 'two', a: 3, 1: 'one' }],
    ['plain values', ['s', 1, true, null, [], {}]],
  ])('%s', (_name, value) => {
    const copied = plainData(value);
    expect(copied).toStrictEqual(roundTrip(value));
    expect(JSON.stringify(copied)).toBe(JSON.stringify(roundTrip(value)));
  });

  it('copies: changing the copy leaves the record alone', () => {
    const record = { history: [{ to: 'PAID' }], payment: { amountTotal: 100 } };
    const copied = plainData(record);
    copied.history[0]!.to = 'CLOSED';
    copied.payment.amountTotal = 1;
    expect(record).toEqual({ history: [{ to: 'PAID' }], payment: { amountTotal: 100 } });
  });

  it('refuses what JSON refuses', () => {
    expect(() => plainData({ n: 1n })).toThrow(TypeError);
    expect(() => plainData(undefined)).toThrow();
  });
});
