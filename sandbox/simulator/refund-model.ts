import * as z from 'zod';
import { notificationProgressFields, protocolSchema } from './order-model';

/**
 * The simulator's record of one refund, the same whichever protocol asked for it. Statuses are v3's
 * words (v2 spells CLOSED as REFUNDCLOSE and ABNORMAL as CHANGE when it answers). `protocol` is the
 * refund request's: it decides how the refund notification is written, whatever protocol made the
 * order. Zod schemas because the state file is read back from disk.
 */

export const refundStatusSchema = z.enum(['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL']);
export type RefundStatus = z.infer<typeof refundStatusSchema>;

/** The outcomes WeChat notifies: every status but PROCESSING. */
export const refundEventSchema = z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL']);
export type RefundEvent = z.infer<typeof refundEventSchema>;

export const refundNotificationJobSchema = z.object({ ...notificationProgressFields, event: refundEventSchema });
export type RefundNotificationJob = z.infer<typeof refundNotificationJobSchema>;

export const refundSchema = z.object({
  outRefundNo: z.string(),
  /** WeChat's number: 29 digits, always a string. */
  refundId: z.string(),
  outTradeNo: z.string(),
  transactionId: z.string(),
  protocol: protocolSchema,
  /** What the order was paid (total_fee / amount.total as the request gave it, checked equal). */
  totalFee: z.number().int().positive(),
  refundFee: z.number().int().positive(),
  reason: z.string().optional(),
  /** Where the outcome is notified: the request's notify_url, else the merchant platform's (option). */
  notifyUrl: z.string().optional(),
  status: refundStatusSchema,
  createdAt: z.number(),
  /** When it finishes SUCCESS on its own (60 s of WeChat time after creation); absent once decided. */
  completeAt: z.number().optional(),
  successAt: z.number().optional(),
  /** When it last changed status. */
  updatedAt: z.number(),
  notification: refundNotificationJobSchema.optional(),
});
export type SimRefund = z.infer<typeof refundSchema>;

/** Where WeChat says the money went (sic `refund_recv_accout` in v2): the payer's WeChat balance. */
export const REFUND_RECEIVED_ACCOUNT = '支付用户零钱';

/** SUCCESS and CLOSED are final; ABNORMAL still becomes one of them once the merchant acts. */
export function isFinalRefund(status: RefundStatus): boolean {
  return status === 'SUCCESS' || status === 'CLOSED';
}
