import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';

import { SqsCheckScheduler } from '#shared/adapters/sqs-check-scheduler';
import { parseReconcileCheck } from '#shared/app/reconcile-message';
import type { ReconcileCheck } from '#shared/domain/ports';
import { Sweeper } from '#shared/domain/sweeper';
import { testQueues, testTable, type TestQueues, type TestTable } from '#test/helpers/aws';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';

/** The sweep over a real table and queue; only the clock is a stand-in. */
describe('Sweeper', () => {
  let table: TestTable;
  let queues: TestQueues;
  let now = new Date(T0);

  beforeAll(async () => {
    [table, queues] = await Promise.all([testTable(), testQueues()]);
  });

  function sweeper(): Sweeper {
    const clock = { now: () => now };
    return new Sweeper({
      store: table.store,
      scheduler: new SqsCheckScheduler({ queueUrl: queues.queueUrl, client: queues.client, clock }),
      clock,
      reconcileSchedule: [30, 60],
      graceSeconds: 120,
    });
  }

  async function enqueued(): Promise<ReconcileCheck[]> {
    const checks: ReconcileCheck[] = [];
    for (;;) {
      const { Messages = [] } = await queues.client.send(
        new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      if (Messages.length === 0) return checks;
      checks.push(...Messages.map((m) => parseReconcileCheck(m.Body ?? '')));
    }
  }

  it('re-enqueues overdue open orders, oldest first, and moves each behind the others still waiting', async () => {
    const [a, b, c] = [-1000, -900, -800].map((due) =>
      orderFixture({ status: 'PENDING', createdAt: at(-1200), nextCheckAt: at(due) }),
    );
    const paid = orderFixture({ status: 'PAID', createdAt: at(-1200), nextCheckAt: at(-1100) });
    for (const order of [a, b, c, paid]) if (order) await table.store.create(order);
    if (!a || !b || !c) throw new Error('fixtures');

    now = new Date(T0);
    expect(await sweeper().sweep(2)).toBe(2);
    const first = await enqueued();
    expect(first.map((check) => check.outTradeNo).sort()).toEqual([a.outTradeNo, b.outTradeNo].sort());
    expect(first.every((check) => check.dueAt === at(0))).toBe(true);
    // The order carries the new due time, so a late copy of its old check is stale.
    expect((await table.store.get(a.outTradeNo))?.nextCheckAt).toBe(at(0));

    // Suppose those checks failed again: the next sweep starts with the order that waited, not them.
    now = new Date(T0 + 300_000);
    expect(await sweeper().sweep(1)).toBe(1);
    expect((await enqueued()).map((check) => check.outTradeNo)).toEqual([c.outTradeNo]);
  });
});
