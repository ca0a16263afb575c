import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { ProviderError, ValidationError } from '#shared/domain/errors';
import type { Clock } from '#shared/domain/ports';
import { apiV3KeyBytes } from './aead';
import { signRequest } from './authorization';
import { appClientParams, jsapiClientParams } from './client-params';
import type { AppClientParams, JsapiClientParams } from './client-params';
import { CLIENT_ERROR_CODES, classifyV3Error, isRetryableStatus } from './error-codes';
import { KeyRing, PUBLIC_KEY_ID_PREFIX } from './key-ring';
import type { PlatformKeySource } from './key-ring';
import { RefreshingKeySource, decodeCertificatesAnswer } from './platform-certificates';
import type { PlatformCertificate } from './platform-certificates';
import { toPrivateKey, toPublicKey } from './rsa';
import {
  codeUrlAnswerSchema,
  errorAnswerSchema,
  h5UrlAnswerSchema,
  prepayIdAnswerSchema,
  transactionSchema,
} from './schemas';
import type { V3Transaction } from './schemas';
import { toWechatTime } from './time-format';
import { readWechatpaySignature, verifyWechatpaySignature } from './wechatpay-signature';
import type { SignatureCheck, WechatpaySignature } from './wechatpay-signature';

/**
 * WeChat Pay APIv3 client for a direct merchant: signs every request with the merchant's RSA key,
 * verifies every answer (signature, serial, timestamp) before reading it, retries what may succeed
 * on a second try, and throws ProviderError (codes in error-codes.ts) for everything else.
 *
 * Verification keys: the WeChat Pay public key when configured (`publicKeyId` = `PUB_KEY_ID_…`),
 * plus platform certificates downloaded from /v3/certificates on first need and again whenever an
 * answer names a serial we do not hold (at most once a minute). Both work at once, for merchants
 * migrating from certificates to the public key.
 *
 * Answers with HTTP 5xx or 429 are not verified: nothing is decided on them, they are only retried.
 */

export interface WechatPayV3ClientOptions {
  /** `https://api.mch.weixin.qq.com`, or the simulator's address. */
  baseUrl: string;
  mchid: string;
  appid: string;
  /** The merchant API certificate's private key, PEM (PKCS#8 or PKCS#1), RSA ≥ 2048 bits. */
  privateKey: string;
  /** Serial of the merchant API certificate (hex), sent as serial_no. */
  certSerial: string;
  /** The APIv3 key: exactly 32 bytes. */
  apiV3Key: string;
  /** WeChat Pay public key (PEM); requires publicKeyId. */
  publicKey?: string;
  /** Its id, `PUB_KEY_ID_…`, as WeChat sends it in Wechatpay-Serial. */
  publicKeyId?: string;
  /** Per attempt, including reading the body. Default 5 000. */
  timeoutMs?: number;
  /** Attempts for retryable failures, first included. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  clock?: Clock;
  /** Nonces for Authorization and client params. Default 32 random hex chars. */
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
  /** Minimum time between two certificate downloads triggered by unknown serials. Default 60 000. */
  certificateRefreshIntervalMs?: number;
}

/** What every prepay takes. */
export interface V3PrepayInput {
  description: string;
  outTradeNo: string;
  notifyUrl: string;
  amount: { total: number; currency?: 'CNY' };
  /** Any ISO 8601 instant; sent as RFC 3339 in +08:00 without fractions. */
  timeExpire?: string;
  attach?: string;
  /** Sent as scene_info.payer_client_ip. Required for H5. */
  payerClientIp?: string;
}

export interface V3H5Info {
  type: string;
  app_name?: string;
  app_url?: string;
  bundle_id?: string;
  package_name?: string;
}

const systemClock: Clock = { now: () => new Date() };
const MAX_ANSWER_BYTES = 1024 * 1024;
const USER_AGENT = 'wechatpay-serverless (node) WeChatPay-APIv3';

