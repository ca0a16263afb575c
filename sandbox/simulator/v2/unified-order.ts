import { canonicalString } from '#shared/wechatpay/v2/sign';
import { fromWechatTime } from '#shared/wechatpay/v2/time';
import type { V2Context } from './context';
import { describeProblem, unifiedOrderSchema } from './params';
import { businessError, businessSuccess } from './replies';
import type { V2Reply } from './replies';

/** Fields that differ between two sendings of the same order without changing its content. */
const NOT_CONTENT = new Set(['nonce_str', 'sign', 'sign_type']);

/** POST /pay/unifiedorder: creates the trade (or finds the same one again) and hands out its prepay_id. */
export function unifiedOrder(params: Record<string, string>, signType: 'MD5' | 'HMAC-SHA256', ctx: V2Context): V2Reply {
  const parsed = unifiedOrderSchema.safeParse(params);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, params);
    return businessError(problem.errCode, problem.description);
  }
  const p = parsed.data;
  const timeExpire = p.time_expire === undefined ? undefined : fromWechatTime(p.time_expire)?.getTime();
  if (timeExpire !== undefined && ctx.trades.rules.timeExpireTooSoon(ctx.clock.now(), timeExpire)) {
    return businessError(
      'INVALID_REQUEST',
      'time_expire时间过短,至少1分钟 (time_expire must be at least one minute ahead)',
    );
  }
  const content = Object.fromEntries(Object.entries(params).filter(([k]) => !NOT_CONTENT.has(k)));
  const outcome = ctx.trades.prepare({
    outTradeNo: p.out_trade_no,
    appid: p.appid,
    mchid: p.mch_id,
    protocol: { version: 'v2', signType },
    fingerprint: canonicalString(content),
    tradeType: p.trade_type,
    description: p.body,
    attach: p.attach,
    totalFee: Number(p.total_fee),
    currency: p.fee_type ?? 'CNY',
    notifyUrl: p.notify_url,
    openid: p.openid,
    productId: p.product_id,
    deviceInfo: p.device_info,
    sceneInfo: p.scene_info,
    timeExpire,
  });
  switch (outcome.kind) {
    case 'paid':
      return businessError('ORDERPAID', '该订单已支付 (this out_trade_no is already paid)');
    case 'closed':
      return businessError('ORDERCLOSED', '该订单已关闭 (this out_trade_no is closed; use a new one)');
    case 'conflict': {
      const message = '商户订单号重复 (this out_trade_no was used with other content)';
      return businessError('OUT_TRADE_NO_USED', message);
    }
    case 'created':
    case 'existing': {
      const { order } = outcome;
      return businessSuccess({
        device_info: order.deviceInfo,
        trade_type: order.tradeType,
        prepay_id: order.prepay.prepayId,
        code_url: order.prepay.codeUrl,
        mweb_url: order.prepay.mwebUrl,
      });
    }
  }
}
