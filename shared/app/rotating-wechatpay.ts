import type { MerchantCredentials } from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import type { PaymentProvider, RawNotification, VerifiedNotification } from '../domain/ports';
import type { Clock } from '../domain/ports';
import type { RefundProvider, VerifiedRefundNotification } from '../domain/refund-ports';
import type { MerchantCredentialsSource } from './merchant-secret';
import { createWechatPay, type NotifyCodec, type RefundNotifyCodec, type WechatPay } from './wechatpay-adapters';

/**
 * The merchant's WeChat Pay through key rotations, for a container that lives across them. Calls to
 * WeChat use the current credentials (re-read every CREDENTIALS_TTL_SECONDS). A notification is
 * verified with the current keys; when that fails in a way a changed key explains (the signature,
 * an unknown key id, a resource that does not decrypt), with the keys they replaced while the
 * overlap lasts, then once more after one reload of the secret (rate-limited, so forgeries cannot
 * turn into reads). The refusal is the first attempt's, in its own words: nothing about which key
 * was tried leaks into the reply.
 *
 * Anyone can send a forgery, so what it may cost is bounded: the whole verification gets
 * VERIFY_BUDGET_MS; the replaced keys never start a certificate download (they hold only what they
 * had: a download would be signed and decrypted with keys WeChat no longer uses); and replaced or
 * reloaded keys that cannot be built are reported once and not tried again, never thrown (only the
 * current keys being unusable is the deployment's fault, and fails the invocation).
 *
 * Refund notifications go the same way: a v2 one whose req_info does not decrypt under the current
 * API key is tried under the previous one (previousApiKey), a v3 one like a payment notification.
 */

/**
 * The longest one notification's verification may take, every attempt included: well inside WeChat's
 * 5 s wait for an answer, with room to store the notification after it.
 */
export const VERIFY_BUDGET_MS = 2_000;

/** The wording of a verification out of time (its code is UNVERIFIED). */
const OUT_OF_TIME = 'not verified within the time budget';

export interface RotatingWechatPayOptions {
  /**
   * Replaced or reloaded credentials could not be built (a key that is not a key): called once per
   * set of credentials. The error names fields and rules, never a key's value.
   */
  onUnusableCredentials?: (error: unknown) => void;
}

/** Logged where no callback is given: a replaced key in the secret that is not a key needs an operator. */
function logUnusableCredentials(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  console.error(
    JSON.stringify({ level: 'ERROR', message: 'replaced or reloaded WeChat Pay keys unusable', error: message }),
  );
}

