import type { SignType } from '#shared/wechatpay/v2/sign';
import type { ApiFault } from '../faults';
import type { SimRefund } from '../refund-model';
import type { V2Context } from './context';
import { describeProblem, refundSchema } from './params';
import { businessError, businessSuccess, transportFailure } from './replies';
import type { V2Reply } from './replies';

/** WeChat's text for a reused out_refund_no with other amounts, and for a total that is not the order's. */
export const FEE_MISMATCH_TEXT = '订单金额或退款金额与之前请求不一致,请核实后再试';

/**
 * POST /secapi/pay/refund (mutual TLS, checked before this runs): applies for a refund. WeChat's
 * answers: a missing field is return_code FAIL 缺少参数; a malformed one PARAM_ERROR; refund_fee over
 * total_fee return_code FAIL "invalid refund_fee"; an unknown or unpaid order ORDERNOTEXIST; a wrong
 * total_fee, or a reused out_refund_no with other amounts, REFUND_FEE_MISMATCH; more than is left
 * INVALID_REQUEST 申请退款金额超过订单可退金额; an order refunded in full ERROR 订单已全额退款; a
 * year after payment TRADE_OVERDUE. The same out_refund_no and amounts again answer the same refund.
 * result_code SUCCESS means accepted (受理): the outcome comes later (query, notification).
 */
export function refund(params: Record<string, string>, signType: SignType, ctx: V2Context, fault: ApiFault): V2Reply {
  const parsed = refundSchema.safeParse(params);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, params);
    return problem.errCode === 'LACK_PARAMS'
      ? transportFailure(`缺少参数${problem.field} (${problem.description})`)
      : businessError('PARAM_ERROR', problem.description);
  }
  const p = parsed.data;
  const totalFee = Number(p.total_fee);
  const refundFee = Number(p.refund_fee);
  if (refundFee > totalFee) return transportFailure('invalid refund_fee');
  // "notenough": the merchant's balance cannot cover it; WeChat takes nothing.
  if (fault === 'notenough') return businessError('NOTENOUGH', '基本账户余额不足，请充值后重新发起 (simulated fault)');

  const outcome = ctx.refunds.apply({
    order: p.transaction_id !== undefined ? { transactionId: p.transaction_id } : { outTradeNo: p.out_trade_no ?? '' },
    outRefundNo: p.out_refund_no,
    totalFee,
    refundFee,
    reason: p.refund_desc,
    notifyUrl: p.notify_url,
    protocol: { version: 'v2', signType },
  });
  switch (outcome.kind) {
    case 'order_not_found':
      return businessError('ORDERNOTEXIST', '订单不存在 (no such order, or it is not paid)');
    case 'amount_mismatch':
      return businessError('REFUND_FEE_MISMATCH', `${FEE_MISMATCH_TEXT} (out_refund_no was used with other amounts)`);
    case 'total_mismatch':
      return businessError('REFUND_FEE_MISMATCH', `${FEE_MISMATCH_TEXT} (total_fee is not what the order was paid)`);
    case 'other_order':
      return businessError(
        'INVALID_REQUEST',
        '请求内容和上次请求不一致,请核实后再试 (out_refund_no was used for another order)',
      );
    case 'overdue':
      return businessError('TRADE_OVERDUE', '订单已经超过退款期限 (paid more than a year ago)');
    case 'fully_refunded':
      return businessError('ERROR', '订单已全额退款 (the order is refunded in full)');
    case 'too_many':
      return businessError('INVALID_REQUEST', '退款次数超过限制 (at most 50 refunds per order)');
    case 'exceeds_refundable':
      return businessError(
        'INVALID_REQUEST',
        `申请退款金额超过订单可退金额 (${outcome.refundable} fen is left to refund)`,
      );
    case 'created':
    case 'existing':
      return businessSuccess(refundAnswer(outcome.refund, ctx));
  }
}

function refundAnswer(r: SimRefund, ctx: V2Context): Record<string, string> {
  const order = ctx.trades.find({ outTradeNo: r.outTradeNo });
  return {
    transaction_id: r.transactionId,
    out_trade_no: r.outTradeNo,
    out_refund_no: r.outRefundNo,
    refund_id: r.refundId,
    refund_channel: '',
    refund_fee: String(r.refundFee),
    total_fee: String(r.totalFee),
    fee_type: order?.currency ?? 'CNY',
    cash_fee: String(order?.payment?.cashFee ?? r.totalFee),
    cash_refund_fee: String(r.refundFee),
  };
}
