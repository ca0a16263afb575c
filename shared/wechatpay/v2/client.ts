import * as z from 'zod';
import type { BillDownload } from '../bills/bill-download';
import { DEFAULT_MAX_BILL_BYTES } from '../bills/bill-download';
import { billDateSchema } from '../bills/bill-date';
import type { ClientCertificate } from '../core/client-certificate';
import { checkClientCertificate, clientCertificateSchema } from '../core/client-certificate';
import type { Transport, TransportOptions } from '../core/client-options';
import { transportOf, transportOptionsShape } from '../core/client-options';
import { attemptOptions, timeForAnotherAttempt } from '../core/deadline';
import type { AnswerFacts } from '../core/errors';
import { WechatPayError, WechatPayValidationError, invalidResponseError, signatureError } from '../core/errors';
import type { HttpRequest } from '../core/http-exchange';
import { discardBody, exchange, readBodyUpTo } from '../core/http-exchange';
import { httpStatusError } from '../core/http-status';
import { parseOrThrow } from '../core/parse-or-throw';
import type { Backoff } from '../core/retry';
import { isRetryable, withRetries } from '../core/retry';
import { tlsFetch } from '../core/tls-fetch';
import { outTradeNoSchema } from '../core/trade-ids';
import {
  RETRYABLE_ERR_CODES,
  RETRYABLE_REFUND_ERR_CODES,
  RETRY_NOW_REFUND_ERR_CODES,
  badResponseError,
  businessError,
  certificateAlertAsRefusal,
  certificateRefusedError,
  responseTooLargeError,
  returnFailError,
} from './error-codes';
import { readBillAnswer } from './bill-answer';
import type { V2RefundQueryRequest, V2RefundRequest } from './refund-requests';
import { refundQueryRequestSchema, refundRequestSchema } from './refund-requests';
import type { V2RefundQueryResponse, V2RefundResponse } from './refund-responses';
import { decodeRefund, decodeRefundQuery } from './refund-responses';
import type { OrderQueryRequest, UnifiedOrderRequest } from './requests';
import { nonceSchema, orderQueryRequestSchema, unifiedOrderRequestSchema } from './requests';
import type { Fields, OrderQueryResponse, UnifiedOrderResponse } from './responses';
import { decodeOrderQuery, decodeUnifiedOrder } from './responses';
import type { SignType } from './sign';
import { signV2, verifyV2 } from './sign';
import { XmlError, parseXml, toXml } from './xml';

export type { UnifiedOrderRequest, V2TradeType } from './requests';
export type { OrderQueryResponse, UnifiedOrderResponse } from './responses';
export type { ClientCertificate } from '../core/client-certificate';
export type { BillDownload } from '../bills/bill-download';
export type { V2RefundQueryRequest, V2RefundRequest } from './refund-requests';
export type { V2RefundQueryResponse, V2RefundRecord, V2RefundResponse, V2RefundStatus } from './refund-responses';

export interface WechatPayV2ClientOptions extends TransportOptions {
  appid: string;
  mchid: string;
  /** The merchant's 32-character APIv2 key. */
  apiKey: string;
  /** Default HMAC-SHA256. */
  signType?: SignType;
  /**
   * The merchant's API client certificate, presented on /secapi/ paths (refunds) over mutual TLS
   * (trusting `trustedCaPem` too, when set). Checked when first needed; without it refund() throws
   * WechatPayValidationError. Those paths always go through node:https (tlsFetch), never `fetch`:
   * only it can present a client certificate.
   */
  clientCertificate?: ClientCertificate;
  /** The most decompressed bytes a downloaded bill may have (a gzip bomb is refused). Default 4 GiB. */
  maxBillBytes?: number;
}

const optionsSchema = z.strictObject({
  ...transportOptionsShape,
  appid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  mchid: z.string().regex(/^[\x21-\x7e]{1,32}$/, 'must be 1-32 visible ASCII characters'),
  // Never echo the key itself in an error.
  apiKey: z.string().regex(/^[\x21-\x7e]{32}$/, 'must be 32 visible ASCII characters (the APIv2 key)'),
  signType: z.enum(['MD5', 'HMAC-SHA256']).optional(),
  clientCertificate: clientCertificateSchema.optional(),
  maxBillBytes: z.int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
});

/** Answers are a few hundred bytes; a megabyte-sized one is not from WeChat. */
const MAX_RESPONSE_BYTES = 64 * 1024;

export const RETRY_BACKOFF: Backoff = { firstMs: 100, capMs: 2_000, jitter: 'full' };

