import { isOutOfTime } from './errors';
import { canStillChange } from './lifecycle';
import type { Order } from './order';
import type { OrderCloser } from './order-closer';
import type { PaymentObserver } from './payment-observer';
import type { CheckScheduler, Clock, OrderStore, PaymentProvider, ReconcileCheck } from './ports';
import { intervalBefore, nextCheckAt, watchBound } from './reconcile-schedule';
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
   *
   * The order's nextCheckAt is the chain's watch bound, not its next check: a check that learns nothing
   * and whose successor is due by the bound writes nothing, and passes the bound on in its message.
   */
  async check(check: ReconcileCheck): Promise<CheckResult> {
    const { store, clock } = this.deps;
    const now = clock.now();
    // SQS delays stop at 15 minutes; a longer wait arrives early and is sent round again, bound and all.
    if (Date.parse(check.dueAt) > now.getTime() + 1000) {
      await this.deps.scheduler.schedule(check);
      return 'rescheduled-early';
    }
    const order = await store.get(check.outTradeNo);
    if (order === undefined || !canStillChange(order.status)) return 'final';
    // Only a check of the chain that holds the order's bound runs: one the sweep re-enqueued or a retry
    // put back (each writes a bound of its own), or one that moved the bound on, leaves every older copy
    // stale, so twin chains end at their next check.
    if (order.nextCheckAt !== boundOf(check)) return 'stale';

    try {
      return await this.checkAtWechat(check, order, now);
    } catch (error) {
      if (!isOutOfTime(error)) throw error;
      return this.retryOutOfTime(check, order);
    }
  }

  /**
   * Not a failure the queue should count towards the dead-letter queue (this message is done), but no
   * completed check either: the order's count of put-backs grows (extendWatch would clear it), the
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
    // The same attempt: WeChat's answer never came, so the schedule does not move on. The put-back
    // wrote its due time as the bound, so the retry's completion is what moves it on (and clears the count).
    await scheduler.schedule({ outTradeNo: order.outTradeNo, attempt: check.attempt, dueAt, bound: dueAt });
    return 'out-of-time';
  }

  private async checkAtWechat(check: ReconcileCheck, order: Order, now: Date): Promise<CheckResult> {
    const { provider, reports, closer, reconcileSchedule } = this.deps;
    const outcome = await reports.apply(await provider.query(order.outTradeNo), 'reconcile', { known: order });
    const current = outcome.order ?? order;
    if (current.status === 'PAID') return 'paid';
    if (current.status === 'CLOSED') return 'closed';
    // FAILED goes on like PENDING: the payer may try again until the order expires.

    if (now.getTime() >= Date.parse(current.request.expiresAt)) {
      const wait = closer.secondsUntilClosable(current);
      if (wait > 0) {
        const dueAt = new Date(now.getTime() + wait * 1000).toISOString();
        return this.scheduleNext(check, { attempt: check.attempt + 1, dueAt, extendTo: dueAt }, 'waiting-to-close');
      }
      const closed = await closer.closeAtWeChatAndHere(current, 'reconcile');
      if (closed.status === 'PAID') return 'paid';
      if (closed.status === 'CLOSED') return 'closed';
      // WeChat refused the close because the order is paid, but its query does not show the payment
      // yet (or shows one we refused, which is alarmed): ask again, backing off, rather than close.
      const attempt = check.attempt + 1;
      const dueAt = new Date(now.getTime() + intervalBefore(reconcileSchedule, attempt) * 1000).toISOString();
      return this.scheduleNext(check, { attempt, dueAt, extendTo: dueAt }, 'paid-pending-query');
    }

    const attempt = check.attempt + 1;
    const { expiresAt } = current.request;
    const dueAt = nextCheckAt(reconcileSchedule, attempt, now, expiresAt);
    const extendTo = watchBound(reconcileSchedule, attempt, dueAt, now, expiresAt);
    return this.scheduleNext(check, { attempt, dueAt, extendTo }, 'checked-again');
  }

  /**
   * Schedules the chain's next check. Due by the chain's bound, it writes nothing: the order's
   * nextCheckAt already tells the sweep when to look. Due later, it first moves the bound on to
   * `extendTo`, conditional on the bound being this chain's still; refused, another chain owns the
   * order now, and this one ends ('stale').
   */
  private async scheduleNext(
    check: ReconcileCheck,
    next: { attempt: number; dueAt: string; extendTo: string },
    result: CheckResult,
  ): Promise<CheckResult> {
    const held = boundOf(check);
    const moves = Date.parse(next.dueAt) > Date.parse(held);
    if (moves) {
      const extension = await this.deps.store.extendWatch(check.outTradeNo, held, next.extendTo);
      if (extension.kind === 'superseded') return 'stale';
    }
    const bound = moves ? next.extendTo : held;
    try {
      await this.deps.scheduler.schedule({
        outTradeNo: check.outTradeNo,
        attempt: next.attempt,
        dueAt: next.dueAt,
        bound,
      });
    } catch (error) {
      // The queue redelivers this check with the bound it came with: give the order that bound back, or
      // the redelivery would be stale and the chain lost until the sweep finds the new bound passed.
      if (moves) {
        await this.deps.store.extendWatch(check.outTradeNo, bound, held).catch((cause: unknown) => {
          this.deps.observer.recovered('bound not given back after a failed send; the sweep finds it passed', {
            outTradeNo: check.outTradeNo,
            error: cause,
          });
        });
      }
      throw error;
    }
    return result;
  }

  /**
   * For a check whose last receive failed: the queue gives it to the dead-letter queue next, and the
   * sweep looks for the order only once its bound has passed, hours away. Put back now (counted, as the
   * sweep counts its re-enqueues, so a check that always fails is still given up on), the order is
   * re-enqueued by the sweep's first run after the grace.
   */
  async handOverToSweep(check: ReconcileCheck): Promise<void> {
    const { store, clock, observer, maxRequeues } = this.deps;
    const now = clock.now().toISOString();
    const requeue = await store.requeueCheck(check.outTradeNo, now, maxRequeues, now);
    if (requeue.kind === 'exhausted') observer.checksExhausted(check.outTradeNo, { requeues: requeue.requeues });
  }
}

/** A message sent before bounds carries none: its due time is what the order's nextCheckAt held then. */
function boundOf(check: ReconcileCheck): string {
  return check.bound ?? check.dueAt;
}
