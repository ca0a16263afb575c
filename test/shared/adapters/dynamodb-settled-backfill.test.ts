import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';

import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { backfillSettledIndex } from '#shared/adapters/dynamodb-settled-backfill';
import { DynamoDbSettledRecords } from '#shared/adapters/dynamodb-settled-records';
import type { SettledRecord } from '#shared/domain/bill-reconciliation';
import type { Order } from '#shared/domain/order';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';

const SETTLED = ['settledKey', 'settledFen', 'settledId'] as const;
type Key = { pk: string; sk: string };

/**
 * The backfill on DynamoDB Local: items made PAID / SUCCESS by a release before the settled index
 * (written here by today's stores, then stripped of the attributes, so they are exactly such items)
 * get what the live write sets; everything else is left as it is.
 */
describe('backfillSettledIndex on DynamoDB Local', () => {
  let table: TestTable;
  let refunds: DynamoDbRefundStore;
  const keys: Record<string, Key> = {};
  /** Each item as the live write left it, before its settled attributes were stripped. */
  const live: Record<string, Record<string, unknown>> = {};

  const raw = async (key: Key): Promise<Record<string, unknown>> => {
    const { Item } = await table.documentClient.send(new GetCommand({ TableName: table.tableName, Key: key }));
    if (!Item) throw new Error(`no item ${key.pk} ${key.sk}`);
    return Item;
  };
  const strip = (key: Key) =>
    table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression: 'REMOVE settledKey, settledFen, settledId',
      }),
    );

  async function paid(paidAt: string): Promise<Order> {
    const order = orderFixture();
    await table.store.create(order);
    const result = await table.store.transition({
      outTradeNo: order.outTradeNo,
      to: 'PAID',
      at: at(100),
      source: 'notify',
      payment: {
        transactionId: `42000${order.outTradeNo.slice(-10)}`,
        amountTotal: 1999,
        currency: 'CNY',
        paidAt,
        bankType: 'OTHERS',
      },
    });
    if (result.kind !== 'applied') throw new Error(`not paid: ${result.kind}`);
    return result.order;
  }

  beforeAll(async () => {
    table = await testTable();
    refunds = new DynamoDbRefundStore({ tableName: table.tableName, client: table.documentClient });

    // Old-style: paid at 23:59:59 on 2030-01-01 in Beijing, and one paid with a paidAt naming no instant.
    const oldPaid = await paid('20300101235959');
    keys.oldPaid = { pk: `ORDER#${oldPaid.outTradeNo}`, sk: 'ORDER' };
    const oddPaid = await paid('no time');
    keys.oddPaid = { pk: `ORDER#${oddPaid.outTradeNo}`, sk: 'ORDER' };
    // Already filed by the live write: left as it is.
    const newPaid = await paid('20300102100000');
    keys.newPaid = { pk: `ORDER#${newPaid.outTradeNo}`, sk: 'ORDER' };
    // Not final: never filed.
    const pending = orderFixture({ status: 'PENDING' });
    await table.store.create(pending);
    keys.pending = { pk: `ORDER#${pending.outTradeNo}`, sk: 'ORDER' };

    const refunded = paidOrder();
    await table.store.create(refunded);
    // Accepted at 23:59:58 on 2030-01-03 in Beijing, made SUCCESS after midnight.
    const oldRefund = newRefund(refunded, 300, { createdAt: '2030-01-03T15:59:00.000Z' });
    await refunds.createRefund(oldRefund);
    await refunds.recordAcceptance(refunded.outTradeNo, oldRefund.outRefundNo, {
      acceptedAt: '2030-01-03T15:59:58.000Z',
    });
    await refunds.transitionRefund({
      outTradeNo: refunded.outTradeNo,
      outRefundNo: oldRefund.outRefundNo,
      to: 'SUCCESS',
      at: '2030-01-03T16:05:00.000Z',
      source: 'notify',
      refundId: '50300000000101',
    });
    keys.oldRefund = { pk: `ORDER#${refunded.outTradeNo}`, sk: `REFUND#${oldRefund.outRefundNo}` };
    const openRefund = newRefund(refunded, 200);
    await refunds.createRefund(openRefund);
    keys.openRefund = { pk: `ORDER#${refunded.outTradeNo}`, sk: `REFUND#${openRefund.outRefundNo}` };
    keys.refundedOrder = { pk: `ORDER#${refunded.outTradeNo}`, sk: 'ORDER' };

    for (const [name, key] of Object.entries(keys)) live[name] = await raw(key);
    for (const name of ['oldPaid', 'oddPaid', 'oldRefund', 'refundedOrder']) await strip(keys[name] as Key);
    // A filed item whose attributes differ from what the backfill would compute: proof it is not rewritten.
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: keys.newPaid,
        UpdateExpression: 'SET settledFen = :marked',
        ExpressionAttributeValues: { ':marked': 1 },
      }),
    );
  });

  it('gives old PAID orders and SUCCESS refunds what the live write sets, and touches nothing else', async () => {
    const before: Record<string, Record<string, unknown>> = {};
    for (const [name, key] of Object.entries(keys)) before[name] = await raw(key);
    expect(before.oldPaid).not.toHaveProperty('settledKey');
    expect(before.oldRefund).not.toHaveProperty('settledKey');

    // Small pages over several segments: every page of every segment is read.
    const counts = await backfillSettledIndex({
      tableName: table.tableName,
      client: table.documentClient,
      segments: 3,
      pageLimit: 2,
    });
    // The refunded order was created PAID (paidOrder) and stripped too: it is filed as well.
    expect(counts).toMatchObject({ orders: 3, refunds: 1, skipped: 0, unfiled: 0 });
    expect(counts.scanned).toBeGreaterThanOrEqual(Object.keys(keys).length);

    for (const name of ['oldPaid', 'oddPaid', 'oldRefund', 'refundedOrder']) {
      const after = await raw(keys[name] as Key);
      // Exactly the live write's attributes, and nothing else changed.
      expect(after).toEqual({ ...before[name], ...pick(live[name] ?? {}, SETTLED) });
      expect(after.settledKey).toBeDefined();
    }
    for (const name of ['newPaid', 'pending', 'openRefund']) {
      expect(await raw(keys[name] as Key)).toEqual(before[name]);
    }
    expect(before.pending).not.toHaveProperty('settledKey');
    expect(before.openRefund).not.toHaveProperty('settledKey');

    const settled = new DynamoDbSettledRecords({ tableName: table.tableName, client: table.documentClient });
    const listed = async (day: string): Promise<SettledRecord[]> => {
      const records: SettledRecord[] = [];
      for await (const record of settled.listSettled(day)) records.push(record);
      return records;
    };
    expect((await listed('2030-01-01')).map((r) => r.outTradeNo)).toContain(keys.oldPaid?.pk.slice('ORDER#'.length));
    expect(await listed('2030-01-03')).toEqual([
      expect.objectContaining({ kind: 'refund', refund: 300, refundId: '50300000000101' }),
    ]);
  });

  it('a second run changes nothing', async () => {
    const before: Record<string, Record<string, unknown>> = {};
    for (const [name, key] of Object.entries(keys)) before[name] = await raw(key);
    const counts = await backfillSettledIndex({ tableName: table.tableName, client: table.documentClient });
    expect(counts).toMatchObject({ orders: 0, refunds: 0, skipped: 0, unfiled: 0 });
    for (const [name, key] of Object.entries(keys)) expect(await raw(key)).toEqual(before[name]);
  });
});

function pick(item: Record<string, unknown>, attributes: readonly string[]): Record<string, unknown> {
  return Object.fromEntries(attributes.filter((a) => item[a] !== undefined).map((a) => [a, item[a]]));
}
