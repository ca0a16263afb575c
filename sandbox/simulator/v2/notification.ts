import { signV2 } from '#shared/wechatpay/v2/sign';
import { toWechatTime } from '#shared/wechatpay/v2/time';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import { nonce } from '../ids';
import type { NotificationFormat } from '../notification-scheduler';
import type { Merchant } from '../sandbox-merchant';
import type { Fields } from './replies';

/**
 * The v2 payment notification: XML POSTed as text/xml, signed with the merchant's key in the order's
 * sign type, without a sign_type field (WeChat sends none). Acknowledged only by HTTP 200 with a
 * body whose return_code is SUCCESS.
 */
export function v2NotificationFormat(merchant: Merchant): NotificationFormat {
  return {
    // v2 notifies both outcomes: result_code SUCCESS, or FAIL with err_code PAYERROR.
    sends: () => true,

    encode(order, event, tamper) {
      const paid = event === 'SUCCESS' ? order.payment : undefined;
      // "change_amount" is a correctly signed notification for an amount the merchant did not ask for.
      const shift = tamper === 'change_amount' ? 1 : 0;
      const fields: Fields = {
        return_code: 'SUCCESS',
        appid: order.appid,
        mch_id: order.mchid,
        device_info: order.deviceInfo,
        nonce_str: nonce(),
        result_code: event,
        err_code: event === 'FAIL' ? 'PAYERROR' : undefined,
        err_code_des: event === 'FAIL' ? '支付失败 (the payment failed)' : undefined,
        openid: paid?.openid ?? order.openid,
        is_subscribe: 'N',
        trade_type: order.tradeType,
        bank_type: paid?.bankType,
        total_fee: String(order.totalFee + shift),
        fee_type: order.currency,
        cash_fee: paid === undefined ? undefined : String(paid.cashFee + shift),
        transaction_id: paid?.transactionId,
        out_trade_no: order.outTradeNo,
        attach: order.attach,
        time_end: paid === undefined ? undefined : toWechatTime(new Date(paid.paidAt)),
      };
      // Only v2 orders get v2 notifications; the fallback keeps the types honest.
      const signType = order.protocol.version === 'v2' ? order.protocol.signType : 'MD5';
      let sign = signV2(fields, merchant.apiKey, signType);
      // Same length and form, wrong value: the receiver must check the content, not only the shape.
      if (tamper === 'corrupt_sign') sign = sign.slice(0, -1) + (sign.endsWith('0') ? '1' : '0');
      return { body: toXml({ ...fields, sign }), headers: { 'content-type': 'text/xml; charset=utf-8' } };
    },

    isAcknowledged: isV2Acknowledgement,
  };
}

/** What WeChat takes as a v2 merchant's acknowledgement: 200 with return_code SUCCESS, nothing else. */
export function isV2Acknowledgement(httpStatus: number, reply: string): boolean {
  if (httpStatus !== 200) return false;
  try {
    return parseXml(reply).return_code === 'SUCCESS';
  } catch {
    return false;
  }
}
