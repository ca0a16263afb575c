import * as z from 'zod';

/** The merchant's order number, as both API versions define it. */
export const outTradeNoSchema = z
  .string()
  .regex(/^[0-9A-Za-z_\-|*]{1,32}$/, 'must be 1-32 characters of 0-9 A-Z a-z _ - | *');

/** WeChat's own number for a payment. */
export const transactionIdSchema = z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'must be 1-32 letters or digits');

export function isOutTradeNo(value: unknown): value is string {
  return outTradeNoSchema.safeParse(value).success;
}

/** The merchant's refund number, as both API versions define it (one more character than out_trade_no: @). */
export const outRefundNoSchema = z
  .string()
  .regex(/^[0-9A-Za-z_\-|*@]{1,64}$/, 'must be 1-64 characters of 0-9 A-Z a-z _ - | * @');

/** WeChat's own number for a refund. */
export const refundIdSchema = z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'must be 1-32 letters or digits');