const optionsSchema = z
  .object({
    baseUrl: z.url({ protocol: /^https?$/ }),
    mchid: z.string().regex(/^[0-9A-Za-z]{1,32}$/),
    appid: z.string().min(1).max(32),
    privateKey: z.string().min(1),
    certSerial: z.string().regex(/^[0-9A-Fa-f]{1,64}$/, 'must be the merchant certificate serial in hex'),
    apiV3Key: z.string().refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'must be exactly 32 bytes'),
    publicKey: z.string().min(1).optional(),
    publicKeyId: z.string().startsWith(PUBLIC_KEY_ID_PREFIX).max(64).optional(),
    // Per attempt, as v2: three attempts must fit in a Lambda that API Gateway gives 30 s.
    timeoutMs: z.number().int().positive().max(120_000).default(5_000),
    maxAttempts: z.number().int().min(1).max(10).default(3),
    fetch: z.custom<typeof fetch>((v) => typeof v === 'function').optional(),
    clock: z
      .custom<Clock>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function')
      .optional(),
    nonce: z.custom<() => string>((v) => typeof v === 'function').optional(),
    sleep: z.custom<(ms: number) => Promise<void>>((v) => typeof v === 'function').optional(),
    certificateRefreshIntervalMs: z.number().int().nonnegative().default(60_000),
  })
  .refine((o) => (o.publicKey === undefined) === (o.publicKeyId === undefined), {
    message: 'publicKey and publicKeyId go together',
    path: ['publicKeyId'],
  });

const outTradeNoSchema = z.string().regex(/^[0-9A-Za-z_\-|*]{1,32}$/, 'out_trade_no: 1-32 of [0-9A-Za-z_-|*]');
const transactionIdSchema = z.string().regex(/^[0-9A-Za-z]{1,32}$/, 'transaction_id: 1-32 letters or digits');

const prepayInputSchema = z.object({
  description: z.string().min(1).max(127),
  outTradeNo: outTradeNoSchema,
  notifyUrl: z
    .url({ protocol: /^https?$/ })
    .max(255)
    .refine((u) => !u.includes('?') && !u.includes('#'), 'notify_url must not carry a query string'),
  amount: z.object({
    total: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    currency: z.literal('CNY').optional(),
  }),
  timeExpire: z.iso.datetime({ offset: true }).optional(),
  attach: z.string().max(128).optional(),
  payerClientIp: z.union([z.ipv4(), z.ipv6()]).optional(),
});
const openidSchema = z.string().min(1).max(128);
const h5InfoSchema = z.object({
  type: z.string().min(1).max(32),
  app_name: z.string().max(64).optional(),
  app_url: z.string().max(256).optional(),
  bundle_id: z.string().max(128).optional(),
  package_name: z.string().max(128).optional(),
});

function validate<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join('.') || undefined;
  throw new ValidationError(`${what}: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`, field);
}

