import { isOutOfTime } from './errors';
import { canStillChange } from './lifecycle';
import type { Order } from './order';
import type { OrderCloser } from './order-closer';
import type { PaymentObserver } from './payment-observer';
import type { CheckScheduler, Clock, OrderStore, PaymentProvider, ReconcileCheck } from './ports';
import { intervalBefore, nextCheckAt } from './reconcile-schedule';
import type { TradeReports } from './trade-reports';

export interface ReconcilerDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  provider: PaymentProvider;
  clock: Clock;
  reports: TradeReports;
  closer: OrderCloser;
  observer: PaymentObserver;
  reconcileSchedule: readonly number[];
  /**
   * How often one order's check may be put back without completing (by the sweep, or after running out
   * of time here) before it is given up on: the sweep's bound (SWEEP_MAX_REQUEUES), on the same count.
   */
  maxRequeues: number;
}

/** What one check did; for logs and tests. */
export type CheckResult =
  | 'rescheduled-early'
  | 'stale'
  | 'final'
  | 'paid'
  | 'closed'
  | 'waiting-to-close'
  | 'paid-pending-query'
  | 'checked-again'
  | 'out-of-time'
  | 'checks-exhausted';

/**
 * How soon a check that ran out of its invocation's time is first asked again: long enough to land in
 * another invocation with its full time, short enough that a payment is not noticed much later.
 */
export const OUT_OF_TIME_RETRY_SECONDS = 10;
/** The longest wait between retries of a check that keeps running out of time: SQS's longest delay. */
export const OUT_OF_TIME_RETRY_MAX_SECONDS = 900;

/**
 * The wait before the `requeues`-th retry in a row of a check that did not complete: doubling from
 * OUT_OF_TIME_RETRY_SECONDS, so a WeChat that hangs costs a few invocations, not one every 10 s.
 */
export function outOfTimeRetrySeconds(requeues: number): number {
  const doublings = Math.max(0, Math.min(requeues - 1, 30));
  return Math.min(OUT_OF_TIME_RETRY_SECONDS * 2 ** doublings, OUT_OF_TIME_RETRY_MAX_SECONDS);
}

/**
 * Asks WeChat about orders whose notification may never come, and closes the ones that expire unpaid.
 * Every step is safe to repeat: SQS may deliver a check twice, and the sweep may re-create one.
 */
export class Reconciler {
  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Throws on transport errors and retryable WeChat errors, so the queue redelivers the check; a check
   * that ran out of the invocation's time is scheduled again instead ('out-of-time'), backing off, and
   * counted against the bound the sweep's re-enqueues are counted against ('checks-exhausted').
   */
  async check(check: ReconcileCheck): Promise<CheckResult> {
    const { store, clock } = this.deps;
    const now = clock.now();
    // SQS delays stop at 15 minutes; a longer wait arrives early and is sent round again.
    if (Date.parse(check.dueAt) > now.getTime() + 1000) {
      await this.deps.scheduler.schedule(check);
      return 'rescheduled-early';
    }
    const order = await store.get(check.outTradeNo);
    if (order === undefined || !canStillChange(order.status)) return 'final';
    // Only the check the order is waiting for runs; a superseded copy (SQS redelivery after a later
    // check was scheduled, or a twin re-created by the sweep) stops here, so chains never multiply.
    if (order.nextCheckAt !== check.dueAt) return 'stale';

    try {
      return await this.checkAtWechat(check, order, now);
    } catch (error) {
      if (!isOutOfTime(error)) throw error;
      return this.retryOutOfTime(check, order);
    }
  }

  /**
   * Not a failure the queue should count towards the dead-letter queue (this message is done), but no
   * completed check either: the order's count of put-backs grows (setNextCheck would clear it), the
   * wait doubles, and past the bound the order is given up on as the sweep gives up on one. Otherwise a
   * WeChat that hangs on one order would run a full invocation for it every 10 s, for ever.
   */
  private async retryOutOfTime(check: ReconcileCheck, order: Order): Promise<CheckResult> {
    const { store, clock, scheduler, observer, maxRequeues } = this.deps;
    const now = clock.now();
    const wait = outOfTimeRetrySeconds((order.requeues ?? 0) + 1);
    const dueAt = new Date(now.getTime() + wait * 1000).toISOString();
    const requeue = await store.requeueCheck(order.outTradeNo, dueAt, maxRequeues, now.toISOString());
    if (requeue.kind === 'exhausted') {
      observer.checksExhausted(order.outTradeNo, { requeues: requeue.requeues });
      return 'checks-exhausted';
    }
    // Settled or out of the index since it was read: nothing waits for this check any more.
    if (requeue.kind === 'not_due') return 'stale';
    // The same attempt: WeChat's answer never came, so the schedule does not move on.
    await scheduler.schedule({ outTradeNo: order.outTradeNo, attempt: check.attempt, dueAt });
    return 'out-of-time';
  }

  private async checkAtWechat(check: ReconcileCheck, order: Order, now: Date): Promise<CheckResult> {
    const { provider, reports, closer } = this.deps;
    const outcome = await reports.apply(await provider.query(order.outTradeNo), 'reconcile', { known: order });
    const current = outcome.order ?? order;
    if (current.status === 'PAID') return 'paid';
    if (current.status === 'CLOSED') return 'closed';
    // FAILED goes on like PENDING: the payer may try again until the order expires.

    if (now.getTime() >= Date.parse(current.request.expiresAt)) {
      const wait = closer.secondsUntilClosable(current);
      if (wait > 0) {
        await this.scheduleNext(
          current.outTradeNo,
          check.attempt + 1,
          new Date(now.getTime() + wait * 1000).toISOString(),
        );
        return 'waiting-to-close';
      }
      const closed = await closer.closeAtWeChatAndHere(current, 'reconcile');
      if (closed.status === 'PAID') return 'paid';
      if (closed.status === 'CLOSED') return 'closed';
      // WeChat refused the close because the order is paid, but its query does not show the payment
      // yet (or shows one we refused, which is alarmed): ask again, backing off, rather than close.
      const attempt = check.attempt + 1;
      const later = new Date(now.getTime() + intervalBefore(this.deps.reconcileSchedule, attempt) * 1000).toISOString();
      await this.scheduleNext(current.outTradeNo, attempt, later);
      return 'paid-pending-query';
    }

    const attempt = check.attempt + 1;
    await this.scheduleNext(
      current.outTradeNo,
      attempt,
      nextCheckAt(this.deps.reconcileSchedule, attempt, now, current.request.expiresAt),
    );
    return 'checked-again';
  }

  private async scheduleNext(outTradeNo: string, attempt: number, dueAt: string): Promise<void> {
    await this.deps.store.setNextCheck(outTradeNo, dueAt);
    await this.deps.scheduler.schedule({ outTradeNo, attempt, dueAt });
  }
}
