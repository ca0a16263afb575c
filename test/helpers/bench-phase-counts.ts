import { emptyTally } from '#bench/counting-proxy';
import type { PhaseCounts } from '#bench/cost-per-payment';

const idle = { invocations: 0, billedMs: 0, meanMs: 0 };

/** A phase of 10 orders in which nothing was counted, with the overrides given: the bench tests' base. */
export function phaseCounts(overrides: Partial<PhaseCounts> = {}): PhaseCounts {
  return {
    orders: 10,
    completed: 10,
    seconds: 1,
    lambda: { orders: idle, notify: idle, reconcile: idle, sweep: idle, events: idle, webhooks: idle, bills: idle },
    dynamodb: emptyTally(),
    sqs: emptyTally(),
    wechat: emptyTally(),
    handlerLogBytes: 0,
    ...overrides,
  };
}
