import { canStillChange } from './lifecycle';
import type { CheckScheduler, Clock, OrderStore } from './ports';
import { attemptForAge } from './reconcile-schedule';

export interface SweeperDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  clock: Clock;
  reconcileSchedule: readonly number[];
  /** Only orders overdue by this much are re-enqueued, so checks still in flight are not doubled. */
  graceSeconds: number;
}

/**
 * Finds open orders whose check is overdue (its message was lost, or the queue was emptied) and
 * re-enqueues them. Needs no WeChat credentials: the reconciler does the asking.
 */
export class Sweeper {
  constructor(private readonly deps: SweeperDeps) {}

  /** Returns how many checks it re-enqueued. */
  async sweep(limit = 100): Promise<number> {
    const { store, clock, scheduler, reconcileSchedule, graceSeconds } = this.deps;
    const now = clock.now();
    const cutoff = new Date(now.getTime() - graceSeconds * 1000).toISOString();
    let enqueued = 0;
    const dueAt = now.toISOString();
    for (const { outTradeNo } of await store.findDue(cutoff, limit)) {
      const order = await store.get(outTradeNo);
      if (order === undefined || !canStillChange(order.status)) continue;
      const ageSeconds = (now.getTime() - Date.parse(order.createdAt)) / 1000;
      // A fresh due time makes any late copy of the old check stale (one chain goes on, not two), and
      // puts the order behind the others overdue, so orders whose checks keep failing cannot hold the
      // head of the index while others wait.
      await store.setNextCheck(outTradeNo, dueAt);
      await scheduler.schedule({ outTradeNo, attempt: attemptForAge(reconcileSchedule, ageSeconds), dueAt });
      enqueued += 1;
    }
    return enqueued;
  }
}
