import { createHash } from 'node:crypto';

import { canStillChange } from '../domain/lifecycle';
import type { HistoryEntry, Order, OrderStatus, PaymentFacts } from '../domain/order';
import { paidAtInstant } from '../domain/payment-time';
import type { NotificationRecord, UnverifiedNotification } from '../domain/ports';
import { ValidationError } from '../domain/errors';
import {
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  DUE_INDEX,
  notificationSortKey,
  ORDER_SORT_KEY,
  orderPartition,
  PARTITION_KEY,
  REFUND_COUNTERS,
  SETTLED_INDEX,
  SORT_KEY,
  SWEEP_REQUEUES_ATTRIBUTE,
  NOTIFICATION_TTL_DAYS,
  shardOfDigest,
  TTL_ATTRIBUTE,
  unmatchedNotificationsPartition,
  UNVERIFIED_NOTIFICATION_TTL_DAYS,
  unverifiedNotificationsPartition,
  unverifiedSortKey,
} from './table-schema';
import { settledAttributes } from './dynamodb-settled-index';

/** An item as the document client reads and writes it. */
export type Item = Record<string, unknown>;

/** Attributes that belong to the table's layout, not to the domain record. */
const LAYOUT_ATTRIBUTES = [
  PARTITION_KEY,
  SORT_KEY,
  DUE_INDEX.partitionKey,
  TTL_ATTRIBUTE,
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  SWEEP_REQUEUES_ATTRIBUTE,
  ...Object.values(REFUND_COUNTERS),
  SETTLED_INDEX.partitionKey,
  ...SETTLED_INDEX.nonKeyAttributes,
];

/**
 * Domain records are plain JSON data. What a JSON round trip makes of them: members set to undefined
 * dropped (DynamoDB refuses them) at any depth, whatever options the injected client was built with.
 * Copied directly, since every write of a notification pays for it (its body included): strings,
 * finite numbers, booleans, null, arrays and plain objects; anything else (a Date, a non-finite number,
 * an undefined in a list…) goes through JSON itself, so the result is the round trip's.
 */
export function plainData<T>(value: T): T {
  return copyPlain(value) as T;
}

function copyPlain(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      // + 0 turns -0 into 0, as JSON writes it.
      return Number.isFinite(value) ? value + 0 : viaJson(value);
    case 'object': {
      if (value === null) return null;
      if (Array.isArray(value)) {
        const list: unknown[] = new Array(value.length);
        for (let i = 0; i < value.length; i += 1) {
          const item: unknown = value[i];
          // JSON writes these as null in a list; left to it.
          if (item === undefined || typeof item === 'function' || typeof item === 'symbol') return viaJson(value);
          list[i] = copyPlain(item);
        }
        return list;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if ((prototype !== Object.prototype && prototype !== null) || 'toJSON' in value) return viaJson(value);
      const copy: Record<string, unknown> = {};
      for (const key of Object.keys(value)) {
        const member: unknown = (value as Record<string, unknown>)[key];
        if (member === undefined || typeof member === 'function' || typeof member === 'symbol') continue;
        if (key === '__proto__') return viaJson(value);
        copy[key] = copyPlain(member);
      }
      return copy;
    }
    default:
      return viaJson(value);
  }
}

function viaJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value)) as unknown;
}

export function orderKey(outTradeNo: string): Item {
  return { [PARTITION_KEY]: orderPartition(outTradeNo), [SORT_KEY]: ORDER_SORT_KEY };
}

/** `dueKey` is the order's partition of the due index (DynamoDbDueIndex.keyFor). */
export function toOrderItem(order: Order, dueKey: string): Item {
  const { requeues, refunds, ...rest } = plainData(order);
  const item: Item = { ...rest, ...orderKey(order.outTradeNo) };
  if (requeues !== undefined) item[SWEEP_REQUEUES_ATTRIBUTE] = requeues;
  // Top-level numbers, as the refund store's transactions add to them (see table-schema.ts).
  if (refunds !== undefined) {
    item[REFUND_COUNTERS.refunded] = refunds.refunded;
    item[REFUND_COUNTERS.pending] = refunds.pending;
    item[REFUND_COUNTERS.committed] = refunds.refunded + refunds.pending;
    item[REFUND_COUNTERS.count] = refunds.count;
  }
  // Only orders that still need a look carry the due index's key, so the index stays sparse.
  if (canStillChange(order.status)) item[DUE_INDEX.partitionKey] = dueKey;
  // An order put PAID is settled by that write, as one moved to PAID is (see table-schema.ts).
  if (order.status === 'PAID' && order.payment) {
    Object.assign(item, settledPaymentAttributes(order.outTradeNo, order.payment, order.updatedAt));
  }
  return item;
}

