import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { dueShardKey } from '#shared/adapters/dynamodb-due-index';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { DEFAULT_DUE_INDEX_SHARDS, MAX_DUE_INDEX_SHARDS } from '#shared/adapters/table-schema';
import { ProviderError } from '#shared/domain/errors';
import type { OrderStatus, PaymentFacts } from '#shared/domain/order';
import type { NotificationRecord, TransitionCommand, UnverifiedNotification } from '#shared/domain/ports';
import { sha256 } from '#shared/domain/notification-receipts';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture, T0, tradeNo } from '#test/helpers/order-fixtures';
import { orderStoreContract } from '#test/helpers/order-store-contract';
import {
  MAX_REQUEUES,
  newPayment,
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  prepayResult,
  tradeReport,
} from '#test/helpers/payment-harness';

// What any OrderStore must do is in the contract, which the in-memory store keeps too; a fresh table each.
orderStoreContract('DynamoDbOrderStore on DynamoDB Local', async () => (await testTable()).store);

const order = orderFixture;

const payment: PaymentFacts = {
  transactionId: '4200001234567890123456789012',
  amountTotal: 1999,
  currency: 'CNY',
  paidAt: '20300101080510',
  bankType: 'OTHERS',
};

function command(outTradeNo: string, to: OrderStatus, extra: Partial<TransitionCommand> = {}): TransitionCommand {
  return { outTradeNo, to, at: at(100), source: 'notify', ...extra };
}

