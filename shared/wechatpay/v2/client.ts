import * as z from 'zod';
import type { Transport, TransportOptions } from '../core/client-options';
import { transportOf, transportOptionsShape } from '../core/client-options';
import { attemptOptions, timeForAnotherAttempt } from '../core/deadline';
import type { AnswerFacts } from '../core/errors';
import { invalidResponseError, signatureError } from '../core/errors';
import { discardBody, exchange, readBodyUpTo } from '../core/http-exchange';
import { httpStatusError } from '../core/http-status';
import { parseOrThrow } from '../core/parse-or-throw';
import type { Backoff } from '../core/retry';
import { withRetries } from '../core/retry';
import { outTradeNoSchema } from '../core/trade-ids';
import { badResponseError, businessError, responseTooLargeError, returnFailError } from './error-codes';
import type { OrderQueryRequest, UnifiedOrderRequest } from './requests';
import { nonceSchema, orderQueryRequestSchema, unifiedOrderRequestSchema } from './requests';
import type { Fields, OrderQueryResponse, UnifiedOrderResponse } from './responses';
import { decodeOrderQuery, decodeUnifiedOrder } from './responses';
import type { SignType } from './sign';
import { signV2, verifyV2 } from './sign';
import { XmlError, parseXml, toXml } from './xml';

export type { UnifiedOrderRequest, V2TradeType } from './requests';
export type { OrderQueryResponse, UnifiedOrderResponse } from './responses';

export interface WechatPayV2ClientOptions extends TransportOptions {
  appid: string;
  mchid: string;
  /** The merchant's 32-character APIv2 key. */
  apiKey: string;
  /** Default HMAC-SHA256. */
  signType?: SignType;
}

const optionsSchema = z.strictObject({
  ...transportOptionsShape,
  appid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  mchid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  // Never echo the key itself in an error.
  apiKey: z.string().regex(/^[\x21-\x7e]{32}$/, 'must be 32 visible ASCII characters (the APIv2 key)'),
  signType: z.enum(['MD5', 'HMAC-SHA256']).optional(),
});

/** Answers are a few hundred bytes; a megabyte-sized one is not from WeChat. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export const RETRY_BACKOFF: Backoff = { firstMs: 100, capMs: 2_000, jitter: 'full' };

const XML_HEADERS = { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml, application/xml' };

interface Answer {
  status: number;
  text: string;
}

/**
 * WeChat Pay API v2 (XML, key-signed): unifiedorder, orderquery, closeorder. Requests are validated
 * before they are signed; every answer's signature is verified; failures are WechatPayErrors
 * classified as transport / business / signature, transient ones retried with jittered backoff.
 */
export class WechatPayV2Client {
  readonly baseUrl: string;
  readonly appid: string;
  readonly mchid: string;
  readonly signType: SignType;
  readonly #apiKey: string;
  readonly #transport: Transport;

  constructor(options: WechatPayV2ClientOptions) {
    const o = parseOrThrow(optionsSchema, options, 'WeChat Pay v2 client options');
    this.#transport = transportOf(o);
    this.baseUrl = this.#transport.baseUrl;
    this.appid = o.appid;
    this.mchid = o.mchid;
    this.signType = o.signType ?? 'HMAC-SHA256';
    this.#apiKey = o.apiKey;
  }

  /**
   * Every check unifiedOrder makes before sending, without sending: throws WechatPayValidationError.
   * For callers that must know a request is acceptable before they commit to it.
   */
  checkUnifiedOrder(request: UnifiedOrderRequest): void {
    parseOrThrow(unifiedOrderRequestSchema, request, 'unifiedorder request');
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
      throw invalidResponseError('unifiedorder answer names another merchant');
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

  /** POST /pay/closeorder. Throws WechatPayError ORDERPAID, ORDERCLOSED, … when WeChat refuses. */
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
    const nonce = parseOrThrow(nonceSchema, this.#transport.nonce(), 'nonce_str');
    const signed: Record<string, string | undefined> = {
      appid: this.appid,
      mch_id: this.mchid,
      nonce_str: nonce,
      sign_type: this.signType,
      ...params,
    };
    signed.sign = signV2(signed, this.#apiKey, this.signType);
    const request = {
      method: 'POST' as const,
      url: `${this.baseUrl}${path}`,
      headers: XML_HEADERS,
      body: toXml(signed),
    };
    const transport = this.#transport;
    const attempt = async () =>
      this.#readAnswer(await exchange(request, attemptOptions(transport, `POST ${path}`), readXmlAnswer), answers);
    return withRetries(attempt, {
      maxAttempts: transport.maxAttempts,
      backoff: RETRY_BACKOFF,
      sleep: transport.sleep,
      timeForAnother: (waitMs) => timeForAnotherAttempt(transport, waitMs),
    });
  }

  #readAnswer({ status, text }: Answer, answers: readonly string[]): Fields {
    const answer: AnswerFacts = { httpStatus: status };
    let fields: Fields;
    try {
      fields = parseXml(text, MAX_RESPONSE_BYTES);
    } catch (err) {
      if (!(err instanceof XmlError)) throw err;
      throw badResponseError(`WeChat Pay's answer is not readable XML: ${err.message}`, answer, err);
    }
    if (fields.return_code === 'FAIL') throw returnFailError(fields.return_msg, answer);
    if (fields.return_code !== 'SUCCESS') throw badResponseError("WeChat Pay's answer has no return_code", answer);
    if (fields.sign === undefined) throw signatureError('WeChat Pay answer is not signed', answer);
    if (!verifyV2(fields, this.#apiKey)) throw signatureError('WeChat Pay answer has an invalid signature', answer);
    if (fields.result_code === 'SUCCESS') return fields;
    if (fields.result_code !== 'FAIL') throw invalidResponseError('WeChat Pay answer has no result_code', answer);
    if (fields.err_code !== undefined && answers.includes(fields.err_code)) return fields;
    throw businessError(fields.err_code, fields.err_code_des, answer);
  }
}

/** A 2xx answer's text. Any other status fails without reading a body that is not WeChat's envelope. */
async function readXmlAnswer(response: Response): Promise<Answer> {
  const { status } = response;
  if (status < 200 || status > 299) {
    await discardBody(response);
    throw httpStatusError(status);
  }
  const bytes = await readBodyUpTo(response, MAX_RESPONSE_BYTES);
  if (bytes === undefined) throw responseTooLargeError(MAX_RESPONSE_BYTES, { httpStatus: status });
  try {
    return { status, text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch (err) {
    throw badResponseError("WeChat Pay's answer is not UTF-8", { httpStatus: status }, err);
  }
}
