import * as z from 'zod';
import { ProviderError } from '#shared/domain/errors';
import { businessError, returnFailError, signatureError, transportError } from './classification';
import { randomNonce } from './nonce';
import type { OrderQueryRequest, UnifiedOrderRequest } from './requests';
import { nonceSchema, orderQueryRequestSchema, outTradeNoSchema, unifiedOrderRequestSchema } from './requests';
import type { Fields, OrderQueryResponse, UnifiedOrderResponse } from './responses';
import { decodeOrderQuery, decodeUnifiedOrder } from './responses';
import { withRetries } from './retry';
import type { SignType } from './sign';
import { signV2, verifyV2 } from './sign';
import { postXml } from './transport';
import { parseOrThrow } from './validate';
import { XmlError, parseXml, toXml } from './xml';

export type { OrderQueryRequest, UnifiedOrderRequest, V2TradeType } from './requests';
export type {
  OrderQueryFound,
  OrderQueryNotFound,
  OrderQueryResponse,
  UnifiedOrderResponse,
  V2TradeState,
} from './responses';

export interface WechatPayV2ClientOptions {
  /** https://api.mch.weixin.qq.com, or the simulator's address (WECHATPAY_BASE_URL). */
  baseUrl: string;
  appid: string;
  mchid: string;
  /** The merchant's 32-character APIv2 key. */
  apiKey: string;
  /** Default HMAC-SHA256. */
  signType?: SignType;
  /** Per attempt, connect to end of body. Default 5000. */
  timeoutMs?: number;
  /** Attempts in all, retrying transient failures only. Default 3. */
  maxAttempts?: number;
  fetch?: typeof fetch;
  nonce?: () => string;
  sleep?: (ms: number) => Promise<void>;
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

const optionsSchema = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  appid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  mchid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  // Never echo the key itself in an error.
  apiKey: z.string().regex(/^[\x21-\x7e]{32}$/, 'must be 32 visible ASCII characters (the APIv2 key)'),
  signType: z.enum(['MD5', 'HMAC-SHA256']).optional(),
  timeoutMs: z.int().min(1).max(120_000).optional(),
  maxAttempts: z.int().min(1).max(10).optional(),
  fetch: z.custom<typeof fetch>(isFunction, 'must be a function').optional(),
  nonce: z.custom<() => string>(isFunction, 'must be a function').optional(),
  sleep: z.custom<(ms: number) => Promise<void>>(isFunction, 'must be a function').optional(),
});

/** Answers are a few hundred bytes; a megabyte-sized one is not from WeChat. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const defaultSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * WeChat Pay API v2 (XML, key-signed): unifiedorder, orderquery, closeorder. Requests are validated
 * before they are signed; every answer's signature is verified; failures are ProviderErrors
 * classified as transport / business / signature, transient ones retried with jittered backoff.
 */
