import { randomBytes } from 'node:crypto';

import type { Merchant } from '#sandbox/simulator/sandbox-merchant';
import type { Order } from '#shared/domain/order';
import { fingerprint, type NewPayment } from '#shared/domain/payment-request';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';

/**
 * The bench's orders, all alike so every part loads the backend the same way: the POST /orders
 * body a merchant's backend sends, PENDING orders as the orders Lambda leaves them after a
 * successful prepay (written straight to the table so a notification benchmark does not first
 * spend minutes creating orders through the API), and WeChat's paid notification for one.
 */

export const SEED_AMOUNT_FEN = 100;
const PRODUCT_ID = 'sku-bench';
const PAYER_CLIENT_IP = '203.0.113.9';
/** A JSAPI payer; WeChat checks only that one is given, and our notify handler records it. */
const PAYER_OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

/** The trade types the bench orders with: the two that need no app or H5 domain set up. */
export type BenchTradeType = 'NATIVE' | 'JSAPI';

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
    productId: PRODUCT_ID,
    payerClientIp: PAYER_CLIENT_IP,
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

/** The body of `POST /orders` for one bench order. */
export function createOrderBody(outTradeNo: string, tradeType: BenchTradeType = 'NATIVE') {
  return {
    out_trade_no: outTradeNo,
    description: 'bench order',
    amount: { total: SEED_AMOUNT_FEN },
    trade_type: tradeType,
    scene_info: { payer_client_ip: PAYER_CLIENT_IP },
    ...(tradeType === 'NATIVE' ? { product_id: PRODUCT_ID } : { payer: { openid: PAYER_OPENID } }),
  };
}

/**
 * WeChat's v2 notification that a bench order was paid in full. MD5-signed: what WeChat signs
 * notifications with for a merchant on the default sign type. `index` picks a distinct
 * transaction_id.
 */
export function paidNotification(
  merchant: Merchant,
  outTradeNo: string,
  index: number,
  tradeType: BenchTradeType = 'NATIVE',
): string {
  const fields = paidNotificationFields(merchant, outTradeNo, {
    trade_type: tradeType,
    total_fee: String(SEED_AMOUNT_FEN),
    cash_fee: String(SEED_AMOUNT_FEN),
    transaction_id: transactionId(index),
    ...(tradeType === 'JSAPI' ? { openid: PAYER_OPENID } : {}),
  });
  return signedV2Notification(fields, merchant.apiKey, 'MD5');
}

/** A 28-digit transaction_id, unique per index within a run. */
export function transactionId(index: number): string {
  return `42000${String(Date.now()).slice(-10)}${String(index).padStart(13, '0')}`.slice(0, 28);
}
