import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { DynamoDbSettledRecords } from '#shared/adapters/dynamodb-settled-records';
import { SETTLED_INDEX_SHARDS } from '#shared/adapters/table-schema';
import type { SettledRecord } from '#shared/domain/bill-reconciliation';
import type { Order, PaymentFacts } from '#shared/domain/order';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';

async function listAll(records: DynamoDbSettledRecords, billDate: string): Promise<SettledRecord[]> {
  const listed: SettledRecord[] = [];
  for await (const record of records.listSettled(billDate)) listed.push(record);
  return listed;
}

function paymentOf(outTradeNo: string, paidAt: string, total = 1999): PaymentFacts {
  return {
    transactionId: `42000${outTradeNo.slice(-10)}`,
    amountTotal: total,
    currency: 'CNY',
    paidAt,
    bankType: 'OTHERS',
  };
}

/** The settled index (table-schema.ts): what WeChat's bill of a Beijing day must list, read back. */
describe('DynamoDbSettledRecords on DynamoDB Local', () => {
  let table: TestTable;
  let refunds: DynamoDbRefundStore;
  let settled: DynamoDbSettledRecords;

  beforeAll(async () => {
    table = await testTable();
    refunds = new DynamoDbRefundStore({ tableName: table.tableName, client: table.documentClient });
    settled = new DynamoDbSettledRecords({ tableName: table.tableName, client: table.documentClient });
  });

  async function rawItem(pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(new GetCommand({ TableName: table.tableName, Key: { pk, sk } }));
    return Item;
  }

  /** An order created CREATED, then made PAID by a transition with `payment`. */
  async function paidThroughTransition(payment: (outTradeNo: string) => PaymentFacts): Promise<Order> {
    const order = orderFixture();
    await table.store.create(order);
    const result = await table.store.transition({
      outTradeNo: order.outTradeNo,
      to: 'PAID',
      at: at(100),
      source: 'notify',
      payment: payment(order.outTradeNo),
      expectAmount: { total: 1999, currency: 'CNY' },
    });
    if (result.kind !== 'applied') throw new Error(`not paid: ${result.kind}`);
    return result.order;
  }

  function of(records: SettledRecord[], outTradeNo: string): SettledRecord[] {
    return records.filter((record) => record.outTradeNo === outTradeNo);
  }

  it('lists a payment on the Beijing day it was paid, to the last second, and not on the next', async () => {
    const lastSecond = await paidThroughTransition((no) => paymentOf(no, '20300101235959'));
    const nextDay = await paidThroughTransition((no) => paymentOf(no, '2030-01-02T00:00:00+08:00'));

    const first = await listAll(settled, '2030-01-01');
    const second = await listAll(settled, '2030-01-02');
    expect(of(first, lastSecond.outTradeNo)).toEqual([
      {
        kind: 'payment',
        outTradeNo: lastSecond.outTradeNo,
        transactionId: lastSecond.payment?.transactionId,
        total: 1999,
      },
    ]);
    expect(of(second, lastSecond.outTradeNo)).toEqual([]);
    expect(of(second, nextDay.outTradeNo)).toEqual([
      { kind: 'payment', outTradeNo: nextDay.outTradeNo, transactionId: nextDay.payment?.transactionId, total: 1999 },
    ]);
    expect(of(first, nextDay.outTradeNo)).toEqual([]);
  });

  it('lists an order created PAID too, and no order that is not PAID', async () => {
    const createdPaid = paidOrder(2500);
    await table.store.create(createdPaid);
    const open = orderFixture();
    await table.store.create(open);
    await table.store.transition({ outTradeNo: open.outTradeNo, to: 'PENDING', at: at(5), source: 'api' });
    const closed = orderFixture();
    await table.store.create(closed);
    await table.store.transition({ outTradeNo: closed.outTradeNo, to: 'CLOSED', at: at(5), source: 'api' });

    // paidOrder pays at 20300101080510, Beijing; the others were made on the same and the next day.
    const days = [...(await listAll(settled, '2030-01-01')), ...(await listAll(settled, '2030-01-02'))];
    expect(of(days, createdPaid.outTradeNo)).toEqual([
      {
        kind: 'payment',
        outTradeNo: createdPaid.outTradeNo,
        transactionId: createdPaid.payment?.transactionId,
        total: 2500,
      },
    ]);
    expect(of(days, open.outTradeNo)).toEqual([]);
    expect(of(days, closed.outTradeNo)).toEqual([]);
  });

  it('lists a SUCCESS refund on its acceptance day with its amount and refund_id; not a PROCESSING one', async () => {
    const order = paidOrder();
    await table.store.create(order);
    const accepted = newRefund(order, 300);
    const pending = newRefund(order, 200);
    await refunds.createRefund(accepted);
    await refunds.createRefund(pending);
    // Created 2030-01-01 08:00:10 Beijing; accepted 2030-01-03 00:30 Beijing: the bill's day is the latter.
    await refunds.recordAcceptance(order.outTradeNo, accepted.outRefundNo, {
      acceptedAt: '2030-01-02T16:30:00.000Z',
      refundId: '50300000000001',
    });
    await refunds.recordAcceptance(order.outTradeNo, pending.outRefundNo, {
      acceptedAt: '2030-01-02T16:30:00.000Z',
      refundId: '50300000000002',
    });
    const success = await refunds.transitionRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: accepted.outRefundNo,
      to: 'SUCCESS',
      at: '2030-01-04T01:00:00.000Z',
      source: 'notify',
      successTime: '2030-01-04T09:00:00+08:00',
    });
    expect(success.kind).toBe('applied');

    const acceptanceDay = of(await listAll(settled, '2030-01-03'), order.outTradeNo);
    expect(acceptanceDay).toEqual([
      {
        kind: 'refund',
        outTradeNo: order.outTradeNo,
        outRefundNo: accepted.outRefundNo,
        refundId: '50300000000001',
        refund: 300,
      },
    ]);
    for (const day of ['2030-01-01', '2030-01-02', '2030-01-04']) {
      expect(of(await listAll(settled, day), order.outTradeNo).filter((r) => r.kind === 'refund')).toEqual([]);
    }
  });

  it('lists a SUCCESS refund whose acceptance was never recorded on the day it was created', async () => {
    const order = paidOrder();
    await table.store.create(order);
    const refund = newRefund(order, 500, { createdAt: '2030-01-05T15:59:59.000Z' });
    await refunds.createRefund(refund);
    await refunds.transitionRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'SUCCESS',
      at: '2030-01-06T01:00:00.000Z',
      source: 'query',
      refundId: '50300000000003',
    });
    // 15:59:59Z is 23:59:59 Beijing on the 5th.
    expect(of(await listAll(settled, '2030-01-05'), order.outTradeNo)).toEqual([
      {
        kind: 'refund',
        outTradeNo: order.outTradeNo,
        outRefundNo: refund.outRefundNo,
        refundId: '50300000000003',
        refund: 500,
      },
    ]);
    expect(of(await listAll(settled, '2030-01-06'), order.outTradeNo)).toEqual([]);
  });

  it('keeps the index keys on the items and off the orders and refunds read back', async () => {
    const order = await paidThroughTransition((no) => paymentOf(no, '20300107120000'));
    const orderItem = await rawItem(`ORDER#${order.outTradeNo}`, 'ORDER');
    expect(orderItem).toMatchObject({
      settledKey: expect.stringMatching(/^SETTLED#2030-01-07#[0-7]$/),
      settledFen: 1999,
      settledId: order.payment?.transactionId,
    });
    const read = await table.store.get(order.outTradeNo);
    expect(read?.status).toBe('PAID');
    for (const attribute of ['settledKey', 'settledFen', 'settledId']) {
      expect(read).not.toHaveProperty(attribute);
      expect(order).not.toHaveProperty(attribute);
    }

    const refund = newRefund(order, 100);
    await refunds.createRefund(refund);
    const result = await refunds.transitionRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'SUCCESS',
      at: at(200),
      source: 'notify',
      refundId: '50300000000004',
    });
    const refundItem = await rawItem(`ORDER#${order.outTradeNo}`, `REFUND#${refund.outRefundNo}`);
    expect(refundItem).toMatchObject({
      settledKey: expect.stringMatching(/^SETTLED#2030-01-01#[0-7]$/),
      settledFen: 100,
      settledId: '50300000000004',
    });
    const readRefund = await refunds.getRefund(order.outTradeNo, refund.outRefundNo);
    expect(readRefund?.status).toBe('SUCCESS');
    for (const attribute of ['settledKey', 'settledFen', 'settledId']) {
      expect(readRefund).not.toHaveProperty(attribute);
      expect(result.kind === 'applied' ? result.refund : undefined).not.toHaveProperty(attribute);
    }
  });
});

