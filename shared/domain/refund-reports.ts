import type { Source } from './order';
import type { PaymentObserver } from './payment-observer';
import { rfc3339Instant } from './payment-time';
import type { Clock, Merchant, NotificationRecord } from './ports';
import type { Refund, RefundFailure, RefundReport, RefundStatus } from './refund';
import { refundCanStillChange } from './refund-lifecycle';
import type { RefundStore } from './refund-ports';

/** Why a report from WeChat about a refund was not applied (observer.refundRejected's reason). */
export type RefundRejectionReason =
  | 'FOREIGN_MERCHANT'
  | 'UNKNOWN_REFUND'
  /** The report names another order or out_refund_no than the refund it answers. */
  | 'TRADE_MISMATCH'
  | 'AMOUNT_MISMATCH'
  /** A notification without amounts: nothing to match it against (v2's carry no signature). */
  | 'MISSING_AMOUNT'
  | 'REFUND_ID_MISMATCH'
  /** The report names another payment (transaction_id) than the one the refund was made from. */
  | 'TRANSACTION_MISMATCH'
  /** WeChat says it does not know a refund it accepted: it is not sent again, and is asked about later. */
  | 'NOT_FOUND_AFTER_ACCEPTANCE'
  /** WeChat refused a request for a refund it had accepted under the same out_refund_no: not closed. */
  | 'REFUSED_AFTER_ACCEPTANCE';

/**
 * What applying WeChat's word about a refund did.
 * - applied: this call moved the refund to the reported status (the notification, if any, stored with it).
 * - accepted: WeChat's acceptance (PROCESSING) was recorded; no status change.
 * - duplicate: nothing new (already in that status, or accepted already).
 * - conflict: the refund is settled in another status; kept as it is.
 * - unchanged: WeChat does not know the refund (NOT_FOUND), which it never accepted: nothing to apply.
 * - rejected: refused (see RefundRejectionReason); nothing changed; reported to the observer.
 */
export type RefundApplyOutcome =
  | { kind: 'applied' | 'accepted' | 'duplicate' | 'conflict' | 'unchanged'; refund: Refund }
  | { kind: 'rejected'; reason: RefundRejectionReason; refund?: Refund };

export interface RefundReportsDeps {
  refunds: RefundStore;
  clock: Clock;
  merchant: Merchant;
  observer: PaymentObserver;
}

/**
 * The one path by which WeChat's word about a refund (an answer to create or query, or a
 * notification) changes it: checked field by field against the stored refund (a v2 notification has
 * no signature, so matching is its proof), then one conditional write, whose condition repeats the
 * amount check, so concurrent duplicates end in exactly one change.
 */
export class RefundReports {
  constructor(private readonly deps: RefundReportsDeps) {}

  /**
   * `expected`: the refund the caller asked WeChat about, as it just read it (the report must be about
   * it; spares a read). `notification` is stored by the same write as the change, if there is one.
   */
  async apply(
    report: RefundReport,
    source: Source,
    notification?: NotificationRecord,
    expected?: Refund,
  ): Promise<RefundApplyOutcome> {
    const { merchant, refunds } = this.deps;
    if (report.mchid !== merchant.mchid || (report.appid !== undefined && report.appid !== merchant.appid)) {
      return this.reject('FOREIGN_MERCHANT', report, source);
    }
    if (expected && (expected.outTradeNo !== report.outTradeNo || expected.outRefundNo !== report.outRefundNo)) {
      return this.reject('TRADE_MISMATCH', report, source, expected);
    }
    const refund = expected ?? (await refunds.getRefund(report.outTradeNo, report.outRefundNo));
    if (refund === undefined) return this.reject('UNKNOWN_REFUND', report, source);
    if (report.status === 'NOT_FOUND') {
      if (refund.acceptedAt === undefined) return { kind: 'unchanged', refund };
      return this.reject('NOT_FOUND_AFTER_ACCEPTANCE', report, source, refund);
    }
    const mismatch = this.mismatch(report, refund, source);
    if (mismatch !== undefined) return this.reject(mismatch, report, source, refund);
    if (report.status === 'PROCESSING') return this.accept(report, refund);
    return this.transition(report, report.status, refund, source, notification);
  }

  /** What in the report contradicts the stored refund. */
  private mismatch(report: RefundReport, refund: Refund, source: Source): RefundRejectionReason | undefined {
    if (
      report.transactionId !== undefined &&
      refund.transactionId !== undefined &&
      report.transactionId !== refund.transactionId
    ) {
      return 'TRANSACTION_MISMATCH';
    }
    if (report.amount === undefined) return source === 'notify' ? 'MISSING_AMOUNT' : undefined;
    if (report.amount.refund !== refund.amount.refund || report.amount.total !== refund.amount.total) {
      return 'AMOUNT_MISMATCH';
    }
    if (report.refundId !== undefined && refund.refundId !== undefined && report.refundId !== refund.refundId) {
      return 'REFUND_ID_MISMATCH';
    }
    return undefined;
  }

