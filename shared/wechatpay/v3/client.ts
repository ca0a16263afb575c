import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { BillDownload } from '../bills/bill-download';
import { DEFAULT_MAX_BILL_BYTES, checkSha1, gunzipBill } from '../bills/bill-download';
import { billDateSchema } from '../bills/bill-date';
import type { Transport, TransportOptions } from '../core/client-options';
import { transportOf, transportOptionsShape } from '../core/client-options';
import { attemptOptions, timeForAnotherAttempt } from '../core/deadline';
import type { Clock } from '../core/clock';
import { systemClock, unixTimestamp } from '../core/clock';
import type { AnswerFacts } from '../core/errors';
import { WechatPayError, WechatPayValidationError, invalidResponseError, signatureError } from '../core/errors';
import { exchange, readBodyUpTo } from '../core/http-exchange';
import { unverifiedAnswerError } from '../core/http-status';
import { parseOrThrow } from '../core/parse-or-throw';
import type { Backoff } from '../core/retry';
import { isRetryable, withRetries } from '../core/retry';
import { outRefundNoSchema, outTradeNoSchema, transactionIdSchema } from '../core/trade-ids';
import { apiV3KeyBytes } from './aead';
import {
  NO_STATEMENT_EXIST,
  STATEMENT_CREATING,
  checkedDownloadUrl,
  readBillFile,
  tradeBillAnswerSchema,
} from './bill-answers';
import { signRequest } from './authorization';
import { appClientParams, jsapiClientParams } from './client-params';
import type { AppClientParams, JsapiClientParams } from './client-params';
import { LATER_REFUND_CODES, RETRYABLE_REFUND_CODES, classifyV3Error } from './error-codes';
import { KeyRing, PUBLIC_KEY_ID_PREFIX } from './key-ring';
import type { PlatformKeySource } from './key-ring';
import { DEFAULT_MAX_WAIT_MS, RefreshingKeySource, decodeCertificatesAnswer } from './platform-certificates';
import type { PlatformCertificate } from './platform-certificates';
import type { V3RefundInput } from './refund-requests';
import { refundInputSchema } from './refund-requests';
import type { V3Refund } from './refund-responses';
import { refundSchema } from './refund-responses';
import type { V3H5Info, V3PrepayInput } from './requests';
import { h5InfoSchema, openidSchema, prepayInputSchema } from './requests';
import type { V3Transaction } from './responses';
import {
  codeUrlAnswerSchema,
  errorAnswerSchema,
  h5UrlAnswerSchema,
  prepayIdAnswerSchema,
  transactionSchema,
} from './responses';
import { toPrivateKey, toPublicKey } from './sign';
import { toWechatTime } from './time';
import { readWechatpaySignature, verifyWechatpaySignature } from './wechatpay-signature';
import type { SignatureCheck, WechatpaySignature } from './wechatpay-signature';

export type { V3H5Info, V3PrepayInput } from './requests';
export type { V3Transaction } from './responses';
export type { V3RefundInput } from './refund-requests';
export type { V3Refund, V3RefundStatus } from './refund-responses';
export type { BillDownload } from '../bills/bill-download';

/**
 * WeChat Pay APIv3 client for a direct merchant: signs every request with the merchant's RSA key,
 * verifies every answer (signature, serial, timestamp) before reading it, retries what may succeed
 * on a second try, and throws WechatPayError (codes in error-codes.ts) for everything else.
 *
 * Verification keys: the WeChat Pay public key when configured (`publicKeyId` = `PUB_KEY_ID_…`),
 * plus platform certificates downloaded from /v3/certificates on first need and again whenever an
 * answer names a serial we do not hold (at most once a minute). Both work at once, for merchants
 * migrating from certificates to the public key.
 *
 * An error answer (4xx/5xx) is WeChat's word only when its signature verifies; an unsigned or
 * unverifiable one is a transport failure (HTTP_<status>, retryable) whatever code its body names.
 */

export interface WechatPayV3ClientOptions extends TransportOptions {
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
  clock?: Clock;
  /** Minimum time between two certificate downloads triggered by unknown serials. Default 60 000. */
  certificateRefreshIntervalMs?: number;
  /**
   * A download triggered by an unknown serial is one attempt with this timeout, and no verifier waits
   * longer for it. Default 1 500 (WeChat gives a notification 5 s).
   */
  certificateDownloadTimeoutMs?: number;
  /** The most decompressed bytes a downloaded bill may have (a gzip bomb is refused). Default 4 GiB. */
  maxBillBytes?: number;
}

