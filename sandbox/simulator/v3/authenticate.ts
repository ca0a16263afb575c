import type { IncomingMessage } from 'node:http';
import { verifyAuthorization } from '#shared/wechatpay/v3/testing/wechat-checks';
import type { V3Call } from './call';
import type { V3Context } from './context';
import { v3Error } from './replies';
import type { V3Reply } from './replies';

/**
 * The merchant's Authorization header: scheme, mchid and certificate serial as WeChat knows them,
 * timestamp within 5 minutes (real time), signature valid for the merchant's public key. Undefined
 * when it holds; else WeChat's refusal.
 */
export function authenticateMerchant(
  req: IncomingMessage,
  call: V3Call,
  ctx: Pick<V3Context, 'merchant' | 'clock'>,
): V3Reply | undefined {
  const check = verifyAuthorization(
    { method: call.method, url: call.url, body: call.body, authorization: req.headers.authorization },
    {
      publicKey: ctx.merchant.publicKey,
      mchid: ctx.merchant.mchid,
      serialNo: ctx.merchant.certSerial,
      now: new Date(ctx.clock.now()),
    },
  );
  if (check.ok) return undefined;
  return check.code === 'SIGN_ERROR'
    ? v3Error(401, 'SIGN_ERROR', `签名错误 (${check.message})`)
    : v3Error(400, check.code, check.message);
}