export async function createRotatingWechatPay(
  source: MerchantCredentialsSource,
  settings: Settings,
  clock: Clock,
  options: RotatingWechatPayOptions = {},
): Promise<WechatPay> {
  const onUnusable = options.onUnusableCredentials ?? logUnusableCredentials;
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
  // Replaced or reloaded credentials that failed: not built again, for any number of forgeries.
  const unusable = new WeakSet<MerchantCredentials>();
  let latest = await build(await source.current());
  const current = async (): Promise<WechatPay> => {
    latest = await build(await source.current());
    return latest;
  };

  /**
   * One notification verified through the rotation: by `codecOf` the current keys' codec, then those
   * the current keys replaced, then once more after a reload. `mayBeRotated` says whether a result is
   * one that a key we do not hold (or no longer hold) could explain.
   */
  const verifyThroughRotation = async <R extends { kind: string }>(
    raw: RawNotification,
    codecOf: (wechatPay: WechatPay) => { verify(raw: RawNotification): Promise<R> },
    mayBeRotated: (result: R) => boolean,
    outOfTime: R,
  ): Promise<R> => {
    const deadline = performance.now() + VERIFY_BUDGET_MS;
    const tried = new Set<MerchantCredentials>();
    const attempt = async (credentials: MerchantCredentials) => {
      tried.add(credentials);
      const result = await codecOf(await build(credentials)).verify(raw);
      return { result, rotatedKeyMayExplain: mayBeRotated(result) };
    };
    /** A later attempt: within what is left of the budget; one that fails is set aside, not thrown. */
    const fallback = async (credentials: MerchantCredentials): Promise<R | undefined> => {
      if (unusable.has(credentials)) return undefined;
      try {
        const outcome = await within(attempt(credentials), deadline);
        if (outcome === undefined) return undefined;
        // WeChat's own words (a report, or a message the signature proves) settle it, unless a key explains them.
        return outcome.result.kind !== 'rejected' && !outcome.rotatedKeyMayExplain ? outcome.result : undefined;
      } catch (error) {
        if (!unusable.has(credentials)) {
          unusable.add(credentials);
          onUnusable(error);
        }
        return undefined;
      }
    };

    // The current keys failing to build is the deployment's fault: thrown, so the invocation fails.
    const firstAttempt = await within(
      source.current().then((credentials) => attempt(credentials)),
      deadline,
    );
    if (firstAttempt === undefined) return outOfTime;
    const { result: first, rotatedKeyMayExplain } = firstAttempt;
    // A stale timestamp, a bad envelope or a serial in no format of WeChat's: no key explains it.
    if (!rotatedKeyMayExplain) return first;
    // Replaced keys hold no platform certificate, and must not download one for a forger.
    const needsDownload = await isCertificateSerialOf(raw);
    for (const previous of needsDownload ? [] : source.previous()) {
      if (tried.has(previous)) continue;
      const settled = await fallback(previous);
      if (settled !== undefined) return settled;
    }
    const reloaded = await within(source.reload(), deadline);
    if (reloaded !== undefined && !tried.has(reloaded)) {
      const settled = await fallback(reloaded);
      if (settled !== undefined) return settled;
    }
    return first;
  };

  const verify = (raw: RawNotification): Promise<VerifiedNotification> =>
    verifyThroughRotation<VerifiedNotification>(
      raw,
      (wechatPay) => wechatPay.codecFor(raw),
      (result) => result.kind !== 'trade' && result.rotatedKeyMayExplain === true,
      { kind: 'rejected', code: 'UNVERIFIED', reason: OUT_OF_TIME },
    );

  const verifyRefund = (raw: RawNotification): Promise<VerifiedRefundNotification> =>
    verifyThroughRotation<VerifiedRefundNotification>(
      raw,
      (wechatPay) => wechatPay.refundCodecFor(raw),
      (result) => result.kind !== 'refund' && result.rotatedKeyMayExplain === true,
      { kind: 'rejected', code: 'UNVERIFIED', reason: OUT_OF_TIME },
    );

  const provider: PaymentProvider = {
    apiVersion: latest.provider.apiVersion,
    // Rules only, no key: the latest build answers it without waiting.
    validate: (request, notifyUrl) => latest.provider.validate(request, notifyUrl),
    prepay: async (request, notifyUrl) => (await current()).provider.prepay(request, notifyUrl),
    query: async (outTradeNo) => (await current()).provider.query(outTradeNo),
    close: async (outTradeNo) => (await current()).provider.close(outTradeNo),
  };

  const refunds: RefundProvider = {
    submitRefund: async (submission) => (await current()).refunds.submitRefund(submission),
    queryRefund: async (outTradeNo, outRefundNo) => (await current()).refunds.queryRefund(outTradeNo, outRefundNo),
  };

  // The bill is downloaded under the credentials current when it is asked for, like every call.
  const downloadBill = async (billDate: string) => (await current()).downloadBill(billDate);

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
    refunds,
    get refundsUnavailable() {
      return latest.refundsUnavailable;
    },
    refundCodecFor(raw): RefundNotifyCodec {
      const codec = latest.refundCodecFor(raw);
      return {
        apiVersion: codec.apiVersion,
        auditHeaders: (notification) => codec.auditHeaders(notification),
        reply: (ok, message) => codec.reply(ok, message),
        verify: verifyRefund,
      };
    },
    downloadBill,
  };
}

/**
 * Whether the notification names a platform certificate serial (v3). The v3 library is loaded only by
 * a v3 notification, which has loaded it already through its codec: v2 containers never evaluate it.
 */
async function isCertificateSerialOf(raw: RawNotification): Promise<boolean> {
  const serial = raw.headers['wechatpay-serial'];
  if (serial === undefined) return false;
  return (await import('../wechatpay/v3/key-ring')).isCertificateSerial(serial);
}

/**
 * What `work` settles to if it does so before `deadline` (a performance.now() instant), else
 * undefined; a rejection before the deadline is thrown. Real time: this bounds an answer's latency.
 * Work left running finishes for the next caller (a reload, a download) and its failure is dropped.
 */
async function within<T>(work: Promise<T>, deadline: number): Promise<T | undefined> {
  const left = deadline - performance.now();
  work.catch(() => {});
  if (left <= 0) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), left);
  });
  try {
    return await Promise.race([work, outOfTime]);
  } finally {
    clearTimeout(timer);
  }
}