const MAX_ANSWER_BYTES = 1024 * 1024;
const USER_AGENT = 'wechatpay-serverless (node) WeChatPay-APIv3';

export const RETRY_BACKOFF: Backoff = { firstMs: 200, capMs: 2_000, jitter: 'equal' };

const optionsSchema = z
  .object({
    ...transportOptionsShape,
    mchid: z.string().regex(/^[0-9A-Za-z]{1,32}$/),
    appid: z.string().min(1).max(32),
    privateKey: z.string().min(1),
    certSerial: z.string().regex(/^[0-9A-Fa-f]{1,64}$/, 'must be the merchant certificate serial in hex'),
    apiV3Key: z.string().refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'must be exactly 32 bytes'),
    publicKey: z.string().min(1).optional(),
    publicKeyId: z.string().startsWith(PUBLIC_KEY_ID_PREFIX).max(64).optional(),
    clock: z
      .custom<Clock>((v) => typeof v === 'object' && v !== null && typeof (v as Clock).now === 'function')
      .optional(),
    certificateRefreshIntervalMs: z.number().int().nonnegative().default(60_000),
    certificateDownloadTimeoutMs: z.number().int().positive().max(10_000).default(DEFAULT_MAX_WAIT_MS),
    maxBillBytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER).default(DEFAULT_MAX_BILL_BYTES),
  })
  .refine((o) => (o.publicKey === undefined) === (o.publicKeyId === undefined), {
    message: 'publicKey and publicKeyId go together',
    path: ['publicKeyId'],
  });

/** One prepay, by the transactions endpoint it goes to. */
export type V3Prepay =
  | { kind: 'jsapi'; input: V3PrepayInput & { payerOpenid: string } }
  | { kind: 'app' | 'native'; input: V3PrepayInput }
  | { kind: 'h5'; input: V3PrepayInput & { payerClientIp: string; h5Info: V3H5Info } };

interface Answer extends AnswerFacts {
  status: number;
  text: string;
  signature: WechatpaySignature | undefined;
}

type AnswerVerifier = (signature: WechatpaySignature | undefined, text: string) => Promise<SignatureCheck>;

/** How one kind of call reads WeChat's refusals: which codes may be sent again, and which only later. */
interface Refusals {
  retryableCodes: ReadonlySet<string>;
  /** Retryable, but not by the client itself: the cause outlasts its backoff. */
  laterCodes: ReadonlySet<string>;
}

const REFUND_REFUSALS: Refusals = { retryableCodes: RETRYABLE_REFUND_CODES, laterCodes: LATER_REFUND_CODES };

export class WechatPayV3Client {
  readonly mchid: string;
  readonly appid: string;
  /** Where verifiers (this client, the notification codec) find WeChat's key for a serial. */
  readonly keys: PlatformKeySource;
  private readonly refreshing: RefreshingKeySource;

  private readonly transport: Transport;
  private readonly privateKey: KeyObject;
  private readonly certSerial: string;
  private readonly apiV3Key: Buffer;
  private readonly ring: KeyRing;
  private readonly clock: Clock;
  private readonly maxBillBytes: number;

