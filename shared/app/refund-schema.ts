import { randomBytes } from 'node:crypto';

import * as z from 'zod';

import { ValidationError } from '../domain/errors';
import type { RefundRequest } from '../domain/refund';
import { isPlainText } from '../wechatpay/core/text-fields';
import { outRefundNoSchema } from '../wechatpay/core/trade-ids';
import { validationErrorOf } from './schema-errors';

/** WeChat shows the reason to the payer and takes at most 80 characters of it (refund_desc, reason). */
export const MAX_REFUND_REASON_CHARS = 80;

/** Amounts as POST /orders bounds them: a refund can never exceed what a payment could be. */
const MAX_FEN = 100_000_000_00;

/** Body of POST /orders/{out_trade_no}/refunds (../shared/product.md, "Refunds (contract)"). */
export const createRefundBodySchema = z.strictObject(
  {
    // WeChat's out_refund_no, as the library defines it for both API versions.
    out_refund_no: outRefundNoSchema.optional(),
    amount: z.strictObject(
      {
        refund: z
          .number('must be a number of fen')
          .int('must be an integer number of fen')
          .positive('must be a positive number of fen')
          .max(MAX_FEN, 'is too large'),
      },
      'must be an object { refund }',
    ),
    reason: z
      .string('must be a string')
      .refine((s) => s.length > 0, 'must not be empty')
      // Characters, not UTF-16 units: a reason in Chinese or with an emoji gets its full 80.
      .refine((s) => [...s].length <= MAX_REFUND_REASON_CHARS, `must be at most ${MAX_REFUND_REASON_CHARS} characters`)
      .refine(isPlainText, 'must not hold control characters')
      .optional(),
  },
  'must be a JSON object',
);

/**
 * A fresh out_refund_no when the caller gives none: 'R', the time to the millisecond (sortable, and
 * readable in WeChat’s merchant platform) and 56 random bits; 32 characters. A caller that may retry
 * should send its own: a retry without one is a new refund.
 */
export function generateOutRefundNo(now: Date): string {
  const stamp = now.toISOString().replace(/\D/g, '').slice(0, 17);
  return `R${stamp}${randomBytes(7).toString('hex')}`;
}

export function parseCreateRefund(outTradeNo: string, body: unknown, now: Date): RefundRequest {
  const parsed = createRefundBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  const b = parsed.data;
  return {
    outTradeNo,
    outRefundNo: b.out_refund_no ?? generateOutRefundNo(now),
    refund: b.amount.refund,
    ...(b.reason === undefined ? {} : { reason: b.reason }),
  };
}

export function parseOutRefundNo(value: string | undefined): string {
  const parsed = outRefundNoSchema.safeParse(value);
  if (!parsed.success) {
    const rule = value === undefined ? 'is required' : (parsed.error.issues[0]?.message ?? 'is invalid');
    throw new ValidationError(`out_refund_no ${rule}`, 'out_refund_no');
  }
  return parsed.data;
}
