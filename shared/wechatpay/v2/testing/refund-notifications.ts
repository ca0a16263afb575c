import { randomNonce } from '#shared/wechatpay/core/nonce';
import { encryptRefundReqInfo } from '../refund-req-info';
import { toXml } from '../xml';

/**
 * WeChat's side of a v2 refund notification, for the simulator and tests: the refund's fields in a
 * <root> document, encrypted into req_info under the merchant's API key, in the unsigned envelope.
 */
export function refundNotificationBody(opts: {
  appid: string;
  mchid: string;
  apiKey: string;
  /** The <root> fields: out_trade_no, out_refund_no, refund_id, transaction_id, total_fee, refund_fee, … */
  fields: Record<string, string | undefined>;
  nonce?: string;
}): string {
  return toXml({
    return_code: 'SUCCESS',
    appid: opts.appid,
    mch_id: opts.mchid,
    nonce_str: opts.nonce ?? randomNonce(),
    req_info: encryptRefundReqInfo(toXml(opts.fields, 'root'), opts.apiKey),
  });
}
