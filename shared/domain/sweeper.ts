import { canStillChange } from './lifecycle';
import type { PaymentObserver } from './payment-observer';
import type { CheckScheduler, Clock, OrderStore } from './ports';
import { attemptForAge } from './reconcile-schedule';
import { refundCanStillChange } from './refund-lifecycle';
import type { RefundCheckScheduler, RefundStore } from './refund-ports';

/** What the sweep needs to re-enqueue refund checks too. */
export interface RefundSweepDeps {
  store: RefundStore;
  scheduler: RefundCheckScheduler;
  /** Seconds between a refund's checks (REFUND_CHECK_SCHEDULE); the last repeats. */
  checkSchedule: readonly number[];
}

export interface SweeperDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  clock: Clock;
  observer: PaymentObserver;
  reconcileSchedule: readonly number[];
  /**
   * Only orders whose watch bound passed this long ago are re-enqueued, so a chain that is late in
   * moving it on (or settling the order) is not doubled.
   */
  graceSeconds: number;
  /**
   * How often one order's check is re-enqueued without a check completing in between before the sweep
   * gives up on it: a check that always fails would otherwise go round queue, DLQ and sweep for ever.
   */
  maxRequeues: number;
  /** Refunds whose checks are overdue are re-enqueued too; without it, only orders are swept. */
  refunds?: RefundSweepDeps;
}

/**
 * Finds open orders and refunds whose check is overdue (its message was lost, or the queue was
 * emptied) and re-enqueues them. Needs no WeChat credentials: the reconciler does the asking.
 */
export class Sweeper {
  constructor(private readonly deps: SweeperDeps) {}

  /** Returns how many checks it re-enqueued: up to `limit` of orders, and as many of refunds. */
  async sweep(limit = 100): Promise<number> {
    return (await this.sweepOrders(limit)) + (await this.sweepRefunds(limit));
  }

  private async sweepOrders(limit: number): Promise<number> {
    const { store, clock, scheduler, observer, reconcileSchedule, graceSeconds, maxRequeues } = this.deps;
    const now = clock.now();
    const cutoff = new Date(now.getTime() - graceSeconds * 1000).toISOString();
    let enqueued = 0;
    const dueAt = now.toISOString();
    for (const { outTradeNo } of await store.findDue(cutoff, limit)) {
      const order = await store.get(outTradeNo);
      if (order === undefined || !canStillChange(order.status)) continue;
      // The re-enqueued check's due time becomes the watch bound, which its message carries: any late
      // check of the old chain is stale from now on (one chain goes on, not two), and the order goes
      // behind the others overdue, so orders whose checks keep failing cannot hold the head of the index
      // while others wait. The same write counts the re-enqueue against SWEEP_MAX_REQUEUES; the check,
      // once it completes, moves the bound on and clears the count.
      const requeue = await store.requeueCheck(outTradeNo, dueAt, maxRequeues);
      if (requeue.kind === 'exhausted') observer.checksExhausted(outTradeNo, { requeues: requeue.requeues });
      if (requeue.kind !== 'requeued') continue;
      const ageSeconds = (now.getTime() - Date.parse(order.createdAt)) / 1000;
      const attempt = attemptForAge(reconcileSchedule, ageSeconds);
      await scheduler.schedule({ outTradeNo, attempt, dueAt, bound: dueAt });
      enqueued += 1;
    }
    return enqueued;
  }

  /**
   * Refund checks are never given up on (a refund not final holds the payer's money), so there is no
   * bound here: a refund whose checks keep failing comes round once per sweep.
   */
  private async sweepRefunds(limit: number): Promise<number> {
    const refunds = this.deps.refunds;
    if (refunds === undefined) return 0;
    const now = this.deps.clock.now();
    const cutoff = new Date(now.getTime() - this.deps.graceSeconds * 1000).toISOString();
    const dueAt = now.toISOString();
    let enqueued = 0;
    for (const { outTradeNo, outRefundNo } of await refunds.store.findDueRefunds(cutoff, limit)) {
      const refund = await refunds.store.getRefund(outTradeNo, outRefundNo);
      if (refund === undefined || !refundCanStillChange(refund.status)) continue;
      // As for orders: a fresh due time makes any late copy of the old check stale, and puts the
      // refund behind the others overdue.
      await refunds.store.setRefundNextCheck(outTradeNo, outRefundNo, dueAt);
      const ageSeconds = (now.getTime() - Date.parse(refund.createdAt)) / 1000;
      await refunds.scheduler.scheduleRefund({
        outTradeNo,
        outRefundNo,
        attempt: attemptForAge(refunds.checkSchedule, ageSeconds),
        dueAt,
      });
      enqueued += 1;
    }
    return enqueued;
  }
}
