import * as z from 'zod';
import { isPlainText } from '../core/text-fields';
import { outRefundNoSchema, outTradeNoSchema, refundIdSchema, transactionIdSchema } from '../core/trade-ids';
import { notifyUrlSchema } from './requests';

/**
 * What the v2 client sends for refunds (secapi/pay/refund, pay/refundquery), validated before
 * anything is signed or sent. Field names are WeChat's; amounts are integer fen.
 */

export interface V2RefundRequest {
  /** One of out_trade_no and transaction_id names the paid order. */
  out_trade_no?: string;
  transaction_id?: string;
  /** Ours; the same number sent again is the same refund at WeChat ("同一退款单号多次请求只退一笔"). */
  out_refund_no: string;
  /** What the order was paid: WeChat refuses anything else. */
  total_fee: number;
  refund_fee: number;
  /** Shown to the payer (WeChat omits it for partial refunds of at most 1 yuan). */
  refund_desc?: string;
  /** Overrides the refund notification URL set on the merchant platform. */
  notify_url?: string;
}

export interface V2RefundQueryRequest {
  /** Exactly one of these four names what to query (WeChat's precedence makes more ambiguous). */
  out_refund_no?: string;
  refund_id?: string;
  out_trade_no?: string;
  transaction_id?: string;
  /** Asked by order: the first record of the page (WeChat answers ten at a time). */
  offset?: number;
}

const fen = (what: string) =>
  z
    .int(`must be an integer number of fen`)
    .positive('must be positive')
    .max(Number.MAX_SAFE_INTEGER, `${what} too big`);

export const refundRequestSchema = z
  .strictObject({
    out_trade_no: outTradeNoSchema.optional(),
    transaction_id: transactionIdSchema.optional(),
    out_refund_no: outRefundNoSchema,
    total_fee: fen('total_fee'),
    refund_fee: fen('refund_fee'),
    // WeChat's String(80); counted in characters, as our API counts a refund's reason, so a reason
    // we accepted is never refused here.
    refund_desc: z
      .string()
      .min(1, 'must not be empty')
      .refine(isPlainText, 'must not hold control characters')
      .refine((s) => [...s].length <= 80, 'must be at most 80 characters')
      .optional(),
    notify_url: notifyUrlSchema.optional(),
  })
  .superRefine((req, ctx) => {
    if ((req.out_trade_no === undefined) === (req.transaction_id === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['out_trade_no'],
        message: 'give exactly one of out_trade_no and transaction_id',
      });
    if (req.refund_fee > req.total_fee)
      ctx.addIssue({ code: 'custom', path: ['refund_fee'], message: 'must not exceed total_fee' });
  });

export const refundQueryRequestSchema = z
  .strictObject({
    out_refund_no: outRefundNoSchema.optional(),
    refund_id: refundIdSchema.optional(),
    out_trade_no: outTradeNoSchema.optional(),
    transaction_id: transactionIdSchema.optional(),
    offset: z.int('must be an integer').nonnegative('must not be negative').max(10_000).optional(),
  })
  .refine(
    (q) => [q.out_refund_no, q.refund_id, q.out_trade_no, q.transaction_id].filter((v) => v !== undefined).length === 1,
    { message: 'give exactly one of out_refund_no, refund_id, out_trade_no and transaction_id' },
  );
