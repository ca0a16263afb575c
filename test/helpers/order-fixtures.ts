import { randomUUID } from 'node:crypto';

import type { Order } from '#shared/domain/order';

/** The instant fixtures count from, far from any real clock. */
export const T0 = Date.parse('2030-01-01T00:00:00.000Z');

/** T0 plus some seconds, as the store keeps instants. */
export const at = (offsetSeconds: number): string => new Date(T0 + offsetSeconds * 1000).toISOString();

let tradeCounter = 0;

/** Unique per call, in WeChat's out_trade_no alphabet. */
export function tradeNo(): string {
  tradeCounter += 1;
  return `T${randomUUID().replace(/-/g, '').slice(0, 20)}${tradeCounter}`;
}

/** A NATIVE order of 19.99 CNY created at T0, CREATED unless overridden. */
export function orderFixture(overrides: Partial<Order> = {}): Order {
  const outTradeNo = overrides.outTradeNo ?? tradeNo();
  return {
    outTradeNo,
    status: 'CREATED',
    request: {
      outTradeNo,
      description: 'Tea, 2 cups',
      amount: { total: 1999, currency: 'CNY' },
      tradeType: 'NATIVE',
      productId: 'tea-2',
      payerClientIp: '203.0.113.7',
      expiresAt: at(7200),
    },
    requestHash: 'h'.repeat(64),
    createdAt: at(0),
    updatedAt: at(0),
    nextCheckAt: at(60),
    history: [{ at: at(0), from: null, to: 'CREATED', source: 'api' }],
    ...overrides,
  };
}
