import { createHash, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { toWechatTime } from '#shared/wechatpay/v3/time';
import { encryptResource, signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import type { NotificationEnvelope } from '#shared/wechatpay/v3/testing/wechat-messages';
import { HEADER_SIGNATURE } from '#shared/wechatpay/v3/wechatpay-signature';
import type { Clock } from '../clock';
import type { RefundNotificationFormat } from '../notification-scheduler';
import type { RefundEvent, SimRefund } from '../refund-model';
import { REFUND_RECEIVED_ACCOUNT } from '../refund-model';

const SUMMARIES: Record<RefundEvent, string> = {
  SUCCESS: '退款成功',
  CLOSED: '退款关闭',
  ABNORMAL: '退款异常',
};

/**
 * The v3 refund notification: event_type REFUND.SUCCESS | REFUND.ABNORMAL | REFUND.CLOSED, the
 * resource (with `refund_status`, not `status`) AES-256-GCM-encrypted under the APIv3 key with
 * associated_data "refund", the raw body signed with the platform key as every v3 notification;
 * fresh signature on every attempt, the same envelope id for every attempt of one notification.
 */
export function v3RefundNotificationFormat(deps: {
  apiV3Key: string;
  signer: { privateKey: KeyObject; serial: string };
  clock: Clock;
}): RefundNotificationFormat {
  return {
    encode(refund, order, event, tamper) {
      const resource = refundResourceOf(refund, order.mchid, event, tamper === 'change_amount' ? 1 : 0);
      const now = new Date(deps.clock.now());
      const envelope: NotificationEnvelope = {
        id: notificationId(refund),
        create_time: toWechatTime(now),
        resource_type: 'encrypt-resource',
        event_type: `REFUND.${event}`,
        summary: SUMMARIES[event],
        resource: encryptResource(JSON.stringify(resource), deps.apiV3Key, {
          associatedData: 'refund',
          originalType: 'refund',
        }),
      };
      const body = JSON.stringify(envelope);
      const headers: Record<string, string> = {
        ...signWechatpayMessage(body, deps.signer, { now }),
        'Content-Type': 'application/json',
      };
      const signature = headers[HEADER_SIGNATURE];
      // Same length and alphabet, wrong value: the receiver must verify, not only look at the shape.
      if (tamper === 'corrupt_sign' && signature !== undefined)
        headers[HEADER_SIGNATURE] = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      return { body, headers };
    },

    isAcknowledged: (httpStatus) => httpStatus === 200 || httpStatus === 204,
  };
}

/** The decrypted resource of a refund notification, as WeChat writes it. */
export function refundResourceOf(
  refund: SimRefund,
  mchid: string,
  event: RefundEvent,
  amountShift = 0,
): Record<string, unknown> {
  const refunded = refund.refundFee + amountShift;
  return {
    mchid,
    transaction_id: refund.transactionId,
    out_trade_no: refund.outTradeNo,
    refund_id: refund.refundId,
    out_refund_no: refund.outRefundNo,
    refund_status: event,
    success_time:
      event === 'SUCCESS' && refund.successAt !== undefined ? toWechatTime(new Date(refund.successAt)) : undefined,
    user_received_account: REFUND_RECEIVED_ACCOUNT,
    amount: { total: refund.totalFee, refund: refunded, payer_total: refund.totalFee, payer_refund: refunded },
  };
}

/** A UUID-shaped id, stable for one notification job (WeChat keeps the id across retries). */
function notificationId(refund: SimRefund): string {
  const jobId = refund.notification?.id;
  if (jobId === undefined) return randomUUID();
  const hex = createHash('sha256').update(`refund/${refund.outRefundNo}/${jobId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
