import type { V2Context } from './context';
import { closeOrderSchema, describeProblem } from './params';
import { businessError, businessSuccess } from './replies';
import type { V2Reply } from './replies';

/**
 * POST /pay/closeorder. WeChat asks merchants not to close an order within 5 minutes of creating it
 * but documents no error code for it; the simulator answers INVALID_REQUEST (the request breaks a
 * rule; asking again later can succeed) with the rule in err_code_des.
 */
export function closeOrder(params: Record<string, string>, ctx: V2Context): V2Reply {
  const parsed = closeOrderSchema.safeParse(params);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, params);
    return businessError(problem.errCode, problem.description);
  }
  const outcome = ctx.trades.close(parsed.data.out_trade_no);
  switch (outcome.kind) {
    case 'not_found':
      return businessError('ORDERNOTEXIST', '订单不存在 (no such order)');
    case 'paid':
      return businessError('ORDERPAID', '订单已支付,不能发起关单 (a paid order cannot be closed)');
    case 'already_closed':
      return businessError('ORDERCLOSED', '订单已关闭,无法重复关闭 (already closed)');
    case 'too_early':
      return businessError(
        'INVALID_REQUEST',
        '订单生成后5分钟内不能关单 (an order can be closed no sooner than 5 minutes after creation; ' +
          `here from ${new Date(outcome.closableAt).toISOString()})`,
      );
    case 'closed':
      return businessSuccess({ result_msg: 'OK' });
  }
}