/**
 * The settled index's attributes of an order made PAID by `payment` (see table-schema.ts): on the
 * Beijing day of its paidAt, which is the day WeChat bills it. A paidAt that names no instant (the
 * domain checks it before; this is not the place to refuse a payment WeChat took) falls back to `at`,
 * when the order became PAID here, so the order is still listed on some day rather than on none.
 */
export function settledPaymentAttributes(outTradeNo: string, payment: PaymentFacts, at: string): Item {
  const instant = paidAtInstant(payment.paidAt) ?? new Date(at);
  const key = orderKey(outTradeNo);
  return settledAttributes(
    { pk: String(key[PARTITION_KEY]), sk: String(key[SORT_KEY]) },
    instant,
    payment.amountTotal,
    payment.transactionId,
  );
}

/**
 * History entries appended by a transition are stored without `from`: one UpdateItem cannot copy
 * the current status into the entry it appends. Every status change appends its entry in the same
 * write, so the state an entry left is the state the entry before it entered; it is filled in here.
 * An entry with no predecessor (an order created with an empty history) reads `from: null`.
 */
export function fromOrderItem(item: Item): Order {
  const order = withoutLayout(item) as unknown as Order;
  // The count of checks put back is kept under the sweep's name (it counted only the sweep's at first).
  const requeues = item[SWEEP_REQUEUES_ATTRIBUTE];
  if (typeof requeues === 'number' && requeues > 0) order.requeues = requeues;
  // The counters exist from the order's first refund on.
  if (item[REFUND_COUNTERS.count] !== undefined) {
    order.refunds = {
      refunded: Number(item[REFUND_COUNTERS.refunded] ?? 0),
      pending: Number(item[REFUND_COUNTERS.pending] ?? 0),
      count: Number(item[REFUND_COUNTERS.count]),
    };
  }
  let previous: OrderStatus | null = null;
  const history = (order.history ?? []).map((entry: HistoryEntry) => {
    const complete = { ...entry, from: entry.from === undefined ? previous : entry.from };
    previous = entry.to;
    return complete;
  });
  return { ...order, history };
}

/** A verified notification as an item of its own: under its order, or a shard of the unmatched ones. */
export function toNotificationItem(record: NotificationRecord, shards: number): Item {
  const partition =
    record.outTradeNo !== undefined
      ? orderPartition(record.outTradeNo)
      : unmatchedNotificationsPartition(shardOfDigest(record.bodySha256, shards));
  return {
    ...plainData(record),
    [PARTITION_KEY]: partition,
    [SORT_KEY]: notificationSortKey(record.bodySha256),
    [TTL_ATTRIBUTE]: expiry(record.receivedAt, NOTIFICATION_TTL_DAYS),
  };
}

/** The traces of an unverified notification, on a shard picked by its id, expiring within days. */
export function toUnverifiedItem(record: UnverifiedNotification, shards: number): Item {
  const shard = shardOfDigest(createHash('sha256').update(record.id).digest('hex'), shards);
  return {
    ...plainData(record),
    [PARTITION_KEY]: unverifiedNotificationsPartition(shard),
    [SORT_KEY]: unverifiedSortKey(record.receivedAt, record.id),
    [TTL_ATTRIBUTE]: expiry(record.receivedAt, UNVERIFIED_NOTIFICATION_TTL_DAYS),
  };
}

/** The notifications kept on an order item (see table-schema.ts). */
export function appliedNotificationsOf(item: Item): NotificationRecord[] {
  const records = item[APPLIED_NOTIFICATIONS_ATTRIBUTE];
  return Array.isArray(records) ? (records as NotificationRecord[]) : [];
}

export function fromNotificationItem(item: Item): NotificationRecord {
  return withoutLayout(item) as unknown as NotificationRecord;
}

/** The TTL (epoch seconds) of an item that expires `days` after the instant `receivedAt`. */
export function expiry(receivedAt: string, days: number): number {
  const receivedMs = Date.parse(receivedAt);
  if (Number.isNaN(receivedMs)) {
    throw new ValidationError(`receivedAt is not an ISO 8601 instant: ${receivedAt}`, 'receivedAt');
  }
  return Math.floor(receivedMs / 1000) + days * 24 * 60 * 60;
}

function withoutLayout(item: Item): Item {
  const record: Item = { ...item };
  for (const attribute of LAYOUT_ATTRIBUTES) delete record[attribute];
  return record;
}
