import { toWechatTime } from '#shared/wechatpay/v3/time';
import type { ApiFault } from '../faults';
import { REFUND_RECEIVED_ACCOUNT } from '../refund-model';
import type { SimRefund } from '../refund-model';
import type { V3Call } from './call';
import type { V3Context } from './context';
import { OUT_REFUND_NO_PATTERN, describeProblem, refundBodySchema } from './params';
import { answer, v3Error } from './replies';
import type { V3Reply } from './replies';

/** WeChat's text for a reused out_refund_no with other content. */
export const CONTENT_MISMATCH_TEXT =
  '请求内容和上次请求不一致,请核实后再试。原因主要是商户号不一致,或者商户订单号/商户退款单号已经被其他请求使用。';

/**
 * POST /v3/refund/domestic/refunds: the same rules as v2's secapi/pay/refund in v3's words. 400
 * PARAM_ERROR for a bad body (refund over total included); 404 RESOURCE_NOT_EXISTS for an unknown
 * or unpaid order; 400 INVALID_REQUEST for a reused out_refund_no with other content (amounts or
 * order), a total that is not the order's, more than is left, an order refunded in full, a 51st
 * refund or one a year after payment; 403 NOT_ENOUGH with the "notenough" fault. The same
 * out_refund_no and content again answers the same refund. A new refund is PROCESSING.
 */
export function createRefund(call: V3Call, ctx: V3Context, fault: ApiFault): V3Reply {
  const parsed = refundBodySchema.safeParse(call.json ?? {});
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, 'body', call.json);
    return v3Error(400, 'PARAM_ERROR', problem.message, problem.detail);
  }
  const p = parsed.data;
  if (p.amount.refund > p.amount.total) {
    return v3Error(
      400,
      'PARAM_ERROR',
      '输入源"/body/amount/refund"校验失败 (amount.refund must not exceed amount.total)',
      {
        location: 'body',
        field: 'amount.refund',
        issue: 'must not exceed amount.total',
      },
    );
  }
  if (fault === 'notenough') return v3Error(403, 'NOT_ENOUGH', '基本账户余额不足，请充值后重新发起 (simulated fault)');
  const outcome = ctx.refunds.apply({
    order: p.transaction_id !== undefined ? { transactionId: p.transaction_id } : { outTradeNo: p.out_trade_no ?? '' },
    outRefundNo: p.out_refund_no,
    totalFee: p.amount.total,
    refundFee: p.amount.refund,
    reason: p.reason,
    notifyUrl: p.notify_url,
    protocol: { version: 'v3' },
  });
  switch (outcome.kind) {
    case 'order_not_found':
      return v3Error(404, 'RESOURCE_NOT_EXISTS', '订单不存在 (no such order, or it is not paid)');
    case 'amount_mismatch':
    case 'other_order':
      return v3Error(400, 'INVALID_REQUEST', CONTENT_MISMATCH_TEXT);
    case 'total_mismatch':
      return v3Error(400, 'INVALID_REQUEST', '订单金额与实际不一致 (amount.total is not what the order was paid)');
    case 'overdue':
      return v3Error(400, 'INVALID_REQUEST', '订单已超过退款期限 (paid more than a year ago)');
    case 'fully_refunded':
      return v3Error(400, 'INVALID_REQUEST', '订单已全额退款 (the order is refunded in full)');
    case 'too_many':
      return v3Error(400, 'INVALID_REQUEST', '退款次数超过限制 (at most 50 refunds per order)');
    case 'exceeds_refundable':
      return v3Error(
        400,
        'INVALID_REQUEST',
        `申请退款金额超过订单可退金额 (${outcome.refundable} fen is left to refund)`,
      );
    case 'created':
    case 'existing':
      return answer(refundObjectOf(outcome.refund));
  }
}

/** GET /v3/refund/domestic/refunds/{out_refund_no}: the refund, or 404 RESOURCE_NOT_EXISTS. */
export function queryRefund(call: V3Call, ctx: V3Context): V3Reply {
  const outRefundNo = call.params.outRefundNo ?? '';
  if (!OUT_REFUND_NO_PATTERN.test(outRefundNo)) {
    return v3Error(400, 'PARAM_ERROR', '输入源"/path/out_refund_no"校验失败 (out_refund_no is malformed)', {
      location: 'path',
      field: 'out_refund_no',
      issue: 'is malformed',
    });
  }
  const refund = ctx.refunds.find({ outRefundNo });
  if (refund === undefined) return v3Error(404, 'RESOURCE_NOT_EXISTS', '退款单不存在 (no such refund)');
  return answer(refundObjectOf(refund));
}

/** WeChat's Refund object, as create and query answer it (`status`, where a notification says `refund_status`). */
export function refundObjectOf(r: SimRefund): Record<string, unknown> {
  return {
    refund_id: r.refundId,
    out_refund_no: r.outRefundNo,
    transaction_id: r.transactionId,
    out_trade_no: r.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: REFUND_RECEIVED_ACCOUNT,
    success_time: r.status === 'SUCCESS' && r.successAt !== undefined ? toWechatTime(new Date(r.successAt)) : undefined,
    create_time: toWechatTime(new Date(r.createdAt)),
    status: r.status,
    funds_account: 'AVAILABLE',
    amount: {
      total: r.totalFee,
      refund: r.refundFee,
      from: [],
      payer_total: r.totalFee,
      payer_refund: r.refundFee,
      settlement_refund: r.refundFee,
      settlement_total: r.totalFee,
      discount_refund: 0,
      currency: 'CNY',
      refund_fee: 0,
    },
    promotion_detail: [],
  };
}