/** How the DynamoDB store lays orders and notifications out in its table (table-schema.ts). */
describe('DynamoDbOrderStore table layout', () => {
  let table: TestTable;
  let store: DynamoDbOrderStore;

  beforeAll(async () => {
    table = await testTable();
    store = table.store;
  });

  async function rawOrderItem(outTradeNo: string, of: TestTable = table): Promise<Record<string, unknown> | undefined> {
    const { Item } = await of.documentClient.send(
      new GetCommand({ TableName: of.tableName, Key: { pk: `ORDER#${outTradeNo}`, sk: 'ORDER' } }),
    );
    return Item;
  }

  it('puts an open order in the due index and keeps a final one out of it', async () => {
    const open = order();
    const paid = order({ status: 'PAID', nextCheckAt: undefined, payment });
    await store.create(open);
    await store.create(paid);
    expect((await rawOrderItem(open.outTradeNo))?.dueKey).toBe(dueShardKey(open.outTradeNo, DEFAULT_DUE_INDEX_SHARDS));
    expect(await rawOrderItem(paid.outTradeNo)).not.toHaveProperty('dueKey');
  });

  it('does not create an item for an unknown order', async () => {
    const outTradeNo = tradeNo();
    await store.transition(command(outTradeNo, 'PAID', { payment }));
    await store.renewPrepay(outTradeNo, { prepayId: 'wx1', client: {}, validUntil: at(10) }, at(1));
    await store.extendWatch(outTradeNo, at(10), at(999));
    expect(await rawOrderItem(outTradeNo)).toBeUndefined();
  });

  it('takes a final order out of the due index and keeps an open one in it', async () => {
    const created = order();
    await store.create(created);
    await store.transition(command(created.outTradeNo, 'PENDING', { nextCheckAt: at(600) }));
    expect(await rawOrderItem(created.outTradeNo)).toMatchObject({
      dueKey: dueShardKey(created.outTradeNo, DEFAULT_DUE_INDEX_SHARDS),
      nextCheckAt: at(600),
    });

    await store.transition(command(created.outTradeNo, 'PAID', { payment, nextCheckAt: at(900) }));
    const item = await rawOrderItem(created.outTradeNo);
    expect(item).not.toHaveProperty('dueKey');
    expect(item).not.toHaveProperty('nextCheckAt');
  });

  it('leaves a final order out of the due index when a late check asks to move its bound on', async () => {
    const created = order();
    await store.create(created);
    await store.transition(command(created.outTradeNo, 'CLOSED'));
    expect(await store.extendWatch(created.outTradeNo, created.nextCheckAt ?? '', at(999))).toEqual({
      kind: 'superseded',
    });
    const item = await rawOrderItem(created.outTradeNo);
    expect(item).not.toHaveProperty('nextCheckAt');
    expect(item).not.toHaveProperty('dueKey');
  });

  it('spreads the due index over its shards by out_trade_no, and finds due orders across all of them', async () => {
    const own = await testTable();
    const sharded = new DynamoDbOrderStore({ tableName: own.tableName, client: own.documentClient, dueIndexShards: 4 });
    // 24 random ids leave one of 4 shards empty about once in 250 runs: draw until each holds some.
    let ids: string[];
    do {
      ids = Array.from({ length: 24 }, () => order().outTradeNo);
    } while (new Set(ids.map((id) => dueShardKey(id, 4))).size < 4);
    const orders = ids.map((outTradeNo, i) => order({ outTradeNo, nextCheckAt: at(((i * 7) % 24) * 10) }));
    for (const o of orders) await sharded.create(o);
    const keys = new Set<unknown>();
    for (const o of orders) {
      const dueKey = (await rawOrderItem(o.outTradeNo, own))?.dueKey;
      expect(dueKey).toBe(dueShardKey(o.outTradeNo, 4));
      keys.add(dueKey);
    }
    expect(keys.size).toBe(4);

    const oldest = orders
      .map((o) => ({ outTradeNo: o.outTradeNo, nextCheckAt: o.nextCheckAt as string }))
      .sort((a, b) => a.nextCheckAt.localeCompare(b.nextCheckAt));
    expect(await sharded.findDue(at(1000), 5)).toEqual(oldest.slice(0, 5));
    // Another shard count, fewer or more, still finds every order written under this one.
    for (const shards of [1, MAX_DUE_INDEX_SHARDS]) {
      const other = new DynamoDbOrderStore({
        tableName: own.tableName,
        client: own.documentClient,
        dueIndexShards: shards,
      });
      expect(await other.findDue(at(1000), 100)).toEqual(oldest);
    }
  });

  it('finds orders an older release put in the unsharded partition, and moves them as their bound moves', async () => {
    const own = await testTable();
    const legacy = order({ nextCheckAt: at(5) });
    const current = order({ nextCheckAt: at(10) });
    await own.store.create(current);
    // As the release before sharding wrote it: dueKey DUE.
    await own.documentClient.send(
      new PutCommand({
        TableName: own.tableName,
        Item: { ...legacy, pk: `ORDER#${legacy.outTradeNo}`, sk: 'ORDER', dueKey: 'DUE' },
      }),
    );
    expect(await own.store.findDue(at(100), 10)).toEqual([
      { outTradeNo: legacy.outTradeNo, nextCheckAt: at(5) },
      { outTradeNo: current.outTradeNo, nextCheckAt: at(10) },
    ]);
    expect(await own.store.get(legacy.outTradeNo)).toEqual(legacy);

    expect(await own.store.extendWatch(legacy.outTradeNo, at(5), at(50))).toEqual({ kind: 'extended' });
    expect((await rawOrderItem(legacy.outTradeNo, own))?.dueKey).toBe(
      dueShardKey(legacy.outTradeNo, DEFAULT_DUE_INDEX_SHARDS),
    );
    expect((await own.store.findDue(at(100), 10)).map((due) => due.outTradeNo)).toEqual([
      current.outTradeNo,
      legacy.outTradeNo,
    ]);
  });

  it('refuses a shard count outside 1 to the ceiling', () => {
    for (const dueIndexShards of [0, MAX_DUE_INDEX_SHARDS + 1, 2.5]) {
      expect(() => new DynamoDbOrderStore({ tableName: 'orders', dueIndexShards })).toThrow(RangeError);
    }
  });

  it("counts the sweep's re-enqueues on the order item, and marks the order when it gives up", async () => {
    const created = order({ nextCheckAt: at(10) });
    await store.create(created);
    await store.requeueCheck(created.outTradeNo, at(20), 1);
    expect(await rawOrderItem(created.outTradeNo)).toMatchObject({ sweepRequeues: 1, nextCheckAt: at(20) });
    expect(await store.requeueCheck(created.outTradeNo, at(30), 1)).toEqual({ kind: 'exhausted', requeues: 1 });
    const item = await rawOrderItem(created.outTradeNo);
    expect(item).toMatchObject({ checksExhaustedAt: at(30), sweepRequeues: 1, status: created.status });
    expect(item).not.toHaveProperty('dueKey');
    expect(item).not.toHaveProperty('nextCheckAt');
  });

  it('lets two sweeps at once re-enqueue an order no more often than the bound', async () => {
    const created = order({ nextCheckAt: at(10) });
    await store.create(created);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => store.requeueCheck(created.outTradeNo, at(20 + i), 3)),
    );
    expect(results.filter((r) => r.kind === 'requeued')).toHaveLength(3);
    expect((await rawOrderItem(created.outTradeNo))?.sweepRequeues).toBe(3);
  });

  it('keeps a notification that changed the order on the order item', async () => {
    const created = order({ status: 'PENDING' });
    await store.create(created);
    const paying: NotificationRecord = {
      id: randomUUID(),
      bodySha256: sha256('<xml/>'),
      outTradeNo: created.outTradeNo,
      receivedAt: at(20),
      apiVersion: 'v2',
      outcome: 'accepted',
      body: '<xml/>',
    };
    await store.transition(command(created.outTradeNo, 'PAID', { payment, notification: paying }));
    expect(await rawOrderItem(created.outTradeNo)).toMatchObject({ appliedNotifications: [paying] });
  });

  async function partition(pk: string, of: TestTable = table): Promise<Record<string, unknown>[]> {
    const { Items = [] } = await of.documentClient.send(
      new QueryCommand({
        TableName: of.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': pk },
      }),
    );
    return Items;
  }

  it('keys a notification by its body hash, under its order or an unmatched shard, for 400 days', async () => {
    const own = await testTable();
    const sharded = new DynamoDbOrderStore({
      tableName: own.tableName,
      client: own.documentClient,
      notifyAuditShards: 4,
    });
    const genuine = (body: string, outTradeNo?: string): NotificationRecord => ({
      id: randomUUID(),
      bodySha256: sha256(body),
      apiVersion: 'v2',
      outcome: 'rejected',
      reason: 'UNKNOWN_ORDER (out_trade_no GHOST)',
      body,
      receivedAt: at(50),
      ...(outTradeNo === undefined ? {} : { outTradeNo, outcome: 'accepted' as const, reason: undefined }),
    });
    const matched = genuine('<xml>matched</xml>', tradeNo());
    await sharded.recordNotification(matched);
    const expiry = Math.floor(T0 / 1000) + 50 + 400 * 86_400;
    expect(await partition(`ORDER#${matched.outTradeNo}`, own)).toEqual([
      expect.objectContaining({ id: matched.id, sk: `NOTIFY#${matched.bodySha256}`, ttl: expiry }),
    ]);

    const unmatched = Array.from({ length: 24 }, (_, i) => genuine(`<xml>unmatched ${i}</xml>`));
    for (const record of unmatched) await sharded.recordNotification(record);
    let found = 0;
    const used = new Set<number>();
    for (let shard = 0; shard < 4; shard += 1) {
      const items = await partition(`NOTIFY#UNMATCHED#${shard}`, own);
      if (items.length > 0) used.add(shard);
      for (const item of items) {
        expect(item).toMatchObject({ sk: `NOTIFY#${String(item.bodySha256)}`, ttl: expiry });
        expect(item.body).toMatch(/^<xml>unmatched \d+<\/xml>$/);
      }
      found += items.length;
    }
    expect(found).toBe(unmatched.length);
    expect(used.size).toBe(4);
  });

  it('keeps only the traces of an unverified notification, on a shard, expiring after 7 days', async () => {
    const own = await testTable();
    const sharded = new DynamoDbOrderStore({
      tableName: own.tableName,
      client: own.documentClient,
      notifyAuditShards: 3,
    });
    const traces: UnverifiedNotification[] = Array.from({ length: 18 }, () => ({
      id: randomUUID(),
      receivedAt: at(50),
      apiVersion: 'v3',
      reason: 'BAD_SIGNATURE',
      bodySha256: sha256('forged'),
      bodyBytes: 6,
      sourceIp: '198.51.100.7',
    }));
    for (const trace of traces) await sharded.recordUnverified(trace);
    const kept: Record<string, unknown>[] = [];
    for (let shard = 0; shard < 3; shard += 1) {
      const items = await partition(`NOTIFY#UNVERIFIED#${shard}`, own);
      expect(items.length).toBeGreaterThan(0);
      kept.push(...items);
    }
    expect(kept).toHaveLength(traces.length);
    for (const item of kept) {
      const trace = traces.find((t) => t.id === item.id);
      expect(item).toEqual({
        ...trace,
        pk: expect.stringMatching(/^NOTIFY#UNVERIFIED#[0-2]$/),
        sk: `NOTIFY#${at(50)}#${String(item.id)}`,
        ttl: Math.floor(T0 / 1000) + 50 + 7 * 86_400,
      });
    }
    expect(await partition('NOTIFY#UNMATCHED', own)).toEqual([]);
  });

  it('keeps a late payment on the CLOSED order item, under latePayment', async () => {
    const closed = order({ status: 'CLOSED', nextCheckAt: undefined });
    await store.create(closed);
    const late = {
      transactionId: '4200001234567890123456789012',
      amountTotal: 1999,
      currency: 'CNY' as const,
      paidAt: '20300101080510',
      receivedAt: at(300),
      source: 'notify' as const,
    };
    await store.recordLatePayment(closed.outTradeNo, late);
    expect(await rawOrderItem(closed.outTradeNo)).toMatchObject({ status: 'CLOSED', latePayment: late });
  });

  it('lets errors other than a refused condition through', async () => {
    const missing = new DynamoDbOrderStore({ tableName: 'no-such-table', client: table.documentClient });
    await expect(missing.get('x')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.transition(command('x', 'PAID'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.extendWatch('x', at(1), at(2))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

/** The reconciler and CreatePayment as wired over the real table: what their store writes leave in it. */
describe('DynamoDbOrderStore under the reconciler and CreatePayment', () => {
  const outOfTime = () =>
    new ProviderError('DEADLINE_EXCEEDED', 'no answer before the deadline', { retryable: true, kind: 'transport' });

  async function rawItem(own: TestTable, outTradeNo: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await own.documentClient.send(
      new GetCommand({ TableName: own.tableName, Key: { pk: `ORDER#${outTradeNo}`, sk: 'ORDER' } }),
    );
    return Item;
  }

  /** Runs the order's checks, each running out of time, until the reconciler stops scheduling them. */
  async function runOutOfTimeUntilGivenUp(h: PaymentHarness<DynamoDbOrderStore>, outTradeNo: string) {
    const waits: number[] = [];
    const results: string[] = [];
    let check = { outTradeNo, attempt: 0, dueAt: (await h.store.get(outTradeNo))?.nextCheckAt ?? '' };
    for (let i = 0; i <= MAX_REQUEUES; i += 1) {
      h.clock.set(check.dueAt);
      h.provider.onQuery(outOfTime());
      results.push(await h.reconciler.check(check));
      const next = h.scheduler.scheduled.at(-1);
      if (!next || next.dueAt === check.dueAt) break;
      waits.push((Date.parse(next.dueAt) - Date.parse(check.dueAt)) / 1000);
      check = next;
    }
    return { waits, results };
  }

  it('counts checks that keep running out of time, backing off, and gives up after the bound', async () => {
    const own = await testTable();
    const h = paymentHarness({ store: own.store });
    const pending = pendingOrder();
    await h.store.create(pending);

    const { waits, results } = await runOutOfTimeUntilGivenUp(h, pending.outTradeNo);
    expect(waits).toEqual([10, 20, 40, 80]);
    expect(results).toEqual([...Array<string>(MAX_REQUEUES).fill('out-of-time'), 'checks-exhausted']);
    expect(h.observer.events).toEqual([
      { kind: 'checksExhausted', outTradeNo: pending.outTradeNo, requeues: MAX_REQUEUES },
    ]);
    expect(await h.store.findDue(at(1_000_000), 10)).toEqual([]);
    const item = await rawItem(own, pending.outTradeNo);
    expect(item).toMatchObject({ status: 'PENDING', checksExhaustedAt: h.clock.iso(), sweepRequeues: MAX_REQUEUES });
    expect(item).not.toHaveProperty('dueKey');
    expect(item).not.toHaveProperty('nextCheckAt');
  });

  it('watches an order given up on again once its prepay is renewed', async () => {
    const own = await testTable();
    const h = paymentHarness({ store: own.store });
    // The order lives three hours; its prepay two. Its checks were given up on in the first hour.
    const request = newPayment({ expiresAt: at(3 * 3600) });
    h.provider.onPrepay(prepayResult('wx-first'));
    const created = await h.createPayment.execute(request);
    await runOutOfTimeUntilGivenUp(h, created.outTradeNo);
    expect((await h.store.get(created.outTradeNo))?.checksExhaustedAt).toBeDefined();

    h.clock.set(at(7200));
    h.provider.onPrepay(prepayResult('wx-renewed'));
    const scheduledBefore = h.scheduler.scheduled.length;
    const renewed = await h.createPayment.execute(request);

    const dueAt = at(7200 + 30);
    // Watched up to its expiry, an hour on: the bound the first check's message carries.
    const bound = at(3 * 3600);
    expect(renewed).toMatchObject({ status: 'PENDING', prepay: { prepayId: 'wx-renewed' }, nextCheckAt: bound });
    expect(renewed.checksExhaustedAt).toBeUndefined();
    expect(await h.store.findDue(at(1_000_000), 10)).toEqual([{ outTradeNo: created.outTradeNo, nextCheckAt: bound }]);
    expect(h.scheduler.scheduled.slice(scheduledBefore)).toEqual([
      { outTradeNo: created.outTradeNo, attempt: 0, dueAt, bound },
    ]);
    const item = await rawItem(own, created.outTradeNo);
    expect(item).not.toHaveProperty('checksExhaustedAt');
    expect(item).not.toHaveProperty('sweepRequeues');
    expect(item?.dueKey).toBe(dueShardKey(created.outTradeNo, DEFAULT_DUE_INDEX_SHARDS));

    // Watched as any open order: its first check runs, and a check that runs out of time starts at 10 s.
    h.clock.set(dueAt);
    h.provider.onQuery(tradeReport(created.outTradeNo, 'NOTPAY'));
    expect(await h.reconciler.check({ outTradeNo: created.outTradeNo, attempt: 0, dueAt, bound })).toBe(
      'checked-again',
    );
  });
});