  constructor(options: WechatPayV3ClientOptions) {
    const o = parseOrThrow(optionsSchema, options, 'WeChat Pay v3 client options');
    this.transport = transportOf(o);
    this.mchid = o.mchid;
    this.appid = o.appid;
    this.certSerial = o.certSerial.toUpperCase();
    this.apiV3Key = apiV3KeyBytes(o.apiV3Key);
    try {
      this.privateKey = toPrivateKey(o.privateKey);
    } catch (error) {
      throw new WechatPayValidationError('privateKey is not an RSA private key in PEM', 'privateKey', { cause: error });
    }
    if ((this.privateKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new WechatPayValidationError('privateKey must be RSA of at least 2048 bits', 'privateKey');
    }
    this.clock = o.clock ?? systemClock;
    this.maxBillBytes = o.maxBillBytes;
    this.ring = new KeyRing(this.clock);
    if (o.publicKey !== undefined && o.publicKeyId !== undefined) {
      try {
        this.ring.addPublicKey(o.publicKeyId, toPublicKey(o.publicKey));
      } catch (error) {
        throw new WechatPayValidationError('publicKey is not an RSA public key in PEM', 'publicKey', { cause: error });
      }
    }
    this.refreshing = new RefreshingKeySource(
      this.ring,
      () => this.refreshCertificates({ timeoutMs: o.certificateDownloadTimeoutMs }).then(() => undefined),
      this.clock,
      { minRefreshIntervalMs: o.certificateRefreshIntervalMs, maxWaitMs: o.certificateDownloadTimeoutMs },
    );
    this.keys = this.refreshing;
  }

  // ---- Prepay ----------------------------------------------------------------------------------

  /** POST /v3/pay/transactions/jsapi (also mini programs). */
  async prepayJsapi(input: V3PrepayInput & { payerOpenid: string }): Promise<{ prepayId: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/jsapi', this.prepayRequest({ kind: 'jsapi', input }));
    return { prepayId: this.parse(prepayIdAnswerSchema, answer).prepay_id };
  }

  /** POST /v3/pay/transactions/app */
  async prepayApp(input: V3PrepayInput): Promise<{ prepayId: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/app', this.prepayRequest({ kind: 'app', input }));
    return { prepayId: this.parse(prepayIdAnswerSchema, answer).prepay_id };
  }

  /** POST /v3/pay/transactions/native: the QR code's content. */
  async prepayNative(input: V3PrepayInput): Promise<{ codeUrl: string }> {
    const answer = await this.call(
      'POST',
      '/v3/pay/transactions/native',
      this.prepayRequest({ kind: 'native', input }),
    );
    return { codeUrl: this.parse(codeUrlAnswerSchema, answer).code_url };
  }

  /** POST /v3/pay/transactions/h5: the cashier page to open in the mobile browser. */
  async prepayH5(input: V3PrepayInput & { payerClientIp: string; h5Info: V3H5Info }): Promise<{ h5Url: string }> {
    const answer = await this.call('POST', '/v3/pay/transactions/h5', this.prepayRequest({ kind: 'h5', input }));
    return { h5Url: this.parse(h5UrlAnswerSchema, answer).h5_url };
  }

  /**
   * Every check the prepay of this kind makes before sending, without sending: throws
   * WechatPayValidationError. For callers that must know a request is acceptable before they commit
   * to it (an order stored under its out_trade_no).
   */
  checkPrepay(prepay: V3Prepay): void {
    this.prepayRequest(prepay);
  }

  /** The request body of a prepay, validated. */
  private prepayRequest(prepay: V3Prepay): Record<string, unknown> {
    switch (prepay.kind) {
      case 'jsapi': {
        const openid = parseOrThrow(openidSchema, prepay.input.payerOpenid, 'JSAPI prepay: payer.openid');
        return { ...this.prepayBody(prepay.input), payer: { openid } };
      }
      case 'app':
      case 'native':
        return this.prepayBody(prepay.input);
      case 'h5': {
        const { input } = prepay;
        if (input.payerClientIp === undefined)
          throw new WechatPayValidationError('H5 prepay: payerClientIp is required', 'payerClientIp');
        const h5Info = parseOrThrow(h5InfoSchema, input.h5Info, 'H5 prepay: scene_info.h5_info');
        return { ...this.prepayBody(input), scene_info: { payer_client_ip: input.payerClientIp, h5_info: h5Info } };
      }
    }
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

  /** GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=…; unknown order → WechatPayError ORDERNOTEXIST. */
  async queryByOutTradeNo(outTradeNo: string): Promise<V3Transaction> {
    const no = parseOrThrow(outTradeNoSchema, outTradeNo, 'query: out_trade_no');
    const answer = await this.call(
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}?mchid=${encodeURIComponent(this.mchid)}`,
    );
    const transaction = this.parse(transactionSchema, answer);
    if (transaction.out_trade_no !== no)
      throw invalidResponseError(`asked for ${no}, WeChat answered about ${transaction.out_trade_no}`, answer);
    return transaction;
  }

  /** GET /v3/pay/transactions/id/{transaction_id}?mchid=… */
  async queryByTransactionId(transactionId: string): Promise<V3Transaction> {
    const id = parseOrThrow(transactionIdSchema, transactionId, 'query: transaction_id');
    const answer = await this.call(
      'GET',
      `/v3/pay/transactions/id/${encodeURIComponent(id)}?mchid=${encodeURIComponent(this.mchid)}`,
    );
    const transaction = this.parse(transactionSchema, answer);
    if (transaction.transaction_id !== id)
      throw invalidResponseError(`asked for transaction ${id}, WeChat answered about another`, answer);
    return transaction;
  }

  /** POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close → 204. Refusals: ORDERPAID, ORDERCLOSED, … */
  async close(outTradeNo: string): Promise<void> {
    const no = parseOrThrow(outTradeNoSchema, outTradeNo, 'close: out_trade_no');
    const answer = await this.call('POST', `/v3/pay/transactions/out-trade-no/${encodeURIComponent(no)}/close`, {
      mchid: this.mchid,
    });
    if (answer.status !== 204 && answer.status !== 200) {
      throw invalidResponseError(`close answered HTTP ${answer.status}`, answer);
    }
  }

  // ---- Refunds -------------------------------------------------------------------------------------

  /** Every check createRefund makes before sending, without sending: throws WechatPayValidationError. */
  checkRefund(input: V3RefundInput): void {
    parseOrThrow(refundInputSchema, input, 'refund');
  }

  /**
   * POST /v3/refund/domestic/refunds. WeChat answers with the refund, usually PROCESSING; the outcome
   * comes from queryRefund or the refund notification. A refusal is a WechatPayError with WeChat's
   * code (v2 spelling, see error-codes.ts), retryable with the same out_refund_no for
   * RETRYABLE_REFUND_CODES.
   */
  async createRefund(input: V3RefundInput): Promise<V3Refund> {
    const i = parseOrThrow(refundInputSchema, input, 'refund');
    const body = {
      ...(i.transactionId !== undefined ? { transaction_id: i.transactionId } : {}),
      ...(i.outTradeNo !== undefined ? { out_trade_no: i.outTradeNo } : {}),
      out_refund_no: i.outRefundNo,
      ...(i.reason !== undefined ? { reason: i.reason } : {}),
      ...(i.notifyUrl !== undefined ? { notify_url: i.notifyUrl } : {}),
      amount: { refund: i.amount.refund, total: i.amount.total, currency: i.amount.currency ?? 'CNY' },
    };
    const answer = await this.call('POST', '/v3/refund/domestic/refunds', body, undefined, REFUND_REFUSALS);
    const refund = this.parse(refundSchema, answer);
    if (refund.out_refund_no !== i.outRefundNo)
      throw invalidResponseError(
        `asked for refund ${i.outRefundNo}, WeChat answered about ${refund.out_refund_no}`,
        answer,
      );
    if (refund.amount.refund !== i.amount.refund)
      throw invalidResponseError(
        `asked to refund ${i.amount.refund} fen, WeChat answered ${refund.amount.refund}`,
        answer,
      );
    if (i.outTradeNo !== undefined && refund.out_trade_no !== i.outTradeNo)
      throw invalidResponseError('the refund answer is about another out_trade_no', answer);
    return refund;
  }

  /** GET /v3/refund/domestic/refunds/{out_refund_no}; a refund WeChat does not know → RESOURCE_NOT_EXISTS. */
  async queryRefund(outRefundNo: string): Promise<V3Refund> {
    const no = parseOrThrow(outRefundNoSchema, outRefundNo, 'refund query: out_refund_no');
    const answer = await this.call(
      'GET',
      `/v3/refund/domestic/refunds/${encodeURIComponent(no)}`,
      undefined,
      undefined,
      REFUND_REFUSALS,
    );
    const refund = this.parse(refundSchema, answer);
    if (refund.out_refund_no !== no)
      throw invalidResponseError(`asked for refund ${no}, WeChat answered about ${refund.out_refund_no}`, answer);
    return refund;
  }

  // ---- Bills ----------------------------------------------------------------------------------------

  /**
   * The ALL trade bill of a Beijing day (`YYYY-MM-DD`): GET /v3/bill/tradebill (gzip asked), then at
   * once (its URL lasts 30 s) the signed GET of the download URL, refused unless on our base URL's
   * origin (see bill-answers.ts). Resolves once the file's first bytes came; its content then streams
   * decompressed, and throws BILL_HASH_MISMATCH at its end, instead of finishing, when its SHA1 is not
   * WeChat's hash_value. NO_STATEMENT_EXIST is `no_bill`, STATEMENT_CREATING `creating`.
   */
  async downloadTradeBill(billDate: string): Promise<BillDownload> {
    const date = parseOrThrow(billDateSchema, billDate, 'trade bill: bill_date');
    let answer: Answer;
    try {
      answer = await this.call('GET', `/v3/bill/tradebill?bill_date=${date}&bill_type=ALL&tar_type=GZIP`);
    } catch (error) {
      // Only a verified answer is a business error: an unsigned "no bill" never empties a day.
      if (error instanceof WechatPayError && error.kind === 'business') {
        if (error.code === NO_STATEMENT_EXIST) return { kind: 'no_bill' };
        if (error.code === STATEMENT_CREATING) return { kind: 'creating' };
      }
      throw error;
    }
    const bill = this.parse(tradeBillAnswerSchema, answer);
    const url = checkedDownloadUrl(bill.download_url, this.transport.baseUrl, answer);
    const what = `GET ${url.pathname}`;
    const body = await withRetries(
      async () => {
        const request = { method: 'GET' as const, url: url.href, headers: this.headersFor('GET', url, '') };
        return exchange(request, attemptOptions(this.transport, what), (response) =>
          readBillFile(response, this.transport, what),
        );
      },
      {
        maxAttempts: this.transport.maxAttempts,
        backoff: RETRY_BACKOFF,
        sleep: this.transport.sleep,
        timeForAnother: (waitMs) => timeForAnotherAttempt(this.transport, waitMs),
      },
    );
    return { kind: 'bill', content: checkSha1(gunzipBill(body.chunks(), this.maxBillBytes), bill.hash_value) };
  }

  // ---- Platform certificates -----------------------------------------------------------------------

  /**
   * GET /v3/certificates, verified (see platform-certificates.ts on bootstrapping), decrypted with the
   * APIv3 key; the certificates are added to the key ring and returned. With `once`, a single attempt
   * with that timeout (what an unknown serial may cost); without, a call like any other.
   */
  async refreshCertificates(once?: { timeoutMs: number }): Promise<PlatformCertificate[]> {
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
    const answer = once
      ? await this.attempt('GET', '/v3/certificates', '', verifyDownload, once.timeoutMs)
      : await this.call('GET', '/v3/certificates', undefined, verifyDownload);
    if (answer.status !== 200) throw invalidResponseError(`/v3/certificates answered HTTP ${answer.status}`, answer);
    if (!decoded) {
      try {
        decoded = decodeCertificatesAnswer(JSON.parse(answer.text) as unknown, this.apiV3Key);
      } catch (error) {
        throw invalidResponseError('the /v3/certificates answer could not be decoded', answer, error);
      }
    }
    for (const cert of decoded) this.ring.addCertificate(cert.certificate);
    return decoded;
  }

  // ---- Transport -----------------------------------------------------------------------------------

  private stamp(): { timestamp: string; nonce: string } {
    return { timestamp: unixTimestamp(this.clock.now()), nonce: this.transport.nonce() };
  }

  private prepayBody(input: V3PrepayInput): Record<string, unknown> {
    const i = parseOrThrow(prepayInputSchema, input, 'prepay');
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
      throw invalidResponseError('WeChat Pay answered with a body that is not JSON', answer, error);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw invalidResponseError(`unexpected answer from WeChat Pay: ${parsed.error.message}`, answer);
    }
    return parsed.data;
  }

  /** One logical call: retried with jittered, bounded backoff while the failure is retryable. */
  private async call(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body?: object,
    verifier?: AnswerVerifier,
    refusals?: Refusals,
  ): Promise<Answer> {
    const bodyText = body === undefined ? '' : JSON.stringify(body);
    const later = refusals?.laterCodes;
    return withRetries(() => this.attempt(method, pathAndQuery, bodyText, verifier, undefined, refusals), {
      maxAttempts: this.transport.maxAttempts,
      backoff: RETRY_BACKOFF,
      sleep: this.transport.sleep,
      timeForAnother: (waitMs) => timeForAnotherAttempt(this.transport, waitMs),
      isRetryable: (error) =>
        isRetryable(error) && !(later !== undefined && error instanceof WechatPayError && later.has(error.code)),
    });
  }

  private async attempt(
    method: 'GET' | 'POST',
    pathAndQuery: string,
    bodyText: string,
    verifier?: AnswerVerifier,
    timeoutMs?: number,
    refusals?: Refusals,
  ): Promise<Answer> {
    const url = new URL(`${this.transport.baseUrl}${pathAndQuery}`);
    const headers = this.headersFor(method, url, bodyText);
    if (method === 'POST') headers['Content-Type'] = 'application/json';
    const request = { method, url: url.href, headers, ...(method === 'POST' ? { body: bodyText } : {}) };
    const options = attemptOptions(this.transport, `${method} ${url.pathname}`, timeoutMs);
    const answer = await exchange(request, options, readJsonAnswer);
    const isSuccess = answer.status >= 200 && answer.status < 300;
    // An error answer's code counts only when WeChat signed it: a proxy's or an attacker's 500
    // {"code":"ORDER_CLOSED"} is a failed exchange, never a reason to close an order.
    if (!isSuccess && answer.signature === undefined) throw unverifiedAnswerError(answer.status, requestIdOf(answer));
    const check = await (verifier ?? this.verifyAnswer)(answer.signature, answer.text);
    if (!check.ok && !isSuccess) throw unverifiedAnswerError(answer.status, requestIdOf(answer));
    if (!check.ok) {
      const refreshError = check.failure === 'unknown_serial' ? this.refreshing.lastError : undefined;
      const why = refreshError instanceof Error ? ` (certificate download failed: ${refreshError.message})` : '';
      throw signatureError(`answer to ${method} ${url.pathname} refused: ${check.message}${why}`, answer, refreshError);
    }
    if (isSuccess) return answer;
    throw this.errorFrom(answer, refusals);
  }

  /** A request's headers, Authorization signed over its method, path and query, and body. */
  private headersFor(method: 'GET' | 'POST', url: URL, bodyText: string): Record<string, string> {
    const { timestamp, nonce } = this.stamp();
    const authorization = signRequest(
      { method, url: `${url.pathname}${url.search}`, body: bodyText },
      { mchid: this.mchid, serialNo: this.certSerial, privateKey: this.privateKey },
      timestamp,
      nonce,
    );
    return { Authorization: authorization, Accept: 'application/json', 'User-Agent': USER_AGENT };
  }

  private readonly verifyAnswer: AnswerVerifier = (signature, text) =>
    verifyWechatpaySignature({ signature, body: text }, this.keys, { now: this.clock.now() });

  private errorFrom(answer: Answer, refusals?: Refusals): Error {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      json = undefined;
    }
    const parsed = errorAnswerSchema.safeParse(json);
    const facts = requestIdOf(answer);
    return parsed.success
      ? classifyV3Error(answer.status, parsed.data.code, parsed.data.message, facts, refusals?.retryableCodes)
      : classifyV3Error(answer.status, undefined, undefined, facts);
  }
}

function requestIdOf(answer: Answer): Omit<AnswerFacts, 'httpStatus'> {
  return answer.requestId !== undefined ? { requestId: answer.requestId } : {};
}

/** Every answer is read whatever its status: v3 error answers carry their code in the body. */
async function readJsonAnswer(response: Response): Promise<Answer> {
  const facts: AnswerFacts = { httpStatus: response.status };
  const requestId = response.headers.get('Request-ID');
  if (requestId !== null) facts.requestId = requestId;
  const bytes = await readBodyUpTo(response, MAX_ANSWER_BYTES);
  if (bytes === undefined) {
    // Not read, so not verified: a failed exchange, not WeChat's word.
    throw new WechatPayError('RESPONSE_TOO_LARGE', 'answer larger than 1 MiB', {
      retryable: false,
      kind: 'transport',
      ...facts,
    });
  }
  return {
    ...facts,
    status: response.status,
    signature: readWechatpaySignature(response.headers),
    text: new TextDecoder('utf-8').decode(bytes),
  };
}
