import { randomUUID } from 'node:crypto';
import { DeleteCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbEventLog } from '#shared/adapters/dynamodb-event-log';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import { changeFromStreamRecord, StreamRecordError } from '#shared/adapters/dynamodb-stream-changes';
import { eventTypeOf } from '#shared/domain/events';
import { sha256 } from '#shared/domain/notification-receipts';
import type { PaymentFacts } from '#shared/domain/order';
import type { NotificationRecord } from '#shared/domain/ports';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { sampleEvent } from '#test/helpers/event-log-contract';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';
import { TableStreamReader } from '#test/helpers/table-stream';

// Real stream records: items written by the real stores to a DynamoDB Local table with the stream the
// table schema asks for, read back with the Streams API and decoded as the events Lambda will.

let table: TestTable;
let refunds: DynamoDbRefundStore;
let stream: TableStreamReader;

beforeAll(async () => {
  table = await testTable();
  refunds = new DynamoDbRefundStore({ tableName: table.tableName, client: table.documentClient });
  stream = new TableStreamReader(table.client, table.tableName);
});

const payment: PaymentFacts = {
  transactionId: '4200001234567890123456789012',
  amountTotal: 1999,
  currency: 'CNY',
  paidAt: '20300101080510',
  bankType: 'OTHERS',
};

function notification(outTradeNo: string): NotificationRecord {
  const body = `<xml>${randomUUID()}</xml>`;
  return {
    id: randomUUID(),
    bodySha256: sha256(body),
    outTradeNo,
    receivedAt: at(100),
    apiVersion: 'v2',
    outcome: 'accepted',
    body,
  };
}

const changesOf = (records: DynamoDBRecord[]) => records.map(changeFromStreamRecord);