  /** WeChat has the refund and is working on it: when it took it, and its refund_id. */
  private async accept(report: RefundReport, refund: Refund): Promise<RefundApplyOutcome> {
    if (!refundCanStillChange(refund.status)) return { kind: 'conflict', refund };
    const newId = report.refundId !== undefined && refund.refundId === undefined;
    if (refund.acceptedAt !== undefined && !newId) return { kind: 'duplicate', refund };
    const accepted = await this.deps.refunds.recordAcceptance(refund.outTradeNo, refund.outRefundNo, {
      acceptedAt: this.acceptedAt(report, refund),
      ...(report.refundId === undefined ? {} : { refundId: report.refundId }),
    });
    // Settled since it was read: what is stored now is the answer.
    if (accepted === undefined) {
      const current = await this.deps.refunds.getRefund(refund.outTradeNo, refund.outRefundNo);
      return { kind: 'conflict', refund: current ?? refund };
    }
    return { kind: 'accepted', refund: accepted };
  }

  /**
   * When WeChat accepted the refund, which files it under its bill's day (the settled index): WeChat's
   * own time when the report carries it; else our clock, if this is our submission's answer (WeChat
   * accepted it just now); else, for a query's answer (a lost submission's answer heard at 00:01 for a
   * request WeChat took at 23:59:58), when the refund was created here, which the request followed.
   */
  private acceptedAt(report: RefundReport, refund: Refund): string {
    const wechats = report.acceptedAt === undefined ? undefined : rfc3339Instant(report.acceptedAt);
    if (wechats !== undefined) return wechats.toISOString();
    if (report.answerTo === 'query') return refund.createdAt;
    return this.deps.clock.now().toISOString();
  }

  private async transition(
    report: RefundReport,
    to: RefundStatus,
    refund: Refund,
    source: Source,
    notification: NotificationRecord | undefined,
  ): Promise<RefundApplyOutcome> {
    const { refunds, observer, clock } = this.deps;
    const result = await refunds.transitionRefund({
      outTradeNo: refund.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to,
      at: clock.now().toISOString(),
      source,
      ...(report.refundId === undefined ? {} : { refundId: report.refundId }),
      ...(report.successTime === undefined ? {} : { successTime: report.successTime }),
      ...(report.userReceivedAccount === undefined ? {} : { userReceivedAccount: report.userReceivedAccount }),
      ...(report.amount === undefined ? {} : { expectAmount: report.amount }),
      ...(notification === undefined ? {} : { notification }),
    });
    switch (result.kind) {
      case 'applied':
        if (to === 'ABNORMAL') observer.refundAbnormal(refund.outTradeNo, refund.outRefundNo);
        return { kind: 'applied', refund: result.refund };
      case 'already':
        return { kind: 'duplicate', refund: result.refund };
      case 'conflict':
        // SUCCESS here and CLOSED at WeChat (or the reverse) is money the two sides disagree on. A
        // late ABNORMAL after the final word is only a notification overtaken, and not reported.
        if (!refundCanStillChange(to)) {
          observer.refundRejected('STATUS_CONFLICT', {
            outTradeNo: refund.outTradeNo,
            outRefundNo: refund.outRefundNo,
            source,
          });
        }
        return { kind: 'conflict', refund: result.refund };
      case 'amount_mismatch':
        return this.reject('AMOUNT_MISMATCH', report, source, result.refund);
      case 'not_found':
        return this.reject('UNKNOWN_REFUND', report, source);
    }
  }

  /**
   * WeChat's final refusal of a request for the refund: CLOSED with its reason, which releases the
   * amount the refund held. Only a refund WeChat never accepted is closed (the write's condition): one
   * it accepted may be paying out, whatever a later request for the same out_refund_no was told.
   */
  async refused(refund: Refund, failure: RefundFailure, source: Source): Promise<RefundApplyOutcome> {
    const report = { outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo };
    if (refund.acceptedAt !== undefined) return this.reject('REFUSED_AFTER_ACCEPTANCE', report, source, refund);
    const result = await this.deps.refunds.transitionRefund({
      outTradeNo: refund.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'CLOSED',
      at: this.deps.clock.now().toISOString(),
      source,
      note: `refused by WeChat: ${failure.code}`,
      failure,
      expectUnaccepted: true,
    });
    switch (result.kind) {
      case 'applied':
        return { kind: 'applied', refund: result.refund };
      case 'already':
        return { kind: 'duplicate', refund: result.refund };
      case 'conflict':
        if (result.refund.acceptedAt !== undefined) {
          return this.reject('REFUSED_AFTER_ACCEPTANCE', report, source, result.refund);
        }
        return { kind: 'conflict', refund: result.refund };
      case 'amount_mismatch':
        return { kind: 'conflict', refund: result.refund };
      case 'not_found':
        return this.reject('UNKNOWN_REFUND', report, source);
    }
  }

  private reject(
    reason: RefundRejectionReason,
    report: Pick<RefundReport, 'outTradeNo' | 'outRefundNo'>,
    source: Source,
    refund?: Refund,
  ): RefundApplyOutcome {
    this.deps.observer.refundRejected(reason, {
      outTradeNo: report.outTradeNo,
      outRefundNo: report.outRefundNo,
      source,
    });
    return refund ? { kind: 'rejected', reason, refund } : { kind: 'rejected', reason };
  }
}
