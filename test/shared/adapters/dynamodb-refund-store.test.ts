import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { dueShardKey, refundDueShardKey } from '#shared/adapters/dynamodb-due-index';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { DEFAULT_DUE_INDEX_SHARDS } from '#shared/adapters/table-schema';
import type { Refund } from '#shared/domain/refund';
import { localEndpoint, testTable } from '#test/helpers/aws';
import { localDocumentClient } from '#sandbox/local/resources';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder, refundStoreContract } from '#test/helpers/refund-store-contract';

function refundStoreOf(table: TestTable, dueIndexShards?: number): DynamoDbRefundStore {
  return new DynamoDbRefundStore({ tableName: table.tableName, client: table.documentClient, dueIndexShards });
}

// What any RefundStore must do is in the contract, which the in-memory store keeps too; a fresh table each.
refundStoreContract('DynamoDbRefundStore on DynamoDB Local', async () => {
  const table = await testTable();
  return { orders: table.store, refunds: refundStoreOf(table) };
});

/** How the DynamoDB store lays refunds and the order's counters out in the table (table-schema.ts). */
describe('DynamoDbRefundStore table layout', () => {
  let table: TestTable;
  let refunds: DynamoDbRefundStore;

  beforeAll(async () => {
    table = await testTable();
    refunds = refundStoreOf(table);
  });

  async function rawItem(pk: string, sk: string, of: TestTable = table): Promise<Record<string, unknown> | undefined> {
    const { Item } = await of.documentClient.send(new GetCommand({ TableName: of.tableName, Key: { pk, sk } }));
    return Item;
  }

  async function created(refund: Refund, store = refunds): Promise<Refund> {
    const result = await store.createRefund(refund);
    if (result.kind !== 'created') throw new Error(`refund not created: ${result.kind}`);
    return result.refund;
  }

  it("keeps a refund in its order's partition, in a refund shard of the due index until it is final", async () => {
    const order = paidOrder();
    await table.store.create(order);
    const refund = await created(newRefund(order, 300, { outRefundNo: '0042' }));
    const item = await rawItem(`ORDER#${order.outTradeNo}`, 'REFUND#0042');
    expect(item).toMatchObject({
      outRefundNo: '0042',
      status: 'PROCESSING',
      amount: { refund: 300, total: 1999, currency: 'CNY' },
      dueKey: refundDueShardKey(order.outTradeNo, '0042', DEFAULT_DUE_INDEX_SHARDS),
      nextCheckAt: at(70),
    });
    expect(String(item?.dueKey)).toMatch(/^RDUE#\d+$/);

    await refunds.transitionRefund({ ...key(refund), to: 'SUCCESS', at: at(100), source: 'notify' });
    const final = await rawItem(`ORDER#${order.outTradeNo}`, 'REFUND#0042');
    expect(final).not.toHaveProperty('dueKey');
    expect(final).not.toHaveProperty('nextCheckAt');
  });

  it('keeps the counters on the order item as top-level numbers, committed = refunded + pending', async () => {
    const order = paidOrder(1000);
    await table.store.create(order);
    const first = await created(newRefund(order, 300));
    await created(newRefund(order, 200));
    await refunds.transitionRefund({ ...key(first), to: 'SUCCESS', at: at(100), source: 'notify' });
    const item = await rawItem(`ORDER#${order.outTradeNo}`, 'ORDER');
    expect(item).toMatchObject({ refundedFen: 300, refundPendingFen: 200, refundCommittedFen: 500, refundCount: 2 });
    expect(item).not.toHaveProperty('refunds');
    // Read back as order.refunds only, none of the counters leaking into the order.
    const read = await table.store.get(order.outTradeNo);
    expect(read).toEqual({ ...order, refunds: { refunded: 300, pending: 200, count: 2 } });
  });

  it('writes an order created with counters (a restore) as the counters the transactions move', async () => {
    const order = paidOrder(1000, { refunds: { refunded: 100, pending: 250, count: 3 } });
    expect(await table.store.create(order)).toEqual({ kind: 'created', order });
    expect(await rawItem(`ORDER#${order.outTradeNo}`, 'ORDER')).toMatchObject({
      refundedFen: 100,
      refundPendingFen: 250,
      refundCommittedFen: 350,
      refundCount: 3,
    });
    expect((await refunds.createRefund(newRefund(order, 651))).kind).toBe('amount_exceeded');
    await created(newRefund(order, 650));
    expect((await table.store.get(order.outTradeNo))?.refunds).toEqual({ refunded: 100, pending: 900, count: 4 });
  });

  it('claims each out_refund_no in a partition of its own, naming the order, for good', async () => {
    const order = paidOrder();
    await table.store.create(order);
    const refund = await created(newRefund(order, 300, { outRefundNo: '0077' }));
    const claim = { pk: 'REFUNDNO#0077', sk: 'REFUNDNO', outTradeNo: order.outTradeNo };
    expect(await rawItem('REFUNDNO#0077', 'REFUNDNO')).toEqual(claim);
    await refunds.transitionRefund({ ...key(refund), to: 'CLOSED', at: at(100), source: 'reconcile' });
    expect(await rawItem('REFUNDNO#0077', 'REFUNDNO')).toEqual(claim);
    // Not a refund of the order, nor of any order.
    expect((await refunds.listRefunds(order.outTradeNo)).map((r) => r.outRefundNo)).toEqual(['0077']);
    expect(await refunds.findDueRefunds(at(100_000), 1000)).not.toContainEqual(
      expect.objectContaining({ outRefundNo: '0077' }),
    );
  });

  it("keeps the order's notifications and its refunds apart in the partition", async () => {
    const order = paidOrder();
    await table.store.create(order);
    await created(newRefund(order, 100));
    expect(await table.store.listNotifications(order.outTradeNo)).toEqual([]);
  });

  it("spreads refund entries over the refund shards, and the orders' sweep reads none of them", async () => {
    const own = await testTable();
    const sharded = refundStoreOf(own, 4);
    const order = paidOrder(100_000);
    await own.store.create(order);
    // 16 random refund numbers leave one of 4 shards empty about one run in 25: the numbers are picked
    // so that the first four land in one shard each (the hash decides where the other twelve go).
    const numbers: string[] = [];
    const hit = new Set<string>();
    for (let n = 0; numbers.length < 16; n += 1) {
      const shard = refundDueShardKey(order.outTradeNo, `R${n}`, 4);
      if (hit.size < 4 && hit.has(shard)) continue;
      hit.add(shard);
      numbers.push(`R${n}`);
    }
    const made: Refund[] = [];
    for (const [i, outRefundNo] of numbers.entries()) {
      made.push(await created(newRefund(order, 1, { outRefundNo, nextCheckAt: at(i) }), sharded));
    }
    const keys = new Set<unknown>();
    for (const refund of made) {
      const item = await rawItem(`ORDER#${order.outTradeNo}`, `REFUND#${refund.outRefundNo}`, own);
      expect(item?.dueKey).toBe(refundDueShardKey(order.outTradeNo, refund.outRefundNo, 4));
      keys.add(item?.dueKey);
    }
    expect(keys.size).toBe(4);
    expect(await own.store.findDue(at(1000), 100)).toEqual([]);
    // Another shard count still finds every refund written under this one.
    expect(await refundStoreOf(own, 32).findDueRefunds(at(1000), 100)).toHaveLength(16);
    expect(await refundStoreOf(own, 1).findDueRefunds(at(1000), 5)).toEqual(
      made
        .slice(0, 5)
        .map((r) => ({ outTradeNo: r.outTradeNo, outRefundNo: r.outRefundNo, nextCheckAt: r.nextCheckAt })),
    );
    // And an order's entry is never read as a refund's, even in the shard its hash shares.
    const open = orderFixture({ nextCheckAt: at(1) });
    await own.store.create(open);
    expect(await rawItem(`ORDER#${open.outTradeNo}`, 'ORDER', own)).toMatchObject({
      dueKey: dueShardKey(open.outTradeNo, DEFAULT_DUE_INDEX_SHARDS),
    });
    expect(await sharded.findDueRefunds(at(1000), 100)).toHaveLength(16);
  });

  it('writes nothing when a creation is refused', async () => {
    const order = paidOrder(1000);
    await table.store.create(order);
    await created(newRefund(order, 1000));
    const before = await rawItem(`ORDER#${order.outTradeNo}`, 'ORDER');
    const refused = newRefund(order, 1);
    expect((await refunds.createRefund(refused)).kind).toBe('amount_exceeded');
    expect(await rawItem(`ORDER#${order.outTradeNo}`, `REFUND#${refused.outRefundNo}`)).toBeUndefined();
    expect(await rawItem(`REFUNDNO#${refused.outRefundNo}`, 'REFUNDNO')).toBeUndefined();
    expect(await rawItem(`ORDER#${order.outTradeNo}`, 'ORDER')).toEqual(before);
  });

  it("lists an order's refunds across more than one page of its partition", async () => {
    const order = paidOrder(1_000_000);
    await table.store.create(order);
    const big = 'x'.repeat(60_000);
    // ~60 KB each: more than a 1 MB page in all.
    for (let i = 0; i < 20; i += 1) await created(newRefund(order, 1, { reason: `${big}${i}`, createdAt: at(i) }));
    const { Items = [] } = await table.documentClient.send(
      new QueryCommand({
        TableName: table.tableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': `ORDER#${order.outTradeNo}` },
      }),
    );
    expect(Items.length).toBeLessThan(21);
    expect((await refunds.listRefunds(order.outTradeNo)).map((r) => r.createdAt)).toEqual(
      Array.from({ length: 20 }, (_, i) => at(i)),
    );
  });

  it('lets errors other than a refused condition through', async () => {
    const missing = new DynamoDbRefundStore({ tableName: 'no-such-table', client: table.documentClient });
    const order = paidOrder();
    await expect(missing.createRefund(newRefund(order, 1))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(missing.getRefund('x', 'y')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.setRefundNextCheck('x', 'y', at(1))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    await expect(missing.findDueRefunds(at(1), 1)).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('refuses a shard count outside 1 to the ceiling', () => {
    for (const dueIndexShards of [0, 33, 2.5]) {
      expect(() => new DynamoDbRefundStore({ tableName: 'orders', dueIndexShards })).toThrow(RangeError);
    }
  });
});

/**
 * DynamoDB cancels a transaction that meets another one on the same item (TransactionConflict), as
 * concurrent refunds of one order do on the order item; DynamoDB Local serialises transactions and never
 * does. So that fault alone is injected: the first `conflicts` transactions sent are refused as DynamoDB
 * would refuse them, before they reach the table.
 */
describe('DynamoDbRefundStore when transactions conflict', () => {
  function conflicting(table: TestTable, conflicts: number): { store: DynamoDbRefundStore; sent: () => number } {
    const client = localDocumentClient(localEndpoint('dynamodbEndpoint'));
    let sent = 0;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'TransactWriteItemsCommand') return next(args);
        sent += 1;
        if (sent > conflicts) return next(args);
        throw new TransactionCanceledException({
          message: 'Transaction cancelled, please refer cancellation reasons for specific reasons',
          $metadata: { httpStatusCode: 400 },
          CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
        });
      },
      { step: 'initialize', name: 'injectTransactionConflict' },
    );
    return { store: new DynamoDbRefundStore({ tableName: table.tableName, client }), sent: () => sent };
  }

  it('creates a refund once, trying again past conflicts', async () => {
    const table = await testTable();
    const { store, sent } = conflicting(table, 3);
    const order = paidOrder(1000);
    await table.store.create(order);
    const refund = newRefund(order, 400);
    expect(await store.createRefund(refund)).toMatchObject({ kind: 'created', refund });
    expect(sent()).toBe(4);
    expect((await table.store.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 400, count: 1 });
  });

  it('applies a transition once, trying again past conflicts', async () => {
    const table = await testTable();
    const order = paidOrder(1000);
    await table.store.create(order);
    const refund = newRefund(order, 400);
    await refundStoreOf(table).createRefund(refund);
    const { store, sent } = conflicting(table, 2);
    const result = await store.transitionRefund({ ...key(refund), to: 'SUCCESS', at: at(100), source: 'notify' });
    expect(result).toMatchObject({ kind: 'applied', refund: { status: 'SUCCESS' } });
    expect(sent()).toBe(3);
    expect((await table.store.get(order.outTradeNo))?.refunds).toEqual({ refunded: 400, pending: 0, count: 1 });
  });

  it('leaves a conflict that does not clear to the caller, with nothing written', async () => {
    const table = await testTable();
    const { store, sent } = conflicting(table, Number.POSITIVE_INFINITY);
    const order = paidOrder(1000);
    await table.store.create(order);
    const refund = newRefund(order, 400);
    await expect(store.createRefund(refund)).rejects.toMatchObject({ name: 'TransactionCanceledException' });
    expect(sent()).toBe(10);
    expect(await refundStoreOf(table).getRefund(order.outTradeNo, refund.outRefundNo)).toBeUndefined();
    expect(await table.store.get(order.outTradeNo)).toEqual(order);
  });
});

/**
 * WeChat's acceptance can be recorded between the transition's read and its write. recordAcceptance
 * also raises the revision, which refuses the write on its own; here acceptedAt alone is set in that
 * window, so only the close's own condition (no acceptedAt) can refuse it.
 */
describe('DynamoDbRefundStore when an acceptance lands during a close that expects none', () => {
  it('refuses the close by its condition and answers conflict with the accepted refund', async () => {
    const table = await testTable();
    const order = paidOrder(1000);
    await table.store.create(order);
    const refund = newRefund(order, 400);
    await refundStoreOf(table).createRefund(refund);
    const client = localDocumentClient(localEndpoint('dynamodbEndpoint'));
    let accepted = false;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && !accepted) {
          accepted = true;
          await table.documentClient.send(
            new UpdateCommand({
              TableName: table.tableName,
              Key: { pk: `ORDER#${order.outTradeNo}`, sk: `REFUND#${refund.outRefundNo}` },
              UpdateExpression: 'SET acceptedAt = :at',
              ExpressionAttributeValues: { ':at': at(20) },
            }),
          );
        }
        return next(args);
      },
      { step: 'initialize', name: 'acceptMeanwhile' },
    );
    const store = new DynamoDbRefundStore({ tableName: table.tableName, client });
    const result = await store.transitionRefund({
      ...key(refund),
      to: 'CLOSED',
      at: at(100),
      source: 'reconcile',
      failure: { code: 'INVALID_REQUEST', message: '参数错误' },
      expectUnaccepted: true,
    });
    expect(accepted).toBe(true);
    expect(result).toEqual({ kind: 'conflict', refund: { ...refund, acceptedAt: at(20) } });
    expect(await store.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual({ ...refund, acceptedAt: at(20) });
    expect((await table.store.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 400, count: 1 });
  });
});

function key(refund: Refund): { outTradeNo: string; outRefundNo: string } {
  return { outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo };
}
