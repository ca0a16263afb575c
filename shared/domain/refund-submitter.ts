import { isOutOfTime, OUT_OF_TIME, ProviderError } from './errors';
import type { Source } from './order';
import type { Refund, RefundReport } from './refund';
import type { RefundProvider, RefundSubmission } from './refund-ports';
import type { RefundReports } from './refund-reports';

/** Our own codes for a WeChat answer we could not read: no word from WeChat on the refund itself. */
const UNREAD_ANSWER_CODES: ReadonlySet<string> = new Set(['INVALID_RESPONSE', 'UNSUPPORTED_CURRENCY']);

/**
 * WeChat's final refusal of a refund request (REFUND_FEE_MISMATCH, INVALID_REQUEST, ERROR,
 * TRADE_OVERDUE, …): signed by WeChat (kind business), not worth sending again, and WeChat's verdict
 * on the request rather than an answer we failed to read or did not wait for.
 */
export function isFinalRefusal(error: unknown): error is ProviderError {
  return (
    error instanceof ProviderError &&
    error.kind === 'business' &&
    !error.retryable &&
    error.code !== OUT_OF_TIME &&
    !UNREAD_ANSWER_CODES.has(error.code)
  );
}

/** Whether the same call later may get an answer: a retryable failure, or one cut short by the deadline. */
export function isWorthRetrying(error: unknown): error is ProviderError {
  return error instanceof ProviderError && (error.retryable || isOutOfTime(error));
}

export interface RefundSubmitterDeps {
  provider: RefundProvider;
  reports: RefundReports;
  /** Where WeChat sends the result: the notify URL's /notify/refund. */
  refundNotifyUrl: string;
}

/**
 * What sending a refund came to: WeChat's answer applied, or its final refusal (the refund CLOSED by
 * it). A refusal that closed nothing (WeChat had taken the refund after all) is no refusal here.
 */
export type SubmitResult = { refund: Refund; refusal?: undefined } | { refund: Refund; refusal: ProviderError };

/**
 * Sends a stored refund to WeChat, always under its own out_refund_no (so a retry can never refund
 * twice), and applies the answer. Failures that say nothing final (timeouts, retryable codes) are
 * thrown and leave the refund PROCESSING and unaccepted, for the reconciler.
 */
export class RefundSubmitter {
  constructor(private readonly deps: RefundSubmitterDeps) {}

  /** The first sending of a refund just stored: no earlier request can have reached WeChat. */
  async submit(refund: Refund, source: Source): Promise<SubmitResult> {
    let report;
    try {
      report = await this.deps.provider.submitRefund(submissionOf(refund, this.deps.refundNotifyUrl));
    } catch (error) {
      if (isFinalRefusal(error)) return this.close(refund, error, source);
      throw error;
    }
    return this.applied(report, refund, source);
  }

  /**
   * A refund that may or may not have reached WeChat (its answer never came): WeChat is asked first,
   * and only a refund WeChat does not know, and that it never accepted, is sent again. A refund with
   * acceptedAt is never sent again nor closed on a NOT_FOUND (RefundReports refuses that answer): WeChat
   * has it, and the reconciler keeps asking.
   */
  async resume(refund: Refund, source: Source): Promise<SubmitResult> {
    const report = await this.deps.provider.queryRefund(refund.outTradeNo, refund.outRefundNo);
    const outcome = await this.deps.reports.apply(report, source, undefined, refund);
    if (outcome.kind !== 'unchanged') return { refund: outcome.refund ?? refund };
    return this.resend(refund, source);
  }

  /**
   * Sends again a refund WeChat said it did not know. That answer may be stale: the first request (or
   * a concurrent resend) may have reached WeChat since, and a refusal of this one (the order now fully
   * refunded, say) says nothing about that one. So WeChat is asked once more, and the refund closed
   * only if WeChat still does not know it; the close itself is refused if it was accepted meanwhile.
   */
  private async resend(refund: Refund, source: Source): Promise<SubmitResult> {
    let report;
    try {
      report = await this.deps.provider.submitRefund(submissionOf(refund, this.deps.refundNotifyUrl));
    } catch (error) {
      if (!isFinalRefusal(error)) throw error;
      const again = await this.deps.provider.queryRefund(refund.outTradeNo, refund.outRefundNo);
      const outcome = await this.deps.reports.apply(again, source, undefined, refund);
      if (outcome.kind !== 'unchanged') return { refund: outcome.refund ?? refund };
      return this.close(refund, error, source);
    }
    return this.applied(report, refund, source);
  }

  private async applied(report: RefundReport, refund: Refund, source: Source): Promise<SubmitResult> {
    const outcome = await this.deps.reports.apply(report, source, undefined, refund);
    return { refund: outcome.refund ?? refund };
  }

  /** WeChat refused outright: CLOSED with its reason, which releases the amount the refund held. */
  private async close(refund: Refund, refusal: ProviderError, source: Source): Promise<SubmitResult> {
    const outcome = await this.deps.reports.refused(refund, { code: refusal.code, message: refusal.message }, source);
    if (outcome.kind === 'applied' || outcome.kind === 'duplicate') return { refund: outcome.refund, refusal };
    return { refund: outcome.refund ?? refund };
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
