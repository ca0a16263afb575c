import { isOutOfTime, ProviderError } from './errors';
import type { Source } from './order';
import type { Clock } from './ports';
import type { Refund } from './refund';
import type { RefundProvider, RefundStore, RefundSubmission } from './refund-ports';
import type { RefundReports } from './refund-reports';

/** Our own codes for a WeChat answer we could not read: no word from WeChat on the refund itself. */
const UNREAD_ANSWER_CODES: ReadonlySet<string> = new Set(['INVALID_RESPONSE', 'UNSUPPORTED_CURRENCY']);

/**
 * WeChat's final refusal of a refund request (REFUND_FEE_MISMATCH, INVALID_REQUEST, ERROR,
 * TRADE_OVERDUE, …): signed by WeChat (kind business), not worth sending again, and WeChat's verdict
 * on the request rather than an answer we failed to read.
 */
export function isFinalRefusal(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError &&
    error.kind === 'business' &&
    !error.retryable &&
    !UNREAD_ANSWER_CODES.has(error.code)
  );
}

/** Whether the same call later may get an answer: a retryable failure, or one cut short by the deadline. */
export function isWorthRetrying(error: unknown): error is ProviderError {
  return error instanceof ProviderError && (error.retryable || isOutOfTime(error));
}

export interface RefundSubmitterDeps {
  refunds: RefundStore;
  provider: RefundProvider;
  clock: Clock;
  reports: RefundReports;
  /** Where WeChat sends the result: the notify URL's /notify/refund. */
  refundNotifyUrl: string;
}

/** What sending a refund came to: WeChat's answer applied, or its final refusal (the refund CLOSED). */
export type SubmitResult = { refund: Refund; refusal?: undefined } | { refund: Refund; refusal: ProviderError };

/**
 * Sends a stored refund to WeChat, always under its own out_refund_no (so a retry can never refund
 * twice), and applies the answer. Failures that say nothing final (timeouts, retryable codes) are
 * thrown and leave the refund PROCESSING and unaccepted, for the reconciler.
 */
export class RefundSubmitter {
  constructor(private readonly deps: RefundSubmitterDeps) {}

  async submit(refund: Refund, source: Source): Promise<SubmitResult> {
    const { provider, reports } = this.deps;
    let report;
    try {
      report = await provider.submitRefund(submissionOf(refund, this.deps.refundNotifyUrl));
    } catch (error) {
      if (isFinalRefusal(error)) return { refund: await this.close(refund, error, source), refusal: error };
      throw error;
    }
    const outcome = await reports.apply(report, source, undefined, refund);
    return { refund: outcome.refund ?? refund };
  }

  /**
   * A refund that may or may not have reached WeChat (its answer never came): WeChat is asked first,
   * and only a refund WeChat does not know is sent again. A resent request that WeChat had taken
   * could be refused (the order meanwhile fully refunded, say), and closing the refund on that
   * would release money that is on its way to the payer.
   */
  async resume(refund: Refund, source: Source): Promise<SubmitResult> {
    const report = await this.deps.provider.queryRefund(refund.outTradeNo, refund.outRefundNo);
    if (report.status === 'NOT_FOUND') return this.submit(refund, source);
    const outcome = await this.deps.reports.apply(report, source, undefined, refund);
    return { refund: outcome.refund ?? refund };
  }

  /** WeChat refused outright: CLOSED with its reason, which releases the amount the refund held. */
  private async close(refund: Refund, refusal: ProviderError, source: Source): Promise<Refund> {
    const result = await this.deps.refunds.transitionRefund({
      outTradeNo: refund.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'CLOSED',
      at: this.deps.clock.now().toISOString(),
      source,
      note: `refused by WeChat: ${refusal.code}`,
      failure: { code: refusal.code, message: refusal.message },
    });
    return result.kind === 'not_found' ? refund : result.refund;
  }
}

export function submissionOf(refund: Refund, notifyUrl: string): RefundSubmission {
  return {
    outTradeNo: refund.outTradeNo,
    outRefundNo: refund.outRefundNo,
    refund: refund.amount.refund,
    total: refund.amount.total,
    currency: refund.amount.currency,
    ...(refund.reason === undefined ? {} : { reason: refund.reason }),
    notifyUrl,
  };
}
