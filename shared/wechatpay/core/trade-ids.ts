import * as z from 'zod';

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{1,32}$/;

/** The merchant's order number, as both API versions define it. */
export const outTradeNoSchema = z.string().regex(OUT_TRADE_NO, 'must be 1-32 characters of 0-9 A-Z a-z _ - | *');

/** WeChat's own number for a payment. */
export const transactionIdSchema = z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'must be 1-32 letters or digits');

/** outTradeNoSchema's test without zod's parse (its result and issue objects): asked of every notification. */
export function isOutTradeNo(value: unknown): value is string {
  return typeof value === 'string' && OUT_TRADE_NO.test(value);
}

/** The merchant's refund number, as both API versions define it (one more character than out_trade_no: @). */
export const outRefundNoSchema = z
  .string()
  .regex(/^[0-9A-Za-z_\-|*@]{1,64}$/, 'must be 1-64 characters of 0-9 A-Z a-z _ - | * @');

/** WeChat's own number for a refund. */
export const refundIdSchema = z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'must be 1-32 letters or digits');
