import * as z from 'zod';
import { isPlainText } from '../core/text-fields';
import { outRefundNoSchema, outTradeNoSchema, transactionIdSchema } from '../core/trade-ids';

/** What the v3 client sends to create a refund (POST /v3/refund/domestic/refunds), validated first. */
export interface V3RefundInput {
  /** One of outTradeNo and transactionId names the paid order. */
  outTradeNo?: string;
  transactionId?: string;
  /** Ours; the same number sent again is the same refund at WeChat. */
  outRefundNo: string;
  /** Shown to the payer (not for partial refunds of at most 1 yuan). */
  reason?: string;
  /** Overrides the refund notification URL set on the merchant platform. */
  notifyUrl?: string;
  /** Integer fen: the refund, and what the order was paid (WeChat refuses any other total). */
  amount: { refund: number; total: number; currency?: 'CNY' };
}

const fen = z.int('must be an integer number of fen').positive('must be positive').max(Number.MAX_SAFE_INTEGER);

export const refundInputSchema = z
  .strictObject({
    outTradeNo: outTradeNoSchema.optional(),
    transactionId: transactionIdSchema.optional(),
    outRefundNo: outRefundNoSchema,
    reason: z
      .string()
      .min(1, 'must not be empty')
      .refine(isPlainText, 'must not hold control characters')
      .refine((s) => [...s].length <= 80, 'must be at most 80 characters')
      .optional(),
    notifyUrl: z
      .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
      .max(256, 'must be at most 256 characters')
      .refine((u) => !u.includes('?') && !u.includes('#'), 'must not carry a query string or fragment')
      .optional(),
    amount: z.strictObject({ refund: fen, total: fen, currency: z.literal('CNY').optional() }),
  })
  .superRefine((input, ctx) => {
    if ((input.outTradeNo === undefined) === (input.transactionId === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['outTradeNo'],
        message: 'give exactly one of outTradeNo and transactionId',
      });
    if (input.amount.refund > input.amount.total)
      ctx.addIssue({ code: 'custom', path: ['amount', 'refund'], message: 'must not exceed amount.total' });
  });
