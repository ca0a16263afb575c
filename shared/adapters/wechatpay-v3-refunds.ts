import { isWechatRefusal, ProviderError } from '../domain/errors';
import { REFUND_STATUSES, type RefundReport, type RefundStatus } from '../domain/refund';
import type { RefundProvider, RefundSubmission } from '../domain/refund-ports';
import type { V3Refund, V3RefundInput, WechatPayV3Client } from '../wechatpay/v3/client';
import { withRefundDomainErrors } from './wechatpay-errors';

/**
 * RefundProvider over WeChat Pay APIv3: POST /v3/refund/domestic/refunds and
 * GET /v3/refund/domestic/refunds/{out_refund_no}. No client certificate: v3 requests are signed.
 */

/** The code of a query WeChat answers for a refund it does not know. */
const REFUND_NOT_FOUND = 'RESOURCE_NOT_EXISTS';

/**
 * What v3 says of one refund, whether as an answer (`status`) or in a notification (`refund_status`:
 * the same word under another name, the field peer SDKs lose): the caller passes it as `status`.
 */
export interface V3RefundFacts {
  out_trade_no: string;
  out_refund_no: string;
  refund_id?: string;
  /** WeChat's number for the payment refunded: the domain matches it against the order's. */
  transaction_id?: string;
  status: string;
  success_time?: string;
  user_received_account?: string;
  amount?: { total?: number; refund?: number; currency?: string };
  /**
   * When WeChat accepted the refund (RFC 3339): in every create and query answer. A notification's
   * resource has none, and its envelope's create_time is the notification's, not the refund's.
   */
  create_time?: string;
}

function isRefundStatus(status: string): status is RefundStatus {
  return (REFUND_STATUSES as readonly string[]).includes(status);
}

/**
 * The report of one refund as v3 states it (its words are the domain's: SUCCESS, CLOSED, PROCESSING,
 * ABNORMAL; success_time already RFC 3339); a string naming what cannot be read otherwise.
 * `mchid` is the notification's, or ours for an answer to our own signed request (answers carry none).
 */
export function v3RefundReport(facts: V3RefundFacts, mchid: string): RefundReport | string {
  if (!isRefundStatus(facts.status)) return `unknown refund status ${facts.status}`;
  const currency = facts.amount?.currency;
  if (currency !== undefined && currency !== 'CNY') return `the refund is in ${currency}`;
  const report: RefundReport = {
    outTradeNo: facts.out_trade_no,
    outRefundNo: facts.out_refund_no,
    status: facts.status,
    mchid,
  };
  if (facts.refund_id !== undefined && facts.refund_id !== '') report.refundId = facts.refund_id;
  if (facts.transaction_id !== undefined && facts.transaction_id !== '') report.transactionId = facts.transaction_id;
  if (facts.amount?.refund !== undefined && facts.amount.total !== undefined)
    report.amount = { refund: facts.amount.refund, total: facts.amount.total };
  if (facts.success_time !== undefined && facts.success_time !== '') report.successTime = facts.success_time;
  if (facts.user_received_account !== undefined && facts.user_received_account !== '')
    report.userReceivedAccount = facts.user_received_account;
  // Kept as WeChat wrote it: the domain reads the instant, and falls back when it names none.
  if (facts.create_time !== undefined && facts.create_time !== '') report.acceptedAt = facts.create_time;
  return report;
}

/** Our submission as the v3 create-refund input (fen; total is what the order was paid). */
export function toV3RefundInput(submission: RefundSubmission): V3RefundInput {
  const input: V3RefundInput = {
    outTradeNo: submission.outTradeNo,
    outRefundNo: submission.outRefundNo,
    notifyUrl: submission.notifyUrl,
    amount: { refund: submission.refund, total: submission.total, currency: submission.currency },
  };
  if (submission.reason !== undefined) input.reason = submission.reason;
  return input;
}

/** A create or query answer as a report; WeChat signed it, so what cannot be read is final. */
export function refundAnswerToReport(answer: V3Refund, mchid: string, answerTo: 'submit' | 'query'): RefundReport {
  const report = v3RefundReport(answer, mchid);
  if (typeof report === 'string')
    throw new ProviderError('INVALID_RESPONSE', `refund answer: ${report}`, { retryable: false, kind: 'business' });
  return { ...report, answerTo };
}

export class WechatPayV3Refunds implements RefundProvider {
  readonly apiVersion = 'v3' as const;

  constructor(readonly client: WechatPayV3Client) {}

  async submitRefund(submission: RefundSubmission): Promise<RefundReport> {
    const input = toV3RefundInput(submission);
    const answer = await withRefundDomainErrors(() => this.client.createRefund(input));
    return refundAnswerToReport(answer, this.client.mchid, 'submit');
  }

  async queryRefund(outTradeNo: string, outRefundNo: string): Promise<RefundReport> {
    let answer: V3Refund;
    try {
      answer = await withRefundDomainErrors(() => this.client.queryRefund(outRefundNo));
    } catch (error) {
      if (isWechatRefusal(error, REFUND_NOT_FOUND))
        return { outTradeNo, outRefundNo, status: 'NOT_FOUND', mchid: this.client.mchid, answerTo: 'query' };
      throw error;
    }
    return refundAnswerToReport(answer, this.client.mchid, 'query');
  }
}
