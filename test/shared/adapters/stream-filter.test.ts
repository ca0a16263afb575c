import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

import { toOrderItem } from '#shared/adapters/dynamodb-order-item';
import { toRefundItem } from '#shared/adapters/dynamodb-refund-item';
import { matchesStreamFilter } from '#shared/adapters/stream-filter';
import {
  EVENT_SORT_KEY,
  eventPartition,
  notificationSortKey,
  orderPartition,
  REFUND_NUMBER_SORT_KEY,
  refundNumberPartition,
} from '#shared/adapters/table-schema';
import type { Order, OrderStatus } from '#shared/domain/order';
import type { Refund, RefundStatus } from '#shared/domain/refund';
import { at, orderFixture } from '#test/helpers/order-fixtures';

type Name = DynamoDBRecord['eventName'];

/** A stream record of an item as the table stores it (NEW_AND_OLD_IMAGES; REMOVE has no new image). */
function record(eventName: Name, item: Record<string, unknown>): DynamoDBRecord {
  const image = (value: Record<string, unknown>) =>
    marshall(value, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;
  return {
    eventName,
    eventSource: 'aws:dynamodb',
    dynamodb: {
      Keys: image({ pk: item.pk, sk: item.sk }),
      ...(eventName === 'REMOVE' ? { OldImage: image(item) } : { NewImage: image(item) }),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const order = (status: OrderStatus): Order => orderFixture({ status });
const orderItem = (status: OrderStatus) => toOrderItem(order(status), 'DUE#0');

function refundItem(status: RefundStatus): Record<string, unknown> {
  const refund: Refund = {
    outRefundNo: 'R1',
    outTradeNo: order('PAID').outTradeNo,
    status,
    amount: { refund: 30, total: 1999, currency: 'CNY' },
    requestHash: 'r'.repeat(64),
    createdAt: at(100),
    updatedAt: at(100),
    history: [],
  } as unknown as Refund;
  return toRefundItem(refund, 'RDUE#0');
}

describe('matchesStreamFilter', () => {
  it.each(['PAID', 'FAILED', 'CLOSED'] as const)('admits a write leaving an order %s', (status) => {
    expect(matchesStreamFilter(record('INSERT', orderItem(status)))).toBe(true);
    expect(matchesStreamFilter(record('MODIFY', orderItem(status)))).toBe(true);
  });

  it.each(['CREATED', 'PENDING'] as const)('drops a write leaving an order %s (no event)', (status) => {
    expect(matchesStreamFilter(record('INSERT', orderItem(status)))).toBe(false);
    expect(matchesStreamFilter(record('MODIFY', orderItem(status)))).toBe(false);
  });

  it.each(['SUCCESS', 'CLOSED', 'ABNORMAL'] as const)('admits a write leaving a refund %s', (status) => {
    expect(matchesStreamFilter(record('INSERT', refundItem(status)))).toBe(true);
    expect(matchesStreamFilter(record('MODIFY', refundItem(status)))).toBe(true);
  });

  it('drops a refund still PROCESSING', () => {
    expect(matchesStreamFilter(record('MODIFY', refundItem('PROCESSING')))).toBe(false);
  });

  it('drops deletions, even of an order or refund in an event status', () => {
    expect(matchesStreamFilter(record('REMOVE', orderItem('PAID')))).toBe(false);
    expect(matchesStreamFilter(record('REMOVE', refundItem('SUCCESS')))).toBe(false);
  });

  it('keeps the two kinds apart: a refund status on an order item does not pass, nor the reverse', () => {
    expect(matchesStreamFilter(record('MODIFY', { ...orderItem('PAID'), status: 'SUCCESS' }))).toBe(false);
    expect(matchesStreamFilter(record('MODIFY', { ...refundItem('SUCCESS'), status: 'PAID' }))).toBe(false);
  });

  it('drops the other items of the table: notifications, claims, the event items themselves', () => {
    const pk = orderPartition('T1');
    const other = [
      { pk, sk: notificationSortKey('ab'.repeat(32)), status: 'PAID' },
      { pk: refundNumberPartition('R1'), sk: REFUND_NUMBER_SORT_KEY, outTradeNo: 'T1' },
      { pk: eventPartition('evt_1'), sk: EVENT_SORT_KEY, eventType: 'payment.succeeded', status: 'PAID' },
    ];
    for (const item of other) expect(matchesStreamFilter(record('INSERT', item))).toBe(false);
  });

  it('drops a record without a new image', () => {
    const { NewImage: _dropped, ...dynamodb } = record('MODIFY', orderItem('PAID')).dynamodb ?? {};
    expect(matchesStreamFilter({ eventName: 'MODIFY', dynamodb })).toBe(false);
  });
});
