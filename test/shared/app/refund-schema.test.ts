import { describe, expect, it } from 'vitest';

import { generateOutRefundNo, parseCreateRefund, parseOutRefundNo } from '#shared/app/refund-schema';
import { ValidationError } from '#shared/domain/errors';

const now = new Date('2030-01-01T00:00:00Z');
const valid = { out_refund_no: 'R-0001|a*b@c_d', amount: { refund: 100 }, reason: '退货' };

function fieldOf(body: unknown): string | undefined {
  try {
    parseCreateRefund('T000123', body, now);
  } catch (err) {
    if (err instanceof ValidationError) return err.field ?? '(none)';
    throw err;
  }
  return undefined;
}

describe('POST /orders/{out_trade_no}/refunds body', () => {
  it('reads a valid refund into the domain request, for the order in the path', () => {
    expect(parseCreateRefund('T000123', valid, now)).toEqual({
      outTradeNo: 'T000123',
      outRefundNo: 'R-0001|a*b@c_d',
      refund: 100,
      reason: '退货',
    });
  });

  it('leaves reason out when none is given', () => {
    expect(parseCreateRefund('T000123', { amount: { refund: 1 }, out_refund_no: 'r1' }, now)).not.toHaveProperty(
      'reason',
    );
  });

  it('generates a distinct out_refund_no of WeChat’s alphabet when absent', () => {
    const a = parseCreateRefund('T000123', { amount: { refund: 1 } }, now).outRefundNo;
    const b = parseCreateRefund('T000123', { amount: { refund: 1 } }, now).outRefundNo;
    expect(a).not.toBe(b);
    for (const generated of [a, b, generateOutRefundNo(now)]) {
      expect(generated).toMatch(/^R20300101000000000[0-9a-f]{14}$/);
      expect(parseOutRefundNo(generated)).toBe(generated);
    }
  });

  it('accepts an out_refund_no of 64 characters and a reason of 80 characters, Chinese or emoji included', () => {
    expect(fieldOf({ ...valid, out_refund_no: 'x'.repeat(64) })).toBeUndefined();
    expect(fieldOf({ ...valid, reason: '退'.repeat(80) })).toBeUndefined();
    expect(fieldOf({ ...valid, reason: '😀'.repeat(80) })).toBeUndefined();
  });

  it.each([
    [{ ...valid, out_refund_no: '' }, 'out_refund_no'],
    [{ ...valid, out_refund_no: 'x'.repeat(65) }, 'out_refund_no'],
    [{ ...valid, out_refund_no: 'has space' }, 'out_refund_no'],
    [{ ...valid, out_refund_no: 'R#1' }, 'out_refund_no'],
    [{ ...valid, out_refund_no: 12345 }, 'out_refund_no'],
    [{ ...valid, amount: undefined }, 'amount'],
    [{ ...valid, amount: 100 }, 'amount'],
    [{ ...valid, amount: {} }, 'amount.refund'],
    [{ ...valid, amount: { refund: 0 } }, 'amount.refund'],
    [{ ...valid, amount: { refund: -1 } }, 'amount.refund'],
    [{ ...valid, amount: { refund: 1.5 } }, 'amount.refund'],
    [{ ...valid, amount: { refund: '100' } }, 'amount.refund'],
    [{ ...valid, amount: { refund: 100_000_000_01 } }, 'amount.refund'],
    [{ ...valid, amount: { refund: 1, currency: 'CNY' } }, 'amount.currency'],
    [{ ...valid, reason: '' }, 'reason'],
    [{ ...valid, reason: 'x'.repeat(81) }, 'reason'],
    [{ ...valid, reason: '退'.repeat(81) }, 'reason'],
    [{ ...valid, reason: 'line\nbreak' }, 'reason'],
    [{ ...valid, reason: 42 }, 'reason'],
    [{ ...valid, out_trade_no: 'T000123' }, 'out_trade_no'],
    [{ ...valid, refund_fee: 1 }, 'refund_fee'],
  ])('refuses %j with a 400 naming %s', (body, field) => {
    expect(fieldOf(body)).toBe(field);
  });

  it.each([null, [], 'refund', 7])('refuses a body that is not an object (%j)', (body) => {
    expect(fieldOf(body)).toBe('(none)');
  });

  it('says which rule was broken, with the field first', () => {
    expect(() => parseCreateRefund('T000123', { ...valid, reason: 'x'.repeat(81) }, now)).toThrow(
      'reason must be at most 80 characters',
    );
  });
});

describe('out_refund_no in the path', () => {
  it('is taken as WeChat allows it, else a 400 naming it', () => {
    expect(parseOutRefundNo('R@1|2*3_4-5')).toBe('R@1|2*3_4-5');
    for (const bad of [undefined, '', 'x'.repeat(65), 'a/b', 'a b']) {
      expect(() => parseOutRefundNo(bad)).toThrow(expect.objectContaining({ field: 'out_refund_no' }));
    }
  });
});
