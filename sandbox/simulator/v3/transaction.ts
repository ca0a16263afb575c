import { toWechatTime } from '#shared/wechatpay/v3/time';
import type { SimOrder, TradeState } from '../order-model';

const STATE_DESCRIPTIONS: Record<TradeState, string> = {
  SUCCESS: '支付成功',
  NOTPAY: '未支付',
  CLOSED: '已关闭',
  USERPAYING: '用户支付中',
  PAYERROR: '支付失败',
};

/**
 * The v3 transaction JSON for an order: what the query APIs answer and what a payment notification
 * carries (encrypted). Payment facts (transaction_id, success_time, bank_type, payer_total) appear
 * only once paid. `amountShift` is the "change_amount" fault: every amount off by that many fen.
 * `refunded` (queries only; a payment notification is about the payment) reports a refunded order.
 */
export function transactionOf(
  order: SimOrder,
  opts: { amountShift?: number; refunded?: boolean } = {},
): Record<string, unknown> {
  const shift = opts.amountShift ?? 0;
  // A paid order with refunds reads REFUND (转入退款) on query, as at WeChat; its payment facts stay.
  const refundState = opts.refunded === true && order.state === 'SUCCESS';
  const paid = order.state === 'SUCCESS' ? order.payment : undefined;
  const openid = paid?.openid ?? order.openid;
  return {
    appid: order.appid,
    mchid: order.mchid,
    out_trade_no: order.outTradeNo,
    transaction_id: paid?.transactionId,
    trade_type: order.tradeType,
    trade_state: refundState ? 'REFUND' : order.state,
    trade_state_desc: refundState ? '转入退款' : STATE_DESCRIPTIONS[order.state],
    bank_type: paid?.bankType,
    attach: order.attach,
    success_time: paid === undefined ? undefined : toWechatTime(new Date(paid.paidAt)),
    payer: openid === undefined ? undefined : { openid },
    amount:
      paid === undefined
        ? { total: order.totalFee + shift, currency: order.currency, payer_currency: order.currency }
        : {
            total: order.totalFee + shift,
            payer_total: paid.cashFee + shift,
            currency: order.currency,
            payer_currency: order.currency,
          },
  };
}
