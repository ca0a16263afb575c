import { toWechatTime } from '#shared/wechatpay/v2/time';
import type { SimOrder, TradeState } from '../order-model';
import { staleView } from '../stale-view';
import type { V2Context } from './context';
import { describeProblem, orderQuerySchema } from './params';
import { businessError, businessSuccess } from './replies';
import type { Fields, V2Reply } from './replies';

const STATE_DESCRIPTIONS: Record<TradeState, string> = {
  SUCCESS: '支付成功',
  NOTPAY: '订单未支付',
  CLOSED: '订单已关闭',
  USERPAYING: '需要用户输入支付密码',
  PAYERROR: '支付失败,请重新下单支付',
};

/**
 * POST /pay/orderquery: the truth about one trade, by transaction_id (preferred, as WeChat does) or
 * out_trade_no. With `stale` (the "stale_query" fault) a payment is not visible yet: a paid order
 * reads NOTPAY, and its transaction_id is not known (ORDERNOTEXIST).
 */
export function orderQuery(params: Record<string, string>, ctx: V2Context, opts: { stale?: boolean } = {}): V2Reply {
  const parsed = orderQuerySchema.safeParse(params);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, params);
    return businessError(problem.errCode, problem.description);
  }
  const { transaction_id: transactionId, out_trade_no: outTradeNo } = parsed.data;
  const order =
    transactionId !== undefined
      ? ctx.trades.find({ transactionId })
      : ctx.trades.find({ outTradeNo: outTradeNo as string });
  if (order === undefined || (opts.stale === true && transactionId !== undefined && order.state === 'SUCCESS')) {
    return businessError('ORDERNOTEXIST', '订单不存在 (no such order)');
  }
  const seen = opts.stale === true ? staleView(order) : order;
  return businessSuccess(queryFields(seen, ctx.refunds.ofOrder(order.outTradeNo).length > 0));
}

/** A paid order with refunds reads REFUND (转入退款), as at WeChat; its payment facts stay. */
export function queryFields(order: SimOrder, refunded = false): Fields {
  const refundState = refunded && order.state === 'SUCCESS';
  const fields: Fields = {
    device_info: order.deviceInfo,
    out_trade_no: order.outTradeNo,
    trade_type: order.tradeType,
    trade_state: refundState ? 'REFUND' : order.state,
    trade_state_desc: refundState ? '转入退款' : STATE_DESCRIPTIONS[order.state],
    total_fee: String(order.totalFee),
    fee_type: order.currency,
    attach: order.attach,
  };
  if (order.state !== 'SUCCESS' || order.payment === undefined) return fields;
  return {
    ...fields,
    openid: order.payment.openid,
    is_subscribe: 'N',
    bank_type: order.payment.bankType,
    cash_fee: String(order.payment.cashFee),
    transaction_id: order.payment.transactionId,
    time_end: toWechatTime(new Date(order.payment.paidAt)),
  };
}