export class WechatPayV2Client {
  readonly baseUrl: string;
  readonly appid: string;
  readonly mchid: string;
  readonly signType: SignType;
  readonly #apiKey: string;
  readonly #timeoutMs: number;
  readonly #maxAttempts: number;
  readonly #fetch: typeof fetch;
  readonly #nonce: () => string;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(options: WechatPayV2ClientOptions) {
    const o = parseOrThrow(optionsSchema, options, 'WeChat Pay v2 client options');
    this.baseUrl = o.baseUrl.replace(/\/+$/, '');
    this.appid = o.appid;
    this.mchid = o.mchid;
    this.signType = o.signType ?? 'HMAC-SHA256';
    this.#apiKey = o.apiKey;
    this.#timeoutMs = o.timeoutMs ?? 5000;
    this.#maxAttempts = o.maxAttempts ?? 3;
    this.#fetch = o.fetch ?? ((input, init) => fetch(input, init));
    this.#nonce = o.nonce ?? randomNonce;
    this.#sleep = o.sleep ?? defaultSleep;
  }

  /** POST /pay/unifiedorder → prepay_id (and code_url for NATIVE, mweb_url for MWEB). */
  async unifiedOrder(request: UnifiedOrderRequest): Promise<UnifiedOrderResponse> {
    const req = parseOrThrow(unifiedOrderRequestSchema, request, 'unifiedorder request');
    const fields = await this.#call('/pay/unifiedorder', {
      body: req.body,
      out_trade_no: req.out_trade_no,
      total_fee: String(req.total_fee),
      spbill_create_ip: req.spbill_create_ip,
      notify_url: req.notify_url,
      trade_type: req.trade_type,
      openid: req.openid,
      product_id: req.product_id,
      attach: req.attach,
      time_expire: req.time_expire,
      scene_info: req.scene_info,
    });
    if (fields.appid !== this.appid || fields.mch_id !== this.mchid) {
      throw new ProviderError('INVALID_RESPONSE', 'unifiedorder answer names another merchant', {
        retryable: false,
        kind: 'business',
      });
    }
    return decodeUnifiedOrder(fields, req.trade_type);
  }

  /** POST /pay/orderquery by out_trade_no or transaction_id. An unknown order is `found: false`. */
  async orderQuery(query: OrderQueryRequest): Promise<OrderQueryResponse> {
    const q = parseOrThrow(orderQueryRequestSchema, query, 'orderquery request');
    const fields = await this.#call(
      '/pay/orderquery',
      { out_trade_no: q.out_trade_no, transaction_id: q.transaction_id },
      ['ORDERNOTEXIST'],
    );
    return decodeOrderQuery(fields, q);
  }

  /** POST /pay/closeorder. Throws ProviderError ORDERPAID, ORDERCLOSED, … when WeChat refuses. */
  async closeOrder(outTradeNo: string): Promise<void> {
    const out_trade_no = parseOrThrow(outTradeNoSchema, outTradeNo, 'closeorder request: out_trade_no');
    await this.#call('/pay/closeorder', { out_trade_no });
  }

  /**
   * Signs and sends one request (the same bytes on every retry, so WeChat sees one request),
   * returns the verified fields of an answer that is a business success or whose err_code is in
   * `answers` (results rather than failures for this call).
   */
  async #call(
    path: string,
    params: Record<string, string | undefined>,
    answers: readonly string[] = [],
  ): Promise<Fields> {
    const nonce = parseOrThrow(nonceSchema, this.#nonce(), 'nonce_str');
    const signed: Record<string, string | undefined> = {
      appid: this.appid,
      mch_id: this.mchid,
      nonce_str: nonce,
      sign_type: this.signType,
      ...params,
    };
    signed.sign = signV2(signed, this.#apiKey, this.signType);
    const body = toXml(signed);
    const url = `${this.baseUrl}${path}`;
    return withRetries(
      async () => {
        const text = await postXml(url, body, {
          fetch: this.#fetch,
          timeoutMs: this.#timeoutMs,
          maxResponseBytes: MAX_RESPONSE_BYTES,
        });
        return this.#readAnswer(text, answers);
      },
      {
        maxAttempts: this.#maxAttempts,
        sleep: this.#sleep,
        isRetryable: (err) => err instanceof ProviderError && err.retryable,
      },
    );
  }

  #readAnswer(text: string, answers: readonly string[]): Fields {
    let fields: Fields;
    try {
      fields = parseXml(text, MAX_RESPONSE_BYTES);
    } catch (err) {
      if (!(err instanceof XmlError)) throw err;
      throw transportError('BAD_RESPONSE', `WeChat Pay's answer is not readable XML: ${err.message}`, {
        retryable: true,
        cause: err,
      });
    }
    if (fields.return_code === 'FAIL') throw returnFailError(fields.return_msg);
    if (fields.return_code !== 'SUCCESS') {
      throw transportError('BAD_RESPONSE', "WeChat Pay's answer has no return_code", { retryable: true });
    }
    if (fields.sign === undefined) throw signatureError('WeChat Pay answer is not signed');
    if (!verifyV2(fields, this.#apiKey)) throw signatureError('WeChat Pay answer has an invalid signature');
    if (fields.result_code === 'SUCCESS') return fields;
    if (fields.result_code !== 'FAIL') {
      throw new ProviderError('INVALID_RESPONSE', 'WeChat Pay answer has no result_code', {
        retryable: false,
        kind: 'business',
      });
    }
    if (fields.err_code !== undefined && answers.includes(fields.err_code)) return fields;
    throw businessError(fields.err_code, fields.err_code_des);
  }
}