const XML_HEADERS = { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml, application/xml' };

interface Answer {
  status: number;
  text: string;
}

/** How one kind of call reads WeChat's refusals. */
interface CallOptions {
  /** err_codes that are results rather than failures for this call. */
  answers?: readonly string[];
  /** err_codes after which the same request may be sent again (the error's `retryable`). */
  retryableCodes?: ReadonlySet<string>;
  /** Of the retryable err_codes, those the client retries itself; default all of them. */
  retryNowCodes?: ReadonlySet<string>;
  /** Over mutual TLS with the API client certificate (a /secapi/ path). */
  clientCertificate?: boolean;
}

/** How much of an error answer's body is read to recognise WeChat's certificate refusal. */
const MAX_REFUSAL_BYTES = 8 * 1024;

/**
 * WeChat Pay API v2 (XML, key-signed): unifiedorder, orderquery, closeorder, refunds, downloadbill.
 * Requests are validated before they are signed; every answer's signature is verified (but
 * downloadbill's, which WeChat does not sign: see bill-answer.ts); failures are WechatPayErrors
 * classified as transport / business / signature, transient ones retried with jittered backoff.
 */
export class WechatPayV2Client {
  readonly baseUrl: string;
  readonly appid: string;
  readonly mchid: string;
  readonly signType: SignType;
  readonly #apiKey: string;
  readonly #transport: Transport;
  readonly #clientCertificate: ClientCertificate | undefined;
  readonly #maxBillBytes: number;
  #secapiFetch: typeof fetch | undefined;

  constructor(options: WechatPayV2ClientOptions) {
    const o = parseOrThrow(optionsSchema, options, 'WeChat Pay v2 client options');
    this.#transport = transportOf(o);
    this.baseUrl = this.#transport.baseUrl;
    this.appid = o.appid;
    this.mchid = o.mchid;
    this.signType = o.signType ?? 'HMAC-SHA256';
    this.#apiKey = o.apiKey;
    this.#clientCertificate = o.clientCertificate;
    this.#maxBillBytes = o.maxBillBytes ?? DEFAULT_MAX_BILL_BYTES;
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
      { answers: ['ORDERNOTEXIST'] },
    );
    return decodeOrderQuery(fields, q);
  }

  /** POST /pay/closeorder. Throws WechatPayError ORDERPAID, ORDERCLOSED, … when WeChat refuses. */
  async closeOrder(outTradeNo: string): Promise<void> {
    const out_trade_no = parseOrThrow(outTradeNoSchema, outTradeNo, 'closeorder request: out_trade_no');
    await this.#call('/pay/closeorder', { out_trade_no });
  }

  /**
   * Every check refund makes before sending, without sending: the request, and that a client
   * certificate is configured and usable. Throws WechatPayValidationError.
   */
  checkRefund(request: V2RefundRequest): void {
    parseOrThrow(refundRequestSchema, request, 'refund request');
    this.#secapi();
  }

  /**
   * POST /secapi/pay/refund over mutual TLS. Resolves when WeChat accepted (受理) the refund; the
   * outcome comes from refundQuery or the refund notification. A refusal is a WechatPayError with
   * WeChat's err_code, retryable (with the same out_refund_no) for RETRYABLE_REFUND_ERR_CODES;
   * CERT_REFUSED when WeChat turned the client certificate down.
   */
  async refund(request: V2RefundRequest): Promise<V2RefundResponse> {
    const req = parseOrThrow(refundRequestSchema, request, 'refund request');
    const fields = await this.#call(
      '/secapi/pay/refund',
      {
        out_trade_no: req.out_trade_no,
        transaction_id: req.transaction_id,
        out_refund_no: req.out_refund_no,
        total_fee: String(req.total_fee),
        refund_fee: String(req.refund_fee),
        refund_desc: req.refund_desc,
        notify_url: req.notify_url,
      },
      {
        retryableCodes: RETRYABLE_REFUND_ERR_CODES,
        retryNowCodes: RETRY_NOW_REFUND_ERR_CODES,
        clientCertificate: true,
      },
    );
    this.#checkMerchant(fields, 'refund');
    return decodeRefund(fields, req);
  }

  /**
   * POST /pay/refundquery (no certificate) by exactly one of out_refund_no, refund_id, out_trade_no,
   * transaction_id; by order, ten refunds from `offset`. A refund WeChat does not know is a
   * WechatPayError REFUNDNOTEXIST.
   */
  async refundQuery(query: V2RefundQueryRequest): Promise<V2RefundQueryResponse> {
    const q = parseOrThrow(refundQueryRequestSchema, query, 'refundquery request');
    const fields = await this.#call(
      '/pay/refundquery',
      {
        out_refund_no: q.out_refund_no,
        refund_id: q.refund_id,
        out_trade_no: q.out_trade_no,
        transaction_id: q.transaction_id,
        offset: q.offset === undefined ? undefined : String(q.offset),
      },
      { retryableCodes: RETRYABLE_REFUND_ERR_CODES, retryNowCodes: RETRY_NOW_REFUND_ERR_CODES },
    );
    this.#checkMerchant(fields, 'refundquery');
    return decodeRefundQuery(fields, q);
  }

  /**
   * POST /pay/downloadbill: the ALL trade bill of a Beijing day (`YYYY-MM-DD`), asked for gzipped.
   * Resolves once the answer's first bytes tell what it is (within the client's timeout, retried
   * like any call); a bill's content then streams for as long as it takes, decompressed. No bill
   * that day and a bill not made yet are answers, not errors (see bill-answer.ts).
   */
  async downloadBill(billDate: string): Promise<BillDownload> {
    const date = parseOrThrow(billDateSchema, billDate, 'downloadbill request: bill_date');
    const request = this.#signedRequest('/pay/downloadbill', {
      bill_date: date.replaceAll('-', ''),
      bill_type: 'ALL',
      tar_type: 'GZIP',
    });
    const transport = this.#transport;
    const attempt = async () =>
      exchange(request, attemptOptions(transport, 'POST /pay/downloadbill'), (response) =>
        readBillAnswer(response, transport, this.#maxBillBytes),
      );
    return withRetries(attempt, {
      maxAttempts: transport.maxAttempts,
      backoff: RETRY_BACKOFF,
      sleep: transport.sleep,
      timeForAnother: (waitMs) => timeForAnotherAttempt(transport, waitMs),
    });
  }

  #checkMerchant(fields: Fields, what: string): void {
    if (fields.appid !== this.appid || fields.mch_id !== this.mchid)
      throw invalidResponseError(`${what} answer names another merchant`);
  }

  /** The fetch for /secapi/ paths, made (and the certificate checked) on first use. */
  #secapi(): typeof fetch {
    if (this.#secapiFetch !== undefined) return this.#secapiFetch;
    const certificate = this.#clientCertificate;
    if (certificate === undefined)
      throw new WechatPayValidationError(
        'refunds need the API client certificate (apiclient_cert), and none is configured',
        'clientCertificate',
      );
    checkClientCertificate(certificate);
    const trusted = this.#transport.trustedCaPem;
    this.#secapiFetch = tlsFetch({ ...certificate, ...(trusted === undefined ? {} : { caPem: trusted }) });
    return this.#secapiFetch;
  }

  /**
   * Signs and sends one request (the same bytes on every retry, so WeChat sees one request),
   * returns the verified fields of an answer that is a business success or whose err_code is in
   * `answers` (results rather than failures for this call).
   */
  async #call(path: string, params: Record<string, string | undefined>, how: CallOptions = {}): Promise<Fields> {
    const answers = how.answers ?? [];
    const retryableCodes = how.retryableCodes ?? RETRYABLE_ERR_CODES;
    const retryNowCodes = how.retryNowCodes ?? retryableCodes;
    const laterCodes = new Set([...retryableCodes].filter((code) => !retryNowCodes.has(code)));
    const secapiFetch = how.clientCertificate ? this.#secapi() : undefined;
    const request = this.#signedRequest(path, params);
    const transport = this.#transport;
    const read = (response: Response) => readXmlAnswer(response, secapiFetch !== undefined);
    const attempt = async () => {
      const options = attemptOptions(transport, `POST ${path}`);
      if (secapiFetch !== undefined) options.fetch = secapiFetch;
      try {
        return this.#readAnswer(await exchange(request, options, read), answers, retryableCodes);
      } catch (error) {
        throw secapiFetch !== undefined ? certificateAlertAsRefusal(error) : error;
      }
    };
    return withRetries(attempt, {
      maxAttempts: transport.maxAttempts,
      backoff: RETRY_BACKOFF,
      sleep: transport.sleep,
      timeForAnother: (waitMs) => timeForAnotherAttempt(transport, waitMs),
      // A "later" refusal (NOTENOUGH, rate limits) would be refused again within the backoff.
      isRetryable: (error) => isRetryable(error) && !(error instanceof WechatPayError && laterCodes.has(error.code)),
    });
  }

  /** The request as sent on every attempt: the merchant's fields, a nonce, the signature. */
  #signedRequest(path: string, params: Record<string, string | undefined>): HttpRequest {
    const nonce = parseOrThrow(nonceSchema, this.#transport.nonce(), 'nonce_str');
    const signed: Record<string, string | undefined> = {
      appid: this.appid,
      mch_id: this.mchid,
      nonce_str: nonce,
      sign_type: this.signType,
      ...params,
    };
    signed.sign = signV2(signed, this.#apiKey, this.signType);
    return { method: 'POST', url: `${this.baseUrl}${path}`, headers: XML_HEADERS, body: toXml(signed) };
  }

  #readAnswer({ status, text }: Answer, answers: readonly string[], retryableCodes: ReadonlySet<string>): Fields {
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
    throw businessError(fields.err_code, fields.err_code_des, answer, retryableCodes);
  }
}

/**
 * A 2xx answer's text. Any other status fails without reading a body that is not WeChat's
 * envelope, except, over mutual TLS, a little of it to recognise WeChat's certificate refusal.
 */
async function readXmlAnswer(response: Response, overMutualTls: boolean): Promise<Answer> {
  const { status } = response;
  if (status < 200 || status > 299) {
    if (overMutualTls && status === 400) {
      const bytes = await readBodyUpTo(response, MAX_REFUSAL_BYTES).catch(() => undefined);
      const text = bytes?.toString('utf8') ?? '';
      const said = /No required SSL certificate was sent|The SSL certificate error|SSL certificate/i.exec(text);
      if (said !== null) throw certificateRefusedError(`HTTP 400 "${said[0]}"`, { httpStatus: status });
    } else await discardBody(response);
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
