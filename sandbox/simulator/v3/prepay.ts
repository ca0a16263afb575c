import type { TradeType } from '../order-model';
import type { V3Call } from './call';
import type { V3Context } from './context';
import { describeProblem, prepaySchemas } from './params';
import { answer, v3Error } from './replies';
import type { V3Reply } from './replies';

/** The path segment of each prepay API and the trade type it creates (v3 "h5" is v2's MWEB). */
export const PREPAY_PATHS: Readonly<Record<string, TradeType>> = {
  jsapi: 'JSAPI',
  app: 'APP',
  native: 'NATIVE',
  h5: 'MWEB',
};

/**
 * POST /v3/pay/transactions/{jsapi,app,native,h5}: creates the trade (or finds the same one again)
 * and answers what the payer's client needs: prepay_id (JSAPI, APP), code_url (NATIVE) or h5_url (H5).
 */
export function prepay(tradeType: TradeType, call: V3Call, ctx: V3Context): V3Reply {
  const parsed = prepaySchemas[tradeType].safeParse(call.json ?? {});
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, 'body', call.json);
    return v3Error(400, 'PARAM_ERROR', problem.message, problem.detail);
  }
  const p = parsed.data;
  if (p.mchid !== ctx.merchant.mchid)
    return v3Error(403, 'NO_AUTH', '商户无权限 (mchid is not the merchant that signed the request)');
  if (p.appid !== ctx.merchant.appid)
    return v3Error(400, 'APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配 (appid does not belong to this mchid)');
  const timeExpire = p.time_expire === undefined ? undefined : Date.parse(p.time_expire);
  if (timeExpire !== undefined && ctx.trades.rules.timeExpireTooSoon(ctx.clock.now(), timeExpire)) {
    return v3Error(
      400,
      'INVALID_REQUEST',
      'time_expire时间过短,至少1分钟 (time_expire must be at least one minute ahead)',
    );
  }
  const outcome = ctx.trades.prepare({
    outTradeNo: p.out_trade_no,
    appid: p.appid,
    mchid: p.mchid,
    protocol: { version: 'v3' },
    // The same content is the same JSON, whatever the key order, sent to the same path.
    fingerprint: `${tradeType} ${canonicalJson(call.json)}`,
    tradeType,
    description: p.description,
    attach: p.attach,
    totalFee: p.amount.total,
    currency: p.amount.currency ?? 'CNY',
    notifyUrl: p.notify_url,
    openid: p.payer?.openid,
    sceneInfo: p.scene_info === undefined ? undefined : JSON.stringify(p.scene_info),
    timeExpire,
  });
  switch (outcome.kind) {
    case 'paid':
      return v3Error(400, 'ORDERPAID', '该订单已支付 (this out_trade_no is already paid)');
    case 'closed':
      return v3Error(400, 'ORDER_CLOSED', '订单已关闭 (this out_trade_no is closed; use a new one)');
    case 'conflict':
      return v3Error(403, 'OUT_TRADE_NO_USED', '商户订单号重复 (this out_trade_no was used with other content)');
    case 'created':
    case 'existing': {
      const { prepay: issued } = outcome.order;
      if (tradeType === 'NATIVE') return answer({ code_url: issued.codeUrl });
      if (tradeType === 'MWEB') return answer({ h5_url: issued.mwebUrl });
      return answer({ prepay_id: issued.prepayId });
    }
  }
}

/** JSON with object keys sorted at every level. */
function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'object' && v !== null && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
