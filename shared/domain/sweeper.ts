import { canStillChange } from './lifecycle';
import type { PaymentObserver } from './payment-observer';
import type { CheckScheduler, Clock, OrderStore } from './ports';
import { attemptForAge } from './reconcile-schedule';

export interface SweeperDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  clock: Clock;
  observer: PaymentObserver;
  reconcileSchedule: readonly number[];
  /** Only orders overdue by this much are re-enqueued, so checks still in flight are not doubled. */
  graceSeconds: number;
  /**
   * How often one order's check is re-enqueued without a check completing in between before the sweep
   * gives up on it: a check that always fails would otherwise go round queue, DLQ and sweep for ever.
   */
  maxRequeues: number;
}

/**
 * Finds open orders whose check is overdue (its message was lost, or the queue was emptied) and
 * re-enqueues them. Needs no WeChat credentials: the reconciler does the asking.
 */
export class Sweeper {
  constructor(private readonly deps: SweeperDeps) {}

  /** Returns how many checks it re-enqueued. */
  async sweep(limit = 100): Promise<number> {
    const { store, clock, scheduler, observer, reconcileSchedule, graceSeconds, maxRequeues } = this.deps;
    const now = clock.now();
    const cutoff = new Date(now.getTime() - graceSeconds * 1000).toISOString();
    let enqueued = 0;
    const dueAt = now.toISOString();
    for (const { outTradeNo } of await store.findDue(cutoff, limit)) {
      const order = await store.get(outTradeNo);
      if (order === undefined || !canStillChange(order.status)) continue;
      // A fresh due time makes any late copy of the old check stale (one chain goes on, not two), and
      // puts the order behind the others overdue, so orders whose checks keep failing cannot hold the
      // head of the index while others wait. The same write counts the re-enqueue against the bound.
      const requeue = await store.requeueCheck(outTradeNo, dueAt, maxRequeues);
      if (requeue.kind === 'exhausted') observer.checksExhausted(outTradeNo, { requeues: requeue.requeues });
      if (requeue.kind !== 'requeued') continue;
      const ageSeconds = (now.getTime() - Date.parse(order.createdAt)) / 1000;
      await scheduler.schedule({ outTradeNo, attempt: attemptForAge(reconcileSchedule, ageSeconds), dueAt });
      enqueued += 1;
    }
    return enqueued;
  }
}
