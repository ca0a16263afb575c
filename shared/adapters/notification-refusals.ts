import type { NotificationRefusal } from '../domain/ports';
import { isOutTradeNo } from '../wechatpay/core/trade-ids';

/**
 * A refusal of WeChat's own message (it verified, or for v2 refunds it decrypted) that cannot be used,
 * for the payment and refund codecs alike; only a well-formed order number is worth filing it under.
 */
export function unusableNotification(reason: string, outTradeNo: string | undefined): NotificationRefusal {
  return isOutTradeNo(outTradeNo) ? { kind: 'unusable', reason, outTradeNo } : { kind: 'unusable', reason };
}
