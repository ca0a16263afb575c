import { randomUUID } from 'node:crypto';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { dueShardKey } from '#shared/adapters/dynamodb-due-index';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { DEFAULT_DUE_INDEX_SHARDS, MAX_DUE_INDEX_SHARDS } from '#shared/adapters/table-schema';
import type { OrderStatus, PaymentFacts } from '#shared/domain/order';
import type { NotificationRecord, TransitionCommand } from '#shared/domain/ports';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture, T0, tradeNo } from '#test/helpers/order-fixtures';
import { orderStoreContract } from '#test/helpers/order-store-contract';

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
    await store.setNextCheck(outTradeNo, at(999));
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

  it('leaves a final order out of the due index when its next check is moved', async () => {
    const created = order();
    await store.create(created);
    await store.transition(command(created.outTradeNo, 'CLOSED'));
    await store.setNextCheck(created.outTradeNo, at(999));
    const item = await rawOrderItem(created.outTradeNo);
    expect(item).not.toHaveProperty('nextCheckAt');
    expect(item).not.toHaveProperty('dueKey');
  });

  it('spreads the due index over its shards by out_trade_no, and finds due orders across all of them', async () => {
    const own = await testTable();
    const sharded = new DynamoDbOrderStore({ tableName: own.tableName, client: own.documentClient, dueIndexShards: 4 });
    const orders = Array.from({ length: 24 }, (_, i) => order({ nextCheckAt: at(((i * 7) % 24) * 10) }));
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

  it('finds orders an older release put in the unsharded partition, and moves them on their next check', async () => {
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

    await own.store.setNextCheck(legacy.outTradeNo, at(50));
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
      outTradeNo: created.outTradeNo,
      receivedAt: at(20),
      apiVersion: 'v2',
      outcome: 'accepted',
      body: '<xml/>',
    };
    await store.transition(command(created.outTradeNo, 'PAID', { payment, notification: paying }));
    expect(await rawOrderItem(created.outTradeNo)).toMatchObject({ appliedNotifications: [paying] });
  });

  it('keeps an unmatched notification apart, expiring 400 days after it arrived', async () => {
    const base = { apiVersion: 'v2', outcome: 'rejected', body: 'garbage', receivedAt: at(50) } as const;
    const unmatched: NotificationRecord = { ...base, id: randomUUID(), reason: 'not XML' };
    const matched: NotificationRecord = { ...base, id: randomUUID(), outTradeNo: tradeNo(), outcome: 'accepted' };
    await store.recordNotification(unmatched);
    await store.recordNotification(matched);

    const { Items: unmatchedItems = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': 'NOTIFY#UNMATCHED' },
      }),
    );
    const stored = unmatchedItems.find((item) => item.id === unmatched.id);
    expect(stored).toMatchObject({ body: 'garbage', ttl: Math.floor(T0 / 1000) + 50 + 400 * 86_400 });

    const [matchedItem] =
      (
        await table.documentClient.send(
          new QueryCommand({
            TableName: table.tableName,
            KeyConditionExpression: 'pk = :pk',
            ExpressionAttributeValues: { ':pk': `ORDER#${matched.outTradeNo}` },
          }),
        )
      ).Items ?? [];
    expect(matchedItem).toMatchObject({ id: matched.id, sk: `NOTIFY#${at(50)}#${matched.id}` });
    expect(matchedItem).not.toHaveProperty('ttl');
  });

  it('lets errors other than a refused condition through', async () => {
    const missing = new DynamoDbOrderStore({ tableName: 'no-such-table', client: table.documentClient });
    await expect(missing.get('x')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.transition(command('x', 'PAID'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.setNextCheck('x', at(1))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
