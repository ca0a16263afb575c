import type { SimOrder } from '../order-model';
import { REFUND_RECEIVED_ACCOUNT } from '../refund-model';
import type { SimRefund } from '../refund-model';
import type { V2Context } from './context';
import { describeProblem, refundQuerySchema } from './params';
import { DEFAULT_REFUND_ACCOUNT, V2_REFUND_STATUS, v2RefundTime } from './refund-fields';
import { businessError, businessSuccess } from './replies';
import type { Fields, V2Reply } from './replies';

/** WeChat answers an order's refunds ten at a time. */
export const REFUND_QUERY_PAGE_SIZE = 10;

const NOT_FOUND = '退款订单查询失败 (no such refund, or the order has none)';

/**
 * POST /pay/refundquery (no certificate): by refund_id, else out_refund_no, else transaction_id,
 * else out_trade_no (WeChat's precedence). By refund, that one refund; by order, its refunds ten
 * from `offset` (total_refund_count only when an offset was sent; an offset past it is PARAM_ERROR).
 * Each refund is the `_$n` fields, n from 0 within the page.
 */
export function refundQuery(params: Record<string, string>, ctx: V2Context): V2Reply {
  const parsed = refundQuerySchema.safeParse(params);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, params);
    return businessError('PARAM_ERROR', problem.description);
  }
  const p = parsed.data;
  const byRefund =
    p.refund_id !== undefined
      ? ctx.refunds.find({ refundId: p.refund_id })
      : p.out_refund_no !== undefined
        ? ctx.refunds.find({ outRefundNo: p.out_refund_no })
        : undefined;
  if (p.refund_id !== undefined || p.out_refund_no !== undefined) {
    const order = byRefund === undefined ? undefined : ctx.trades.find({ outTradeNo: byRefund.outTradeNo });
    if (byRefund === undefined || order === undefined) return businessError('REFUNDNOTEXIST', NOT_FOUND);
    return businessSuccess(answer(order, [byRefund], undefined));
  }
  const order =
    p.transaction_id !== undefined
      ? ctx.trades.find({ transactionId: p.transaction_id })
      : ctx.trades.find({ outTradeNo: p.out_trade_no ?? '' });
  const refunds = order === undefined ? [] : ctx.refunds.ofOrder(order.outTradeNo);
  if (order === undefined || refunds.length === 0) return businessError('REFUNDNOTEXIST', NOT_FOUND);
  const offset = p.offset === undefined ? undefined : Number(p.offset);
  if (offset !== undefined && offset > refunds.length)
    return businessError('PARAM_ERROR', `offset参数错误 (offset ${offset} is past the ${refunds.length} refunds)`);
  const start = offset ?? 0;
  const page = refunds.slice(start, start + REFUND_QUERY_PAGE_SIZE);
  return businessSuccess(answer(order, page, offset === undefined ? undefined : refunds.length));
}

function answer(order: SimOrder, page: SimRefund[], totalCount: number | undefined): Fields {
  const fields: Fields = {
    transaction_id: order.payment?.transactionId,
    out_trade_no: order.outTradeNo,
    total_fee: String(order.totalFee),
    fee_type: order.currency,
    cash_fee: String(order.payment?.cashFee ?? order.totalFee),
    refund_count: String(page.length),
    total_refund_count: totalCount === undefined ? undefined : String(totalCount),
  };
  page.forEach((r, n) => {
    fields[`out_refund_no_${n}`] = r.outRefundNo;
    fields[`refund_id_${n}`] = r.refundId;
    fields[`refund_channel_${n}`] = 'ORIGINAL';
    fields[`refund_fee_${n}`] = String(r.refundFee);
    fields[`refund_status_${n}`] = V2_REFUND_STATUS[r.status];
    fields[`refund_account_${n}`] = DEFAULT_REFUND_ACCOUNT;
    fields[`refund_recv_accout_${n}`] = REFUND_RECEIVED_ACCOUNT;
    if (r.status === 'SUCCESS' && r.successAt !== undefined)
      fields[`refund_success_time_${n}`] = v2RefundTime(r.successAt);
  });
  return fields;
}
