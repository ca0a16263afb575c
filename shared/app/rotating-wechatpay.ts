import type { MerchantCredentials } from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import type { PaymentProvider, RawNotification, VerifiedNotification } from '../domain/ports';
import type { Clock } from '../domain/ports';
import type { MerchantCredentialsSource } from './merchant-secret';
import { createWechatPay, type NotifyCodec, type WechatPay } from './wechatpay-adapters';

/**
 * The merchant's WeChat Pay through key rotations, for a container that lives across them. Calls to
 * WeChat use the current credentials (re-read every CREDENTIALS_TTL_SECONDS). A notification is
 * verified with the current keys; when that fails in a way a changed key explains (the signature,
 * an unknown key id, a resource that does not decrypt), with the keys they replaced while the
 * overlap lasts, then once more after one reload of the secret (rate-limited, so forgeries cannot
 * turn into reads). The refusal is the first attempt's, in its own words: nothing about which key
 * was tried leaks into the reply.
 */

export async function createRotatingWechatPay(
  source: MerchantCredentialsSource,
  settings: Settings,
  clock: Clock,
): Promise<WechatPay> {
  // One WechatPay per set of credentials: the source hands out the same object while the keys stay.
  const built = new WeakMap<MerchantCredentials, Promise<WechatPay>>();
  const build = (credentials: MerchantCredentials): Promise<WechatPay> => {
    let wechatPay = built.get(credentials);
    if (wechatPay === undefined) {
      wechatPay = createWechatPay(credentials, settings, clock);
      built.set(credentials, wechatPay);
      wechatPay.catch(() => built.delete(credentials));
    }
    return wechatPay;
  };
  let latest = await build(await source.current());
  const current = async (): Promise<WechatPay> => {
    latest = await build(await source.current());
    return latest;
  };

  const verify = async (raw: RawNotification): Promise<VerifiedNotification> => {
    const tried = new Set<MerchantCredentials>();
    const attempt = async (credentials: MerchantCredentials) => {
      tried.add(credentials);
      const codec = (await build(credentials)).codecFor(raw);
      const result = await codec.verify(raw);
      return { result, rotatedKeyMayExplain: codec.mayBeRotatedKey?.(raw, result) ?? false };
    };
    const { result: first, rotatedKeyMayExplain } = await attempt(await source.current());
    // A stale timestamp, a bad envelope or a serial in no format of WeChat's: no key explains it.
    if (!rotatedKeyMayExplain) return first;
    for (const previous of source.previous()) {
      if (tried.has(previous)) continue;
      const { result } = await attempt(previous);
      if (result.kind === 'trade') return result;
    }
    const reloaded = await source.reload();
    if (!tried.has(reloaded)) {
      const { result } = await attempt(reloaded);
      if (result.kind === 'trade') return result;
    }
    return first;
  };

  const provider: PaymentProvider = {
    apiVersion: latest.provider.apiVersion,
    // Rules only, no key: the latest build answers it without waiting.
    validate: (request, notifyUrl) => latest.provider.validate(request, notifyUrl),
    prepay: async (request, notifyUrl) => (await current()).provider.prepay(request, notifyUrl),
    query: async (outTradeNo) => (await current()).provider.query(outTradeNo),
    close: async (outTradeNo) => (await current()).provider.close(outTradeNo),
  };

  return {
    merchant: latest.merchant,
    provider,
    codecFor(raw): NotifyCodec {
      // The API version (and so the reply's form) does not change in a rotation.
      const codec = latest.codecFor(raw);
      return {
        apiVersion: codec.apiVersion,
        auditHeaders: (notification) => codec.auditHeaders(notification),
        reply: (ok, message) => codec.reply(ok, message),
        verify,
      };
    },
  };
}
