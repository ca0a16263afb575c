import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { DynamoDbEventLog } from '#shared/adapters/dynamodb-event-log';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import type { DomainEvent } from '#shared/domain/events';
import type { Order } from '#shared/domain/order';
import type { NotificationRecord } from '#shared/domain/ports';
import type { Refund } from '#shared/domain/refund';
import { orderEventIds } from './order-events';

/** Everything the store holds about one order, as its adapters read it. */
export interface OrderRecord {
  order: Order;
  /** The order's own notifications (payment), oldest first. */
  notifications: NotificationRecord[];
  /** Oldest first, each with the notifications that changed it. */
  refunds: Array<{ refund: Refund; notifications: NotificationRecord[] }>;
  /** Of the order and its refunds, oldest first. */
  events: DomainEvent[];
}

export interface OrderTable {
  client: DynamoDBDocumentClient;
  tableName: string;
}

/** The order's record, or undefined when the table has no such order. */
export async function readOrderRecord(table: OrderTable, outTradeNo: string): Promise<OrderRecord | undefined> {
  const orders = new DynamoDbOrderStore({ tableName: table.tableName, client: table.client });
  const refundStore = new DynamoDbRefundStore({ tableName: table.tableName, client: table.client });
  const eventLog = new DynamoDbEventLog({ tableName: table.tableName, client: table.client });
  const order = await orders.get(outTradeNo);
  if (order === undefined) return undefined;
  const [notifications, refunds] = await Promise.all([
    orders.listNotifications(outTradeNo),
    refundStore.listRefunds(outTradeNo),
  ]);
  const [withNotifications, events] = await Promise.all([
    Promise.all(
      refunds.map(async (refund) => ({
        refund,
        notifications: await refundStore.refundNotifications(outTradeNo, refund.outRefundNo),
      })),
    ),
    eventLog.getByIds(
      orderEventIds(
        outTradeNo,
        refunds.map((r) => r.outRefundNo),
      ),
    ),
  ]);
  return { order, notifications, refunds: withNotifications, events };
}
