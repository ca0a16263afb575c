import { timingSafeEqual } from 'node:crypto';
import { signV2 } from '#shared/wechatpay/v2/sign';
import type { SignType } from '#shared/wechatpay/v2/sign';
import type { Merchant } from '../sandbox-merchant';

export type Authentication = { ok: true; signType: SignType } | { ok: false; returnMsg: string };

/**
 * Who is calling, and is it really them: the merchant number must be one WeChat knows and the
 * signature must match under the sign type the request declares (MD5 when absent) — not under
 * whatever the signature looks like, which is how a merchant signing HMAC-SHA256 without saying so
 * gets "签名错误" from WeChat. Failures here are transport-level: return_code FAIL, unsigned.
 */
export function authenticate(params: Record<string, string>, merchant: Merchant): Authentication {
  if (params.mch_id === undefined) return { ok: false, returnMsg: '缺少参数mch_id (mch_id is required)' };
  if (params.mch_id !== merchant.mchid) {
    return { ok: false, returnMsg: 'mch_id参数错误,商户号不存在 (unknown mch_id)' };
  }
  const declared = params.sign_type ?? 'MD5';
  if (declared !== 'MD5' && declared !== 'HMAC-SHA256') {
    return { ok: false, returnMsg: 'sign_type参数错误 (MD5 or HMAC-SHA256)' };
  }
  if (params.sign === undefined) return { ok: false, returnMsg: '缺少参数sign (sign is required)' };
  const expected = Buffer.from(signV2(params, merchant.apiKey, declared), 'utf8');
  const given = Buffer.from(params.sign.toUpperCase(), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected))
    return { ok: false, returnMsg: '签名错误' };
  return { ok: true, signType: declared };
}
