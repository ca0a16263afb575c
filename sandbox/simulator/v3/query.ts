import { staleView } from '../stale-view';
import type { V3Call } from './call';
import type { V3Context } from './context';
import { OUT_TRADE_NO_PATTERN, TRANSACTION_ID_PATTERN, describeProblem, mchidQuerySchema } from './params';
import { answer, v3Error } from './replies';
import type { V3Reply } from './replies';
import { transactionOf } from './transaction';

/**
 * GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=… and
 * GET /v3/pay/transactions/id/{transaction_id}?mchid=…:
 * the truth about one trade. With `stale` (the "stale_query" fault) a payment is not visible yet:
 * a paid order reads NOTPAY, and its transaction_id is not known (404).
 */
export function queryTransaction(
  by: 'out_trade_no' | 'transaction_id',
  call: V3Call,
  ctx: V3Context,
  opts: { stale: boolean },
): V3Reply {
  const query = Object.fromEntries(call.query);
  const parsed = mchidQuerySchema.safeParse(query);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, 'query', query);
    return v3Error(400, 'PARAM_ERROR', problem.message, problem.detail);
  }
  if (parsed.data.mchid !== ctx.merchant.mchid)
    return v3Error(403, 'NO_AUTH', '商户无权限 (mchid is not the merchant that signed the request)');
  const key = by === 'out_trade_no' ? (call.params.outTradeNo ?? '') : (call.params.transactionId ?? '');
  const pattern = by === 'out_trade_no' ? OUT_TRADE_NO_PATTERN : TRANSACTION_ID_PATTERN;
  if (!pattern.test(key)) {
    return v3Error(400, 'PARAM_ERROR', `输入源"/path/${by}"校验失败 (${by} is malformed)`, {
      location: 'path',
      field: by,
      issue: 'is malformed',
    });
  }
  const order = by === 'out_trade_no' ? ctx.trades.find({ outTradeNo: key }) : ctx.trades.find({ transactionId: key });
  if (order === undefined || (opts.stale && by === 'transaction_id' && order.state === 'SUCCESS')) {
    return v3Error(404, 'ORDER_NOT_EXIST', '订单不存在 (no such order)');
  }
  const refunded = ctx.refunds.ofOrder(order.outTradeNo).length > 0;
  return answer(transactionOf(opts.stale ? staleView(order) : order, { refunded }));
}