function invalidResponse(message: string, cause?: unknown): ProviderError {
  return new ProviderError(CLIENT_ERROR_CODES.response, message, { retryable: false, kind: 'business', cause });
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

interface Answer {
  status: number;
  text: string;
}

type AnswerVerifier = (signature: WechatpaySignature | undefined, text: string) => Promise<SignatureCheck>;

export class WechatPayV3Client {
  readonly mchid: string;
  readonly appid: string;
  /** Where verifiers (this client, the notification codec) find WeChat's key for a serial. */
  readonly keys: PlatformKeySource;
  private readonly refreshing: RefreshingKeySource;

  private readonly baseUrl: string;
  private readonly privateKey: KeyObject;
  private readonly certSerial: string;
  private readonly apiV3Key: Buffer;
  private readonly ring: KeyRing;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly fetchFn: typeof fetch;
  private readonly clock: Clock;
  private readonly nonce: () => string;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(options: WechatPayV3ClientOptions) {
    const o = validate(optionsSchema, options, 'WeChat Pay v3 client options');
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.mchid = o.mchid;
    this.appid = o.appid;
    this.certSerial = o.certSerial.toUpperCase();
    this.apiV3Key = apiV3KeyBytes(o.apiV3Key);
    try {
      this.privateKey = toPrivateKey(o.privateKey);
    } catch (error) {
      throw new ValidationError('privateKey is not an RSA private key in PEM', 'privateKey', { cause: error });
    }
    if ((this.privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new ValidationError('privateKey must be RSA of at least 2048 bits', 'privateKey');
    }
    this.timeoutMs = o.timeoutMs;
    this.maxAttempts = o.maxAttempts;
    this.fetchFn = o.fetch ?? fetch;
    this.clock = o.clock ?? systemClock;
    this.nonce = o.nonce ?? (() => randomBytes(16).toString('hex'));
    this.sleep = o.sleep ?? defaultSleep;
    this.ring = new KeyRing(this.clock);
    if (o.publicKey !== undefined && o.publicKeyId !== undefined) {
      try {
        this.ring.addPublicKey(o.publicKeyId, toPublicKey(o.publicKey));
      } catch (error) {
        throw new ValidationError('publicKey is not an RSA public key in PEM', 'publicKey', { cause: error });
      }
    }
    this.refreshing = new RefreshingKeySource(
      this.ring,
      () => this.refreshCertificates().then(() => undefined),
      this.clock,
      {
        minRefreshIntervalMs: o.certificateRefreshIntervalMs,
      },
    );
    this.keys = this.refreshing;
  }

  // ---- Prepay ----------------------------------------------------------------------------------

  /** POST /v3/pay/transactions/jsapi (also mini programs). */
  async prepayJsapi(input: V3PrepayInput & { payerOpenid: string }): Promise<{ prepayId: string }> {
    const openid = validate(openidSchema, input.payerOpenid, 'JSAPI prepay: payer.openid');
    const body = { ...this.prepayBody(input), payer: { openid } };
    const answer = await this.call('POST', '/v3/pay/transactions/jsapi', body);
    return { prepayId: this.parse(prepayIdAnswerSchema, answer).prepay_id };
  }

  /** POST /v3/pay/transactions/app */
  async prepayApp(input: V3PrepayInput): Promise<{ prepayId: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/app', this.prepayBody(input));
    return { prepayId: this.parse(prepayIdAnswerSchema, answer).prepay_id };
  }

  /** POST /v3/pay/transactions/native: the QR code's content. */
  async prepayNative(input: V3PrepayInput): Promise<{ codeUrl: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/native', this.prepayBody(input));
    return { codeUrl: this.parse(codeUrlAnswerSchema, answer).code_url };
  }

  /** POST /v3/pay/transactions/h5: the cashier page to open in the mobile browser. */
  async prepayH5(input: V3PrepayInput & { payerClientIp: string; h5Info: V3H5Info }): Promise<{ h5Url: string }> {
    if (input.payerClientIp === undefined)
      throw new ValidationError('H5 prepay: payerClientIp is required', 'payerClientIp');
    const h5Info = validate(h5InfoSchema, input.h5Info, 'H5 prepay: scene_info.h5_info');
    const body = this.prepayBody(input);
    const answer = await this.call('POST', '/v3/pay/transactions/h5', {
      ...body,
      scene_info: { payer_client_ip: input.payerClientIp, h5_info: h5Info },
    });
    return { h5Url: this.parse(h5UrlAnswerSchema, answer).h5_url };
  }

  /** wx.requestPayment / getBrandWCPayRequest parameters, signed with the merchant key. */
  jsapiClientParams(prepayId: string): JsapiClientParams {
    return jsapiClientParams({ appid: this.appid, prepayId, privateKey: this.privateKey, ...this.stamp() });
  }

  /** OpenSDK PayReq parameters, signed with the merchant key. */
  appClientParams(prepayId: string): AppClientParams {
    return appClientParams({
      appid: this.appid,
      mchid: this.mchid,
      prepayId,
      privateKey: this.privateKey,
      ...this.stamp(),
    });
  }

  // ---- Query and close ---------------------------------------------------------------------------

  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…; unknown order → ProviderError ORDERNOTEXIST. */
  async queryByOutTradeNo(outTradeNo: string): Promise<V3Transaction> {
    const no = validate(outTradeNoSchema, outTradeNo, 'query');
    const answer = await this.call(
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}?mchid=${encodeURIComponent(this.mchid)}`,
    );
    const transaction = this.parse(transactionSchema, answer);
    if (transaction.out_trade_no !== no)
      throw invalidResponse(`asked for ${no}, WeChat answered about ${transaction.out_trade_no}`);
    return transaction;
  }

  /** GET /v3/pay/transactions/id/{transaction_id}?mchid=… */
  async queryByTransactionId(transactionId: string): Promise<V3Transaction> {
    const id = validate(transactionIdSchema, transactionId, 'query');
    const answer = await this.call(
      'GET',
      `/v3/pay/transactions/id/${encodeURIComponent(id)}?mchid=${encodeURIComponent(this.mchid)}`,
    );
    const transaction = this.parse(transactionSchema, answer);
    if (transaction.transaction_id !== id)
      throw invalidResponse(`asked for transaction ${id}, WeChat answered about another`);
    return transaction;
  }

  /** POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close → 204. Refusals: ORDERPAID, ORDERCLOSED, … */
  async close(outTradeNo: string): Promise<void> {
    const no = validate(outTradeNoSchema, outTradeNo, 'close');
    const answer = await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}/close`, {
      mchid: this.mchid,
    });
    if (answer.status !== 204 && answer.status !== 200) throw invalidResponse(`close answered HTTP ${answer.status}`);
  }

  // ---- Platform certificates -----------------------------------------------------------------------

  /**
   * GET /v3/certificates, verified (see platform-certificates.ts on bootstrapping), decrypted with the
   * APIv3 key; the certificates are added to the key ring and returned.
   */
  async refreshCertificates(): Promise<PlatformCertificate[]> {
    let decoded: PlatformCertificate[] | undefined;
    const verifyDownload: AnswerVerifier = async (signature, text) => {
      const known = signature ? this.ring.lookup(signature.serial) : undefined;
      if (known || !signature)
        return verifyWechatpaySignature({ signature, body: text }, this.ring, { now: this.clock.now() });
      try {
        decoded = decodeCertificatesAnswer(JSON.parse(text) as unknown, this.apiV3Key);
      } catch {
        return { ok: false, failure: 'unknown_serial', message: `no WeChat Pay key for serial ${signature.serial}` };
      }
      const carried = new KeyRing(this.clock);
      for (const cert of decoded) carried.addCertificate(cert.certificate);
      return verifyWechatpaySignature({ signature, body: text }, carried, { now: this.clock.now() });
    };
    const answer = await this.call('GET', '/v3/certificates', undefined, verifyDownload);
    if (answer.status !== 200) throw invalidResponse(`/v3/certificates answered HTTP ${answer.status}`);
    if (!decoded) {
      try {
        decoded = decodeCertificatesAnswer(JSON.parse(answer.text) as unknown, this.apiV3Key);
      } catch (error) {
        throw invalidResponse('the /v3/certificates answer could not be decoded', error);
      }
    }
    for (const cert of decoded) this.ring.addCertificate(cert.certificate);
    return decoded;
  }

  // ---- Transport -----------------------------------------------------------------------------------

  private stamp(): { timestamp: string; nonce: string } {
    return { timestamp: String(Math.floor(this.clock.now().getTime() / 1000)), nonce: this.nonce() };
  }

  private prepayBody(input: V3PrepayInput): Record<string, unknown> {
    const i = validate(prepayInputSchema, input, 'prepay');
    return {
      appid: this.appid,
      mchid: this.mchid,
      description: i.description,
      out_trade_no: i.outTradeNo,
      ...(i.timeExpire !== undefined ? { time_expire: toWechatTime(i.timeExpire) } : {}),
      ...(i.attach !== undefined ? { attach: i.attach } : {}),
      notify_url: i.notifyUrl,
      amount: { total: i.amount.total, currency: i.amount.currency ?? 'CNY' },
      ...(i.payerClientIp !== undefined ? { scene_info: { payer_client_ip: i.payerClientIp } } : {}),
    };
  }

  private parse<T>(schema: z.ZodType<T>, answer: Answer): T {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch (error) {
      throw invalidResponse('WeChat Pay answered with a body that is not JSON', error);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw invalidResponse(`unexpected answer from WeChat Pay: ${parsed.error.message}`);
    return parsed.data;
  }

  /** One logical call: retried with jittered, bounded backoff while the failure is retryable. */
  private async call(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body?: object,
    verifier?: AnswerVerifier,
  ): Promise<Answer> {
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt(method, pathAndQuery, bodyText, verifier);
      } catch (error) {
        if (!(error instanceof ProviderError) || !error.retryable || attempt >= this.maxAttempts) throw error;
        await this.sleep(backoffMs(attempt));
      }
    }
  }

  private async attempt(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    bodyText: string,
    verifier?: AnswerVerifier,
  ): Promise<Answer> {
    const url = new URL(`${this.baseUrl}${pathAndQuery}`);
    const { timestamp, nonce } = this.stamp();
    const authorization = signRequest(
      { method, url: `${url.pathname}${url.search}`, body: bodyText },
      { mchid: this.mchid, serialNo: this.certSerial, privateKey: this.privateKey },
      timestamp,
      nonce,
    );
    const headers: Record<string, string> = {
      Authorization: authorization,
      Accept: 'application/json',
      'User-Agent': USER_AGENT,
    };
    if (method === 'POST') headers['Content-Type'] = 'application/json';

    let status: number;
    let text: string;
    let signature: WechatpaySignature | undefined;
    try {
      const response = await this.fetchFn(url, {
        method,
        headers,
        ...(method === 'POST' ? { body: bodyText } : {}),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      status = response.status;
      signature = readWechatpaySignature(response.headers);
      text = await response.text();
    } catch (error) {
      const timedOut = error instanceof Error && error.name === 'TimeoutError';
      const code = timedOut ? CLIENT_ERROR_CODES.timeout : CLIENT_ERROR_CODES.network;
      const what = timedOut
        ? `no answer within ${this.timeoutMs} ms`
        : error instanceof Error
          ? error.message
          : String(error);
      throw new ProviderError(code, `${method} ${url.pathname} failed: ${what}`, {
        retryable: true,
        kind: 'transport',
        cause: error,
      });
    }
    if (Buffer.byteLength(text, 'utf8') > MAX_ANSWER_BYTES) throw invalidResponse('answer larger than 1 MiB');
    if (isRetryableStatus(status)) throw this.errorFrom(status, text);

    const check = await (verifier ?? this.verifyAnswer)(signature, text);
    if (!check.ok) {
      const refreshError = check.failure === 'unknown_serial' ? this.refreshing.lastError : undefined;
      const why = refreshError instanceof Error ? ` (certificate download failed: ${refreshError.message})` : '';
      throw new ProviderError(
        CLIENT_ERROR_CODES.signature,
        `answer to ${method} ${url.pathname} refused: ${check.message}${why}`,
        {
          retryable: false,
          kind: 'signature',
          ...(refreshError !== undefined ? { cause: refreshError } : {}),
        },
      );
    }
    if (status >= 200 && status < 300) return { status, text };
    throw this.errorFrom(status, text);
  }

  private readonly verifyAnswer: AnswerVerifier = (signature, text) =>
    verifyWechatpaySignature({ signature, body: text }, this.keys, { now: this.clock.now() });

  private errorFrom(status: number, text: string): ProviderError {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    const parsed = errorAnswerSchema.safeParse(json);
    return parsed.success
      ? classifyV3Error(status, parsed.data.code, parsed.data.message)
      : classifyV3Error(status, undefined, undefined);
  }
}

/** Attempt n (1-based) waits between half and all of min(2 s, 200 ms · 2^(n-1)). */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(2000, 200 * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
