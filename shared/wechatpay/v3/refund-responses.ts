import * as z from 'zod';

/**
 * A refund as WeChat Pay APIv3 answers the create and query calls. Its state is `status`; the
 * refund notification's resource says the same as `refund_status` (refund-notification.ts), the
 * difference peer SDKs lose. Unknown extra fields are allowed and ignored.
 */

export const V3_REFUND_STATUSES = ['SUCCESS', 'CLOSED', 'PROCESSING', 'ABNORMAL'] as const;
export type V3RefundStatus = (typeof V3_REFUND_STATUSES)[number];

const fen = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

export const refundSchema = z.object({
  refund_id: z.string().min(1).max(32),
  out_refund_no: z.string().min(1).max(64),
  transaction_id: z.string().min(1).max(32),
  out_trade_no: z.string().min(1).max(32),
  /** ORIGINAL, BALANCE, OTHER_BALANCE, OTHER_BANKCARD. */
  channel: z.string().optional(),
  /** Where the money goes, e.g. 支付用户零钱, 招商银行信用卡0403. */
  user_received_account: z.string().optional(),
  /** RFC 3339, once SUCCESS. */
  success_time: z.string().optional(),
  create_time: z.string().min(1),
  status: z.enum(V3_REFUND_STATUSES),
  funds_account: z.string().optional(),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: fen.optional(),
    payer_refund: fen.optional(),
    settlement_refund: fen.optional(),
    settlement_total: fen.optional(),
    discount_refund: fen.optional(),
    refund_fee: fen.optional(),
    currency: z.string().min(1).optional(),
    from: z.array(z.object({ account: z.string(), amount: fen })).optional(),
  }),
  promotion_detail: z.array(z.record(z.string(), z.unknown())).optional(),
});
export type V3Refund = z.infer<typeof refundSchema>;
