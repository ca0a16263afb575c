import { randomBytes } from 'node:crypto';

import type { Order } from '../shared/domain/order';
import { fingerprint, type NewPayment } from '../shared/domain/payment-request';

/**
 * PENDING orders as the orders Lambda leaves them after a successful prepay (stored order, prepay
 * held, first check due), written straight to the table so a notification benchmark does not
 * first spend minutes creating orders through the API.
 */

export const SEED_AMOUNT_FEN = 100;

/** A run-unique, WeChat-valid out_trade_no prefix (letters and digits, ≤ 32 characters in all). */
export function runPrefix(label: string): string {
  return `${label}${Date.now().toString(36)}${randomBytes(2).toString('hex')}`.toUpperCase();
}

export function outTradeNos(prefix: string, count: number): string[] {
  const width = String(Math.max(count - 1, 0)).length;
  return Array.from({ length: count }, (_, i) => `${prefix}${String(i).padStart(width, '0')}`);
}

export function pendingOrder(outTradeNo: string, now: Date): Order {
  const at = now.toISOString();
  const input: NewPayment & { outTradeNo: string } = {
    outTradeNo,
    description: 'bench order',
    amount: { total: SEED_AMOUNT_FEN, currency: 'CNY' },
    tradeType: 'NATIVE',
    productId: 'sku-bench',
    payerClientIp: '203.0.113.9',
  };
  return {
    outTradeNo,
    status: 'PENDING',
    request: { ...input, expiresAt: new Date(now.getTime() + 7200_000).toISOString() },
    requestHash: fingerprint(input),
    createdAt: at,
    updatedAt: at,
    prepay: {
      prepayId: `wx${randomBytes(15).toString('hex')}`,
      client: { code_url: `weixin://wxpay/bizpayurl?pr=${randomBytes(5).toString('hex')}` },
      validUntil: new Date(now.getTime() + 7200_000).toISOString(),
    },
    nextCheckAt: new Date(now.getTime() + 30_000).toISOString(),
    history: [
      { at, from: null, to: 'CREATED', source: 'api' },
      { at, from: 'CREATED', to: 'PENDING', source: 'api' },
    ],
  };
}

/** A 28-digit transaction_id, unique per index within a run. */
export function transactionId(index: number): string {
  return `42000${String(Date.now()).slice(-10)}${String(index).padStart(13, '0')}`.slice(0, 28);
}
