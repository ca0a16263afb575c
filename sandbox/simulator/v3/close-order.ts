import type { V3Call } from './call';
import type { V3Context } from './context';
import { OUT_TRADE_NO_PATTERN, closeBodySchema, describeProblem } from './params';
import { noContent, v3Error } from './replies';
import type { V3Reply } from './replies';

/**
 * POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close with `{ mchid }` → 204.
 *
 * A paid order: 400 ORDERPAID (the code developers report, which the v3 client maps to the domain's
 * ORDERPAID). Already closed: 204 again. Within 5 minutes of creation (scaled): 400 INVALID_REQUEST,
 * as in v2 — WeChat's v3 pages only recommend the wait, but the simulator holds merchants to it.
 */
export function closeOrder(call: V3Call, ctx: V3Context): V3Reply {
  const parsed = closeBodySchema.safeParse(call.json ?? {});
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, 'body', call.json);
    return v3Error(400, 'PARAM_ERROR', problem.message, problem.detail);
  }
  if (parsed.data.mchid !== ctx.merchant.mchid)
    return v3Error(403, 'NO_AUTH', '商户无权限 (mchid is not the merchant that signed the request)');
  const outTradeNo = call.params.outTradeNo ?? '';
  if (!OUT_TRADE_NO_PATTERN.test(outTradeNo)) {
    return v3Error(400, 'PARAM_ERROR', '输入源"/path/out_trade_no"校验失败 (out_trade_no is malformed)', {
      location: 'path',
      field: 'out_trade_no',
      issue: 'is malformed',
    });
  }
  const outcome = ctx.trades.close(outTradeNo);
  switch (outcome.kind) {
    case 'not_found':
      return v3Error(404, 'ORDER_NOT_EXIST', '订单不存在 (no such order)');
    case 'paid':
      return v3Error(400, 'ORDERPAID', '订单已支付,不能发起关单 (a paid order cannot be closed)');
    case 'too_early':
      return v3Error(
        400,
        'INVALID_REQUEST',
        '订单生成后5分钟内不能关单 (an order can be closed no sooner than 5 minutes after creation; ' +
          `here from ${new Date(outcome.closableAt).toISOString()})`,
      );
    case 'already_closed':
    case 'closed':
      return noContent();
  }
}