describe('DynamoDbSettledRecords across shards', () => {
  it('reads every shard of a day, page by page, and returns each record once', async () => {
    const table = await testTable();
    const orders = await Promise.all(
      Array.from({ length: 20 }, async (_, index) => {
        const order = orderFixture();
        await table.store.create(order);
        const paidAt = `2030011012${String(index).padStart(2, '0')}00`;
        await table.store.transition({
          outTradeNo: order.outTradeNo,
          to: 'PAID',
          at: at(100),
          source: 'notify',
          payment: paymentOf(order.outTradeNo, paidAt, 100 + index),
        });
        return order;
      }),
    );
    const shards = new Set<string>();
    for (const order of orders) {
      const { Item } = await table.documentClient.send(
        new GetCommand({ TableName: table.tableName, Key: { pk: `ORDER#${order.outTradeNo}`, sk: 'ORDER' } }),
      );
      shards.add(String(Item?.settledKey));
    }
    // 20 orders over 8 shards: the hash spreads them (the chance of all in one is 8^-19).
    expect(shards.size).toBeGreaterThan(1);
    expect(shards.size).toBeLessThanOrEqual(SETTLED_INDEX_SHARDS);
    for (const key of shards) expect(key).toMatch(/^SETTLED#2030-01-10#[0-7]$/);

    // Pages of 2: every shard holding more than two is read over several pages.
    const settled = new DynamoDbSettledRecords({
      tableName: table.tableName,
      client: table.documentClient,
      pageLimit: 2,
    });
    const listed = await listAll(settled, '2030-01-10');
    expect(listed).toHaveLength(20);
    const expected: SettledRecord[] = orders.map((order, index) => ({
      kind: 'payment',
      outTradeNo: order.outTradeNo,
      transactionId: `42000${order.outTradeNo.slice(-10)}`,
      total: 100 + index,
    }));
    const byTradeNo = (a: SettledRecord, b: SettledRecord): number => a.outTradeNo.localeCompare(b.outTradeNo);
    expect([...listed].sort(byTradeNo)).toEqual([...expected].sort(byTradeNo));
    expect(await listAll(settled, '2030-01-11')).toEqual([]);
  });

  it('refuses a bill date that is not a real day written YYYY-MM-DD', async () => {
    const table = await testTable();
    const settled = new DynamoDbSettledRecords({ tableName: table.tableName, client: table.documentClient });
    expect(() => settled.listSettled('2030-1-1')).toThrow(/YYYY-MM-DD/);
    expect(() => settled.listSettled('2030-02-30')).toThrow(/YYYY-MM-DD/);
  });
});
