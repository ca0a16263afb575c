import { ConfigurationError, isWechatRefusal, ProviderError, ValidationError } from '../domain/errors';
import type { RefundReport, RefundStatus } from '../domain/refund';
import type { RefundProvider, RefundSubmission } from '../domain/refund-ports';
import { WechatPayV2Client } from '../wechatpay/v2/client';
import type {
  V2RefundQueryResponse,
  V2RefundRequest,
  V2RefundResponse,
  V2RefundStatus,
  WechatPayV2ClientOptions,
} from '../wechatpay/v2/client';
import { CERT_REFUSED } from '../wechatpay/v2/error-codes';
import { V2_REFUND_STATUS_IN_V3, v2RefundTimeToRfc3339 } from '../wechatpay/v2/refund-responses';
import { toDomainError, withRefundDomainErrors } from './wechatpay-errors';

/**
 * RefundProvider over WeChat Pay API v2: `secapi/pay/refund` over mutual TLS with the merchant's API
 * client certificate, and `pay/refundquery` (which needs none).
 *
 * Certificate trouble is a ConfigurationError, not a ProviderError: no certificate configured, one
 * that is not a usable pair (found by the library at the first refund; the app checks it at load,
 * where it can name the secret's field), or one WeChat refuses (err_code CERT_ERROR, or its front
 * end's TLS alert or HTML 400: the library's CERT_REFUSED). The refund request itself is fine and
 * WeChat never took it, so it must neither be closed as WeChat's final refusal (money still owed
 * would never go back) nor be the caller's mistake (a 400 the caller cannot fix), nor be retried as
 * if time would help. Only an operator can fix the secret; until then the refund stays unaccepted,
 * to be sent again with the same out_refund_no once it is fixed. ConfigurationError is the
 * deployment's fault: a 500 naming nothing, logged, and alarmed through the Lambda errors.
 */

/** err_code of a query WeChat answers for a refund it does not know. */
const REFUND_NOT_FOUND = 'REFUNDNOTEXIST';
/** err_code of a refund WeChat refuses because of the client certificate. */
const CERTIFICATE_REFUSED_ERR_CODE = 'CERT_ERROR';
/** The library's name for the client certificate option (its validation errors' field). */
const CLIENT_CERTIFICATE_FIELD = 'clientCertificate';

const NO_CERTIFICATE = 'v2 refunds need the API client certificate (apiclient_cert), and none is set';

/** An answer WeChat signed that cannot be read as a refund: asking again gets the same. */
function unreadable(message: string): ProviderError {
  return new ProviderError('INVALID_RESPONSE', message, { retryable: false, kind: 'business' });
}

/** The parts of a refund every v2 message reports alike (query record, notification's req_info). */
export interface V2RefundFacts {
  out_refund_no: string;
  refund_id?: string;
  /** WeChat's number for the payment refunded: the domain matches it against the order's. */
  transaction_id?: string;
  refund_fee?: number;
  total_fee?: number;
  refund_status: V2RefundStatus;
  /** `refund_success_time_$n` in a query, `success_time` in a notification. */
  success_time?: string;
  refund_recv_accout?: string;
}

/**
 * The report of one refund as v2 states it; a string naming what cannot be read otherwise (an unknown
 * refund_status, a success time that is no time). appid and mch_id are the caller's to give: from the
 * signed answer, or from a notification's envelope.
 */
export function v2RefundReport(
  facts: V2RefundFacts,
  ids: { outTradeNo: string; mchid: string; appid?: string },
): RefundReport | string {
  const status = V2_REFUND_STATUS_IN_V3[facts.refund_status] as RefundStatus | undefined;
  if (status === undefined) return `unknown refund_status ${String(facts.refund_status)}`;
  const report: RefundReport = {
    outTradeNo: ids.outTradeNo,
    outRefundNo: facts.out_refund_no,
    status,
    mchid: ids.mchid,
  };
  if (ids.appid !== undefined) report.appid = ids.appid;
  if (facts.refund_id !== undefined && facts.refund_id !== '') report.refundId = facts.refund_id;
  if (facts.transaction_id !== undefined && facts.transaction_id !== '') report.transactionId = facts.transaction_id;
  if (facts.refund_fee !== undefined && facts.total_fee !== undefined)
    report.amount = { refund: facts.refund_fee, total: facts.total_fee };
  if (facts.success_time !== undefined && facts.success_time !== '') {
    const successTime = v2RefundTimeToRfc3339(facts.success_time);
    if (successTime === undefined) return `success time ${facts.success_time} is not yyyy-MM-dd HH:mm:ss`;
    report.successTime = successTime;
  }
  if (facts.refund_recv_accout !== undefined && facts.refund_recv_accout !== '')
    report.userReceivedAccount = facts.refund_recv_accout;
  return report;
}

/** Our submission as secapi/pay/refund's fields (fen; total_fee is what the order was paid). */
export function toV2RefundRequest(submission: RefundSubmission): V2RefundRequest {
  const request: V2RefundRequest = {
    out_trade_no: submission.outTradeNo,
    out_refund_no: submission.outRefundNo,
    total_fee: submission.total,
    refund_fee: submission.refund,
    notify_url: submission.notifyUrl,
  };
  if (submission.reason !== undefined) request.refund_desc = submission.reason;
  return request;
}

/**
 * WeChat's acceptance (受理): PROCESSING until the query or the notification says how it ended. v2's
 * answers (this one, refundquery's) carry no time WeChat accepted the refund: marked as our
 * submission's answer, the domain takes its own clock for it (a query's: the refund's creation).
 */
