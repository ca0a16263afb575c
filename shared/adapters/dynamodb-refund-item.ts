import type { NotificationRecord } from '../domain/ports';
import type { Refund, RefundHistoryEntry, RefundStatus } from '../domain/refund';
import { refundCanStillChange } from '../domain/refund-lifecycle';
import { plainData } from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import {
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  DUE_INDEX,
  orderPartition,
  PARTITION_KEY,
  REFUND_REVISION_ATTRIBUTE,
  refundSortKey,
  SETTLED_INDEX,
  SORT_KEY,
} from './table-schema';
import { settledAttributes } from './dynamodb-settled-index';

/** Attributes of a refund item that belong to the table's layout, not to the domain record. */
const LAYOUT_ATTRIBUTES = [
  PARTITION_KEY,
  SORT_KEY,
  DUE_INDEX.partitionKey,
  APPLIED_NOTIFICATIONS_ATTRIBUTE,
  REFUND_REVISION_ATTRIBUTE,
  SETTLED_INDEX.partitionKey,
  ...SETTLED_INDEX.nonKeyAttributes,
];

/** A refund lives in its order's partition (see table-schema.ts). */
export function refundKey(outTradeNo: string, outRefundNo: string): Item {
  return { [PARTITION_KEY]: orderPartition(outTradeNo), [SORT_KEY]: refundSortKey(outRefundNo) };
}

/** A new refund's item, at revision 1; `dueKey` is its partition of the due index (refundKeyFor). */
export function toRefundItem(refund: Refund, dueKey: string): Item {
  const item: Item = {
    ...plainData(refund),
    ...refundKey(refund.outTradeNo, refund.outRefundNo),
    [REFUND_REVISION_ATTRIBUTE]: 1,
  };
  // Only refunds WeChat may still move carry the due index's key, so the index stays sparse.
  if (refundCanStillChange(refund.status)) item[DUE_INDEX.partitionKey] = dueKey;
  return item;
}

/**
 * The refund of an item. History entries appended by a transition are stored without `from` (one
 * UpdateItem cannot copy the current status into the entry it appends); each is filled in from the
 * entry before it, as for orders.
 */
export function fromRefundItem(item: Item): Refund {
  const refund = { ...item };
  for (const attribute of LAYOUT_ATTRIBUTES) delete refund[attribute];
  let previous: RefundStatus | null = null;
  const history = ((refund.history ?? []) as RefundHistoryEntry[]).map((entry) => {
    const complete = { ...entry, from: entry.from === undefined ? previous : entry.from };
    previous = entry.to;
    return complete;
  });
  return { ...(refund as unknown as Refund), history };
}

/**
 * The settled index's attributes of `refund` made SUCCESS (see table-schema.ts): on the Beijing day
 * WeChat accepted it, which is the day its bill lists it on. A refund whose acceptance was never
 * recorded (its SUCCESS was the first answer heard) was applied for when it was created here; `at`,
 * the transition's instant, only if neither is an instant.
 */
export function settledRefundAttributes(refund: Refund, refundId: string | undefined, at: string): Item {
  const key = refundKey(refund.outTradeNo, refund.outRefundNo);
  const instant = [refund.acceptedAt, refund.createdAt, at]
    .map((text) => (text === undefined ? Number.NaN : Date.parse(text)))
    .find((ms) => !Number.isNaN(ms));
  return settledAttributes(
    { pk: String(key[PARTITION_KEY]), sk: String(key[SORT_KEY]) },
    new Date(instant ?? Number.NaN),
    refund.amount.refund,
    refundId,
  );
}

/** The revision of a refund item (see REFUND_REVISION_ATTRIBUTE). */
export function revisionOf(item: Item): number {
  return Number(item[REFUND_REVISION_ATTRIBUTE] ?? 0);
}

/** The notifications kept on a refund item: those that changed it. */
export function refundNotificationsOf(item: Item): NotificationRecord[] {
  const records = item[APPLIED_NOTIFICATIONS_ATTRIBUTE];
  return Array.isArray(records) ? (records as NotificationRecord[]) : [];
}
