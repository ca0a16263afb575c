import * as z from 'zod';
import { isOutTradeNo } from '../core/trade-ids';
import type { V3NotificationOptions, V3OpenFailure, V3UnverifiedFailure } from './notification';
import { firstIssue, openV3Notification, outTradeNoOf } from './notification';

/**
 * WeChat Pay APIv3 refund notifications: REFUND.SUCCESS, REFUND.ABNORMAL, REFUND.CLOSED. Proven
 * WeChat's exactly as payment notifications are (notification.ts: signature by Wechatpay-Serial,
 * probes and stale timestamps refused, then AES-256-GCM, associated_data "refund"). The resource
 * states the refund's state as `refund_status`, not `status` as the refund API answers do: the field
 * peer SDKs read into the wrong model and find empty.
 */

export const V3_REFUND_EVENTS = ['REFUND.SUCCESS', 'REFUND.ABNORMAL', 'REFUND.CLOSED'] as const;
export type V3RefundEvent = (typeof V3_REFUND_EVENTS)[number];

/** The refund_status each event reports: a resource saying otherwise is not one to act on. */
const STATUS_OF_EVENT: Readonly<Record<V3RefundEvent, string>> = {
  'REFUND.SUCCESS': 'SUCCESS',
  'REFUND.ABNORMAL': 'ABNORMAL',
  'REFUND.CLOSED': 'CLOSED',
};

const fen = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** The decrypted resource (a direct merchant's: partners' carry sp_mchid and sub_mchid instead of mchid). */
export const refundNotificationResourceSchema = z.object({
  mchid: z.string().min(1).max(32),
  out_trade_no: z.string().min(1).max(32),
  transaction_id: z.string().min(1).max(32),
  out_refund_no: z.string().min(1).max(64),
  refund_id: z.string().min(1).max(32),
  refund_status: z.enum(['SUCCESS', 'CLOSED', 'ABNORMAL']),
  /** RFC 3339, once SUCCESS. */
  success_time: z.string().optional(),
  user_received_account: z.string().optional(),
  amount: z.object({
    total: fen,
    refund: fen,
    payer_total: fen.optional(),
    payer_refund: fen.optional(),
  }),
});
export type V3RefundNotificationResource = z.infer<typeof refundNotificationResourceSchema>;

/** Why a refund notification whose signature verified cannot be used. */
export type V3RefundUnusableFailure = V3OpenFailure | 'invalid_refund';

/**
 * As the payment parser's result: `signed: true` is WeChat's own message that cannot be used (a
 * caller keeps it and alarms); otherwise the notification is not proven WeChat's.
 */
export type V3RefundNotificationResult =
  | { ok: true; eventType: V3RefundEvent; id: string; createTime: string; refund: V3RefundNotificationResource }
  | { ok: false; failure: V3UnverifiedFailure; reason: string }
  | { ok: false; signed: true; failure: V3RefundUnusableFailure; reason: string; outTradeNo?: string };

function unusable(failure: V3RefundUnusableFailure, reason: string, outTradeNo?: string): V3RefundNotificationResult {
  // Only a well-formed order number is worth filing the refusal under.
  return isOutTradeNo(outTradeNo)
    ? { ok: false, signed: true, failure, reason, outTradeNo }
    : { ok: false, signed: true, failure, reason };
}

/** Verifies and reads a v3 refund notification; never throws for bad input. */
export async function parseV3RefundNotification(
  notification: { headers: Record<string, string | undefined>; body: string },
  options: V3NotificationOptions,
): Promise<V3RefundNotificationResult> {
  const opened = await openV3Notification(notification, options, {
    eventTypes: V3_REFUND_EVENTS,
    originalType: 'refund',
    associatedData: 'refund',
  });
  if (!opened.ok) return opened;
  const eventType = opened.eventType as V3RefundEvent;
  const refund = refundNotificationResourceSchema.safeParse(opened.resource);
  if (!refund.success)
    return unusable('invalid_refund', `not a refund: ${firstIssue(refund.error)}`, outTradeNoOf(opened.resource));
  if (refund.data.refund_status !== STATUS_OF_EVENT[eventType])
    return unusable(
      'invalid_refund',
      `event_type ${eventType} but refund_status ${refund.data.refund_status}`,
      refund.data.out_trade_no,
    );
  return { ok: true, eventType, id: opened.id, createTime: opened.createTime, refund: refund.data };
}