describe('changeFromStreamRecord on real stream records', () => {
  it("tells an order's creation and each status change, before and after as the store reads them", async () => {
    const order = orderFixture();
    await table.store.create(order);
    const created = await table.store.get(order.outTradeNo);
    await table.store.transition({ outTradeNo: order.outTradeNo, to: 'PENDING', at: at(1), source: 'api' });
    const pending = await table.store.get(order.outTradeNo);
    await table.store.transition({
      outTradeNo: order.outTradeNo,
      to: 'PAID',
      at: at(100),
      source: 'notify',
      payment,
      expectAmount: { total: 1999, currency: 'CNY' },
      notification: notification(order.outTradeNo),
    });
    const paid = await table.store.get(order.outTradeNo);

    const records = await stream.recordsOf(`ORDER#${order.outTradeNo}`);
    expect(records.map((r) => r.eventName)).toEqual(['INSERT', 'MODIFY', 'MODIFY']);
    const changes = changesOf(records);
    expect(changes).toEqual([
      { kind: 'payment', after: created },
      { kind: 'payment', before: created, after: pending },
      { kind: 'payment', before: pending, after: paid },
    ]);
    // The layout (keys, the notification kept on the item) stays out; the paid change names its event.
    expect(paid).not.toHaveProperty('appliedNotifications');
    expect(changes.map((c) => c && eventTypeOf(c))).toEqual([undefined, undefined, 'payment.succeeded']);
  });

  it("tells a refund's creation and outcome and the order's counters moving, not the number's claim", async () => {
    const order = paidOrder();
    await table.store.create(order);
    const refund = newRefund(order, 500);
    await refunds.createRefund(refund);
    const processing = await refunds.getRefund(order.outTradeNo, refund.outRefundNo);
    const withPending = await table.store.get(order.outTradeNo);
    await refunds.transitionRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: refund.outRefundNo,
      to: 'SUCCESS',
      at: at(300),
      source: 'notify',
      successTime: '2030-01-01T08:05:00+08:00',
    });
    const succeeded = await refunds.getRefund(order.outTradeNo, refund.outRefundNo);
    const refunded = await table.store.get(order.outTradeNo);

    const all = await stream.records();
    const claims = all.filter((r) => r.dynamodb?.Keys?.pk?.S === `REFUNDNO#${refund.outRefundNo}`);
    expect(claims.map((r) => r.eventName)).toEqual(['INSERT']);
    expect(changesOf(claims)).toEqual([undefined]);

    const refundRecords = all.filter((r) => r.dynamodb?.Keys?.sk?.S === `REFUND#${refund.outRefundNo}`);
    expect(changesOf(refundRecords)).toEqual([
      { kind: 'refund', after: processing },
      { kind: 'refund', before: processing, after: succeeded },
    ]);
    expect(succeeded?.status).toBe('SUCCESS');
    expect(changesOf(refundRecords).map((c) => c && eventTypeOf(c))).toEqual([undefined, 'refund.succeeded']);

    const orderRecords = all.filter(
      (r) => r.dynamodb?.Keys?.pk?.S === `ORDER#${order.outTradeNo}` && r.dynamodb.Keys.sk?.S === 'ORDER',
    );
    expect(changesOf(orderRecords)).toEqual([
      { kind: 'payment', after: order },
      { kind: 'payment', before: order, after: withPending },
      { kind: 'payment', before: withPending, after: refunded },
    ]);
    // The order stays PAID through its refunds: no payment event.
    expect(changesOf(orderRecords).map((c) => c && eventTypeOf(c))).toEqual([
      'payment.succeeded',
      undefined,
      undefined,
    ]);
  });

  it('passes over notifications kept apart, unverified traces, event items and removals', async () => {
    const order = orderFixture();
    await table.store.create(order);
    await table.store.recordNotification(notification(order.outTradeNo));
    const unmatched = notification(order.outTradeNo);
    delete unmatched.outTradeNo;
    await table.store.recordNotification(unmatched);
    await table.store.recordUnverified({
      id: randomUUID(),
      receivedAt: at(5),
      apiVersion: 'v3',
      bodySha256: sha256('x'),
      bodyBytes: 1,
      sourceIp: '203.0.113.9',
      reason: 'BAD_SIGNATURE',
    });
    const event = sampleEvent();
    await new DynamoDbEventLog({ tableName: table.tableName, client: table.documentClient }).record(event);
    await table.documentClient.send(
      new DeleteCommand({ TableName: table.tableName, Key: { pk: `ORDER#${order.outTradeNo}`, sk: 'ORDER' } }),
    );

    const all = await stream.records();
    const ofOrder = all.filter((r) => r.dynamodb?.Keys?.pk?.S === `ORDER#${order.outTradeNo}`);
    expect(ofOrder.map((r) => [r.eventName, r.dynamodb?.Keys?.sk?.S?.split('#')[0]])).toEqual([
      ['INSERT', 'ORDER'],
      ['INSERT', 'NOTIFY'],
      ['REMOVE', 'ORDER'],
    ]);
    expect(changesOf(ofOrder).map((c) => c?.kind)).toEqual(['payment', undefined, undefined]);
    const others = all.filter((r) => /^(NOTIFY|EVENT)#/.test(r.dynamodb?.Keys?.pk?.S ?? ''));
    // The unmatched notification, the unverified traces, the event: only this test writes such items.
    expect(others.map((r) => [r.eventName, r.dynamodb?.Keys?.pk?.S?.split('#')[0]]).sort()).toEqual([
      ['INSERT', 'EVENT'],
      ['INSERT', 'NOTIFY'],
      ['INSERT', 'NOTIFY'],
    ]);
    expect(others.some((r) => r.dynamodb?.Keys?.pk?.S === `EVENT#${event.id}`)).toBe(true);
    expect(changesOf(others).every((c) => c === undefined)).toBe(true);
  });

  describe('refuses, rather than skips, an order or refund record it cannot read', () => {
    async function realModify(): Promise<DynamoDBRecord> {
      const order = orderFixture();
      await table.store.create(order);
      await table.store.transition({ outTradeNo: order.outTradeNo, to: 'PENDING', at: at(1), source: 'api' });
      const records = await stream.recordsOf(`ORDER#${order.outTradeNo}`);
      return records.find((r) => r.eventName === 'MODIFY')!;
    }

    it('a record without its images (a stream of another view type)', async () => {
      const record = await realModify();
      const keysOnly = { ...record, dynamodb: { ...record.dynamodb, NewImage: undefined, OldImage: undefined } };
      expect(() => changeFromStreamRecord(keysOnly)).toThrow(StreamRecordError);
      expect(() => changeFromStreamRecord(keysOnly)).toThrow(/NEW_AND_OLD_IMAGES/);
      const newOnly = { ...record, dynamodb: { ...record.dynamodb, OldImage: undefined } };
      expect(() => changeFromStreamRecord(newOnly)).toThrow(StreamRecordError);
    });

    it('an image that is not an order item, naming the field but not its value', async () => {
      const record = await realModify();
      const image = { ...record.dynamodb!.NewImage!, status: { S: 'SHIPPED' } };
      const broken = { ...record, dynamodb: { ...record.dynamodb, NewImage: image } };
      const error: unknown = (() => {
        try {
          return changeFromStreamRecord(broken);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(StreamRecordError);
      expect((error as Error).message).toMatch(/status/);
      expect((error as Error).message).not.toMatch(/SHIPPED/);
    });
  });
});
