import { beijingWallClock } from '#shared/wechatpay/core/beijing-time';
import type { RefundStatus } from '../refund-model';

/** v2's words for refund statuses: CLOSED is REFUNDCLOSE, ABNORMAL (退款异常) is CHANGE. */
export const V2_REFUND_STATUS: Record<RefundStatus, string> = {
  PROCESSING: 'PROCESSING',
  SUCCESS: 'SUCCESS',
  CLOSED: 'REFUNDCLOSE',
  ABNORMAL: 'CHANGE',
};

/** v2's refund times (refund_success_time, success_time): `yyyy-MM-dd HH:mm:ss`, Beijing time. */
export function v2RefundTime(instant: number): string {
  return beijingWallClock(new Date(instant)).replace('T', ' ');
}

/** Refunds come out of the unsettled funds unless the merchant asks otherwise (old fund flow). */
export const DEFAULT_REFUND_ACCOUNT = 'REFUND_SOURCE_UNSETTLED_FUNDS';
