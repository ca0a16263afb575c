/**
 * The orders table's design, shared by the CDK stack, the local stack and the DynamoDB adapter so the
 * three cannot drift apart. Every key attribute is a string (S).
 *
 * One table holds two kinds of items, side by side under the order's partition:
 * - the order:         pk = ORDER#<out_trade_no>, sk = ORDER
 * - each notification: pk = ORDER#<out_trade_no>, sk = NOTIFY#<receivedAt>#<id>
 *   (pk = NOTIFY#UNMATCHED when the notification is unproven or names no order of ours; those expire through `ttl`),
 *   except one that changes the order: it is kept on the order item (`appliedNotifications`), written
 *   by the same conditional write as the change, so the change and its evidence cannot part.
 *
 * The due index is sparse: only orders WeChat may still move (lifecycle canStillChange) carry `dueKey`,
 * so the reconciler's sweep reads exactly the orders that still need a look, oldest `nextCheckAt` first.
 */

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** Epoch seconds; DynamoDB deletes the item some time after it passes. */
export const TTL_ATTRIBUTE = 'ttl';

export const DUE_INDEX = {
  name: 'due-index',
  partitionKey: 'dueKey',
  sortKey: 'nextCheckAt',
  /** Keys only: out_trade_no is derivable from pk, and the sweep reads the order anyway. */
  projection: 'KEYS_ONLY',
} as const;

/**
 * The one value of `dueKey` before the index was sharded (one partition for every due order). Orders
 * written by an older release still carry it until their next write, so the sweep keeps reading it.
 */
export const DUE_KEY_VALUE = 'DUE';
/** `dueKey` is `DUE#<shard>`: a stable hash of out_trade_no picks the shard (see dynamodb-due-index.ts). */
export const DUE_SHARD_PREFIX = 'DUE#';
/** How many shards writes spread over unless DUE_INDEX_SHARDS says otherwise. */
export const DEFAULT_DUE_INDEX_SHARDS = 8;
/**
 * The sweep reads every shard up to this ceiling whatever the configured count, so the count can be
 * changed either way without hiding an order written under the old one.
 */
export const MAX_DUE_INDEX_SHARDS = 32;
/** On the order item: how often the sweep re-enqueued its check since a check last completed. */
export const SWEEP_REQUEUES_ATTRIBUTE = 'sweepRequeues';
/** On the order item: when the sweep gave up re-enqueueing its check (it left the due index then). */
export const CHECKS_EXHAUSTED_ATTRIBUTE = 'checksExhaustedAt';

export const ORDER_SORT_KEY = 'ORDER';
/** On the order item: the notifications that changed it, as NotificationRecords. */
export const APPLIED_NOTIFICATIONS_ATTRIBUTE = 'appliedNotifications';
export const NOTIFICATION_SORT_PREFIX = 'NOTIFY#';
export const UNMATCHED_NOTIFICATIONS_PARTITION = 'NOTIFY#UNMATCHED';
/** Unmatched notifications are kept this long for audit, then expire. */
export const UNMATCHED_NOTIFICATION_TTL_DAYS = 400;

const ORDER_PARTITION_PREFIX = 'ORDER#';

export function orderPartition(outTradeNo: string): string {
  return `${ORDER_PARTITION_PREFIX}${outTradeNo}`;
}

/** The out_trade_no of an order partition key, or undefined for any other partition. */
export function outTradeNoOfPartition(pk: string): string | undefined {
  return pk.startsWith(ORDER_PARTITION_PREFIX) ? pk.slice(ORDER_PARTITION_PREFIX.length) : undefined;
}

/** Sorts a partition's notifications by arrival; the id keeps simultaneous ones apart. */
export function notificationSortKey(receivedAt: string, id: string): string {
  return `${NOTIFICATION_SORT_PREFIX}${receivedAt}#${id}`;
}
