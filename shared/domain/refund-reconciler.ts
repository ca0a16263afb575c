import type { Clock } from './ports';
import { intervalBefore } from './reconcile-schedule';
import { outOfTimeRetrySeconds } from './reconciler';
import type { Refund } from './refund';
import { refundCanStillChange } from './refund-lifecycle';
import type { RefundCheck, RefundCheckScheduler, RefundProvider, RefundStore } from './refund-ports';
import type { RefundReports } from './refund-reports';
import { isWorthRetrying, RefundSubmitter } from './refund-submitter';

export interface RefundReconcilerDeps {
  refunds: RefundStore;
  provider: RefundProvider;
  scheduler: RefundCheckScheduler;
  clock: Clock;
  reports: RefundReports;
  /** Where WeChat sends the result of a refund sent again: the notify URL's /notify/refund. */
  refundNotifyUrl: string;
  /** Seconds between a refund's checks (REFUND_CHECK_SCHEDULE); the last repeats. */
  refundCheckSchedule: readonly number[];
}

/** What one refund check did; for logs and tests. */
export type RefundCheckResult =
  'rescheduled-early' | 'stale' | 'final' | 'success' | 'closed' | 'checked-again' | 'retry-soon';

/**
 * Asks WeChat about refunds that are not final, until they are: a lost notification never leaves a
 * refund PROCESSING, and ABNORMAL is watched until WeChat settles it. A refund WeChat does not know
 * (its request never arrived) is sent again under its own out_refund_no. Every step is safe to
 * repeat: SQS may deliver a check twice, and the sweep may re-create one.
 */
export class RefundReconciler {
  private readonly submitter: RefundSubmitter;

  constructor(private readonly deps: RefundReconcilerDeps) {
    this.submitter = new RefundSubmitter(deps);
  }

  /**
   * Failures that may pass (timeouts, retryable WeChat codes) schedule the check again soon instead of
   * failing it; anything else is thrown, so the queue redelivers it (and the sweep re-creates it from
   * the refund's nextCheckAt if it ends in the dead-letter queue).
   */
  async check(check: RefundCheck): Promise<RefundCheckResult> {
    const { refunds, clock, scheduler } = this.deps;
    const now = clock.now();
    // SQS delays stop at 15 minutes; a longer wait arrives early and is sent round again.
    if (Date.parse(check.dueAt) > now.getTime() + 1000) {
      await scheduler.scheduleRefund(check);
      return 'rescheduled-early';
    }
    const refund = await refunds.getRefund(check.outTradeNo, check.outRefundNo);
    if (refund === undefined || !refundCanStillChange(refund.status)) return 'final';
    // Only the check the refund waits for runs, so a redelivered or re-created twin never forks the chain.
    if (refund.nextCheckAt !== check.dueAt) return 'stale';

    const attempt = check.attempt + 1;
    let current: Refund;
    try {
      current = (await this.submitter.resume(refund, 'reconcile')).refund;
    } catch (error) {
      if (!isWorthRetrying(error)) throw error;
      // Soon, but backing off with the attempts, so a WeChat that keeps failing costs a few calls an hour.
      const wait = Math.min(intervalBefore(this.deps.refundCheckSchedule, attempt), outOfTimeRetrySeconds(attempt));
      await this.scheduleNext(refund, attempt, new Date(now.getTime() + wait * 1000).toISOString());
      return 'retry-soon';
    }
    if (current.status === 'SUCCESS') return 'success';
    if (current.status === 'CLOSED') return 'closed';
    const wait = intervalBefore(this.deps.refundCheckSchedule, attempt);
    await this.scheduleNext(current, attempt, new Date(now.getTime() + wait * 1000).toISOString());
    return 'checked-again';
  }

  /** The refund carries its next check first, so a message lost after this is found by the sweep. */
  private async scheduleNext(refund: Refund, attempt: number, dueAt: string): Promise<void> {
    const { outTradeNo, outRefundNo } = refund;
    await this.deps.refunds.setRefundNextCheck(outTradeNo, outRefundNo, dueAt);
    await this.deps.scheduler.scheduleRefund({ outTradeNo, outRefundNo, attempt, dueAt });
  }
}
