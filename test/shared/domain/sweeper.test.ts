import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';

import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { SqsCheckScheduler } from '#shared/adapters/sqs-check-scheduler';
import { parseReconcileCheck, parseReconcileMessage } from '#shared/app/reconcile-message';
import type { ReconcileCheck } from '#shared/domain/ports';
import { Sweeper } from '#shared/domain/sweeper';
import { testQueues, testTable, type TestQueues, type TestTable } from '#test/helpers/aws';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { paidOrder } from '#test/helpers/refund-harness';

/** The sweep over a real table and queue; only the clock is a stand-in. */
describe('Sweeper', () => {
  let table: TestTable;
  let queues: TestQueues;
  let now = new Date(T0);

  beforeAll(async () => {
    [table, queues] = await Promise.all([testTable(), testQueues()]);
  });

  function sweeper(observer = new RecordingObserver(), maxRequeues = 5, on: TestTable = table): Sweeper {
    const clock = { now: () => now };
    return new Sweeper({
      store: on.store,
      scheduler: new SqsCheckScheduler({ queueUrl: queues.queueUrl, client: queues.client, clock }),
      clock,
      observer,
      reconcileSchedule: [30, 60],
      graceSeconds: 120,
      maxRequeues,
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
    // Each message carries the bound the sweep wrote: its check is the one the order waits for now.
    expect(first.every((check) => check.dueAt === at(0) && check.bound === at(0))).toBe(true);
    // The order carries the new bound, so a late copy of its old check is stale.
    expect((await table.store.get(a.outTradeNo))?.nextCheckAt).toBe(at(0));

    // Suppose those checks failed again: the next sweep starts with the order that waited, not them.
    now = new Date(T0 + 300_000);
    expect(await sweeper().sweep(1)).toBe(1);
    expect((await enqueued()).map((check) => check.outTradeNo)).toEqual([c.outTradeNo]);
  });

  it('gives up on an order whose check never completes after the bound, marks it and reports it', async () => {
    const [stuck, progressing] = [-1000, -990].map((due) =>
      orderFixture({ status: 'PENDING', createdAt: at(-1200), nextCheckAt: at(due) }),
    );
    if (!stuck || !progressing) throw new Error('fixtures');
    // A table of its own: the orders of the test above would be swept (and given up on) too.
    const own = await testTable();
    for (const order of [stuck, progressing]) await own.store.create(order);
    const observer = new RecordingObserver();
    const bound = 3;
    const requeued = new Map<string, number>();

    // One sweep every five minutes; nothing ever completes the stuck order's check (it fails into the
    // dead-letter queue each time), while the other order's checks complete and move its bound on.
    for (let round = 0; round < bound + 3; round += 1) {
      now = new Date(T0 + round * 300_000);
      await sweeper(observer, bound, own).sweep();
      for (const check of await enqueued()) {
        requeued.set(check.outTradeNo, (requeued.get(check.outTradeNo) ?? 0) + 1);
        if (check.outTradeNo === progressing.outTradeNo && check.bound !== undefined) {
          // As a completed check does: the bound moves on (here to where it was), clearing the count.
          expect(await own.store.extendWatch(check.outTradeNo, check.bound, check.dueAt)).toEqual({ kind: 'extended' });
        }
      }
    }

    expect(requeued.get(stuck.outTradeNo)).toBe(bound);
    expect(requeued.get(progressing.outTradeNo)).toBe(bound + 3);
    expect(observer.events).toEqual([{ kind: 'checksExhausted', outTradeNo: stuck.outTradeNo, requeues: bound }]);
    const { Item: item } = await own.documentClient.send(
      new GetCommand({ TableName: own.tableName, Key: { pk: `ORDER#${stuck.outTradeNo}`, sk: 'ORDER' } }),
    );
    // Marked for an operator, out of the due index, and still open: only WeChat's word settles it.
    expect(item).toMatchObject({ status: 'PENDING', checksExhaustedAt: at(bound * 300), sweepRequeues: bound });
    expect(item).not.toHaveProperty('dueKey');
  });

  it('re-enqueues an overdue refund check as a refund message: a lost one never leaves it PROCESSING', async () => {
    const own = await testTable();
    const ownQueues = await testQueues();
    const refunds = new DynamoDbRefundStore({ tableName: own.tableName, client: own.documentClient });
    const order = paidOrder();
    await own.store.create(order);
    const created = await refunds.createRefund({
      outRefundNo: 'RF-lost',
      outTradeNo: order.outTradeNo,
      status: 'PROCESSING',
      amount: { refund: 500, total: 1999, currency: 'CNY' },
      requestHash: 'h'.repeat(64),
      createdAt: at(-1000),
      updatedAt: at(-1000),
      nextCheckAt: at(-940),
      history: [{ at: at(-1000), from: null, to: 'PROCESSING', source: 'api' }],
    });
    expect(created.kind).toBe('created');

    now = new Date(T0);
    const clock = { now: () => now };
    const scheduler = new SqsCheckScheduler({ queueUrl: ownQueues.queueUrl, client: ownQueues.client, clock });
    const sweeper = new Sweeper({
      store: own.store,
      scheduler,
      clock,
      observer: new RecordingObserver(),
      reconcileSchedule: [30, 60],
      graceSeconds: 120,
      maxRequeues: 5,
      refunds: { store: refunds, scheduler, checkSchedule: [60, 300, 1800] },
    });
    expect(await sweeper.sweep()).toBe(1);

    const { Messages = [] } = await ownQueues.client.send(
      new ReceiveMessageCommand({ QueueUrl: ownQueues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    expect(Messages.map((m) => parseReconcileMessage(m.Body ?? ''))).toEqual([
      {
        kind: 'refund',
        check: { outTradeNo: order.outTradeNo, outRefundNo: 'RF-lost', attempt: 2, dueAt: at(0) },
      },
    ]);
    expect((await refunds.getRefund(order.outTradeNo, 'RF-lost'))?.nextCheckAt).toBe(at(0));
    // Its next check moved past the cutoff: the next sweep leaves it to the message just sent.
    expect(await sweeper.sweep()).toBe(0);
  });
});
