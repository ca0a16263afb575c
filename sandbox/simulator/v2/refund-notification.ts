import { randomBytes } from 'node:crypto';
import { encryptRefundReqInfo } from '#shared/wechatpay/v2/refund-req-info';
import { toXml } from '#shared/wechatpay/v2/xml';
import { nonce } from '../ids';
import type { RefundNotificationFormat } from '../notification-scheduler';
import { REFUND_RECEIVED_ACCOUNT } from '../refund-model';
import type { Merchant } from '../sandbox-merchant';
import { isV2Acknowledgement } from './notification';
import { DEFAULT_REFUND_ACCOUNT, V2_REFUND_STATUS, v2RefundTime } from './refund-fields';

/**
 * The v2 refund notification: `<xml>` with return_code, appid, mch_id, nonce_str and req_info, and
 * no sign — WeChat signs none; the proof is req_info, the refund as a `<root>` document encrypted
 * AES-256-ECB under the lowercase hex MD5 of the APIv2 key. Acknowledged like a payment
 * notification: HTTP 200 and return_code SUCCESS.
 *
 * "corrupt_sign" has no signature to corrupt here, so it corrupts the proof: req_info of the right
 * form encrypted under another key. "change_amount" is a genuine req_info refunding one fen more.
 */
export function v2RefundNotificationFormat(merchant: Merchant): RefundNotificationFormat {
  return {
    encode(refund, _order, event, tamper) {
      const shift = tamper === 'change_amount' ? 1 : 0;
      const refundFee = String(refund.refundFee + shift);
      const root = toXml(
        {
          out_refund_no: refund.outRefundNo,
          out_trade_no: refund.outTradeNo,
          refund_account: DEFAULT_REFUND_ACCOUNT,
          refund_fee: refundFee,
          refund_id: refund.refundId,
          refund_recv_accout: REFUND_RECEIVED_ACCOUNT,
          refund_request_source: 'API',
          refund_status: V2_REFUND_STATUS[event],
          settlement_refund_fee: refundFee,
          success_time:
            event === 'SUCCESS' && refund.successAt !== undefined ? v2RefundTime(refund.successAt) : undefined,
          total_fee: String(refund.totalFee),
          transaction_id: refund.transactionId,
        },
        'root',
      );
      const key = tamper === 'corrupt_sign' ? randomBytes(16).toString('hex') : merchant.apiKey;
      const body = toXml({
        return_code: 'SUCCESS',
        appid: merchant.appid,
        mch_id: merchant.mchid,
        nonce_str: nonce(),
        req_info: encryptRefundReqInfo(root, key),
      });
      return { body, headers: { 'content-type': 'text/xml; charset=utf-8' } };
    },

    isAcknowledged: isV2Acknowledgement,
  };
}