export function acceptanceReport(answer: V2RefundResponse, submission: RefundSubmission): RefundReport {
  const report: RefundReport = {
    outTradeNo: answer.out_trade_no ?? submission.outTradeNo,
    outRefundNo: answer.out_refund_no,
    status: 'PROCESSING',
    mchid: answer.mch_id,
    appid: answer.appid,
    answerTo: 'submit',
  };
  if (answer.refund_id !== '') report.refundId = answer.refund_id;
  if (answer.transaction_id !== undefined) report.transactionId = answer.transaction_id;
  if (answer.total_fee !== undefined) report.amount = { refund: answer.refund_fee, total: answer.total_fee };
  return report;
}

/**
 * A refundquery answer (by out_refund_no) as the report of our refund: of the paged `_$n` records,
 * the one whose out_refund_no is ours. Asked by out_refund_no, WeChat answers with that refund; an
 * answer without it is not one we can read.
 */
export function queryAnswerToReport(answer: V2RefundQueryResponse, outRefundNo: string): RefundReport {
  const record = answer.refunds.find((r) => r.out_refund_no === outRefundNo);
  if (record === undefined) throw unreadable(`refundquery answer has no record for out_refund_no ${outRefundNo}`);
  if (answer.fee_type !== undefined && answer.fee_type !== 'CNY')
    throw new ProviderError('UNSUPPORTED_CURRENCY', `refundquery reports fee_type ${answer.fee_type}`, {
      retryable: false,
      kind: 'business',
    });
  const facts: V2RefundFacts = {
    out_refund_no: record.out_refund_no,
    refund_status: record.refund_status,
    refund_id: record.refund_id,
    transaction_id: answer.transaction_id,
    refund_fee: record.refund_fee,
    total_fee: answer.total_fee,
  };
  if (record.refund_success_time !== undefined) facts.success_time = record.refund_success_time;
  if (record.refund_recv_accout !== undefined) facts.refund_recv_accout = record.refund_recv_accout;
  const report = v2RefundReport(facts, {
    outTradeNo: answer.out_trade_no,
    mchid: answer.mch_id,
    appid: answer.appid,
  });
  if (typeof report === 'string') throw unreadable(`refundquery answer: ${report}`);
  return { ...report, answerTo: 'query' };
}

export interface WechatPayV2RefundsOptions extends WechatPayV2ClientOptions {
  /**
   * What submitRefund says, as a ConfigurationError, when no client certificate is given: for the
   * operator, naming what to set where this deployment keeps it.
   */
  noCertificateMessage?: string;
}

/** RefundProvider over WeChat Pay API v2. */
export class WechatPayV2Refunds implements RefundProvider {
  readonly apiVersion = 'v2' as const;
  readonly client: WechatPayV2Client;
  /** Why submitRefund cannot work (no client certificate), if so; queries need none. */
  readonly #noCertificate: string | undefined;

  /**
   * The client certificate is not checked here: the app checks it where the credentials are loaded,
   * naming the secret's field, and the library checks it again at the first refund (a ConfigurationError
   * from submitRefund). Without one, queries still work and submitRefund throws ConfigurationError
   * (payments do not need it, so nothing else fails).
   */
  constructor(options: WechatPayV2RefundsOptions) {
    const { noCertificateMessage, ...clientOptions } = options;
    this.#noCertificate =
      clientOptions.clientCertificate === undefined ? (noCertificateMessage ?? NO_CERTIFICATE) : undefined;
    try {
      this.client = new WechatPayV2Client(clientOptions);
    } catch (error) {
      throw asCertificateTrouble(toDomainError(error));
    }
  }

  async submitRefund(submission: RefundSubmission): Promise<RefundReport> {
    if (this.#noCertificate !== undefined) throw new ConfigurationError(this.#noCertificate);
    const request = toV2RefundRequest(submission);
    try {
      const answer = await withRefundDomainErrors(() => this.client.refund(request));
      return acceptanceReport(answer, submission);
    } catch (error) {
      if (isCertificateRefusal(error))
        throw new ConfigurationError(`WeChat Pay refuses the API client certificate (${error.code})`, {
          cause: error,
        });
      throw asCertificateTrouble(error);
    }
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<RefundReport> {
    try {
      const answer = await withRefundDomainErrors(() => this.client.refundQuery({ out_refund_no: outRefundNo }));
      return queryAnswerToReport(answer, outRefundNo);
    } catch (error) {
      if (isWechatRefusal(error, REFUND_NOT_FOUND))
        return {
          outTradeNo,
          outRefundNo,
          status: 'NOT_FOUND',
          mchid: this.client.mchid,
          appid: this.client.appid,
          answerTo: 'query',
        };
      throw error;
    }
  }
}

/**
 * The library refusing the client certificate (swapped with its key, not a pair, a p12 it cannot
 * open) is the deployment's fault, not the caller's: a ConfigurationError, never a ValidationError
 * (a 400). The library's message names the fault, never a secret. Anything else passes unchanged.
 */
function asCertificateTrouble(error: unknown): unknown {
  const field = error instanceof ValidationError ? error.field : undefined;
  if (field === undefined || !(field === CLIENT_CERTIFICATE_FIELD || field.startsWith(`${CLIENT_CERTIFICATE_FIELD}.`)))
    return error;
  return new ConfigurationError((error as Error).message, { cause: error });
}

/**
 * WeChat turning our client certificate down: its err_code CERT_ERROR, or its front end refusing
 * the TLS handshake or answering nginx's HTML 400 (the library's CERT_REFUSED, unsigned, but nothing
 * else answers that way on /secapi/).
 */
function isCertificateRefusal(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError &&
    ((error.kind === 'business' && error.code === CERTIFICATE_REFUSED_ERR_CODE) || error.code === CERT_REFUSED)
  );
}
