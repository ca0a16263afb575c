/**
 * The orders table's design, shared by the CDK stack, the local stack and the DynamoDB adapter so the
 * three cannot drift apart. Every key attribute is a string (S).
 *
 * One table holds two kinds of items, side by side under the order's partition:
 * - the order:         pk = ORDER#<out_trade_no>, sk = ORDER
 * - each verified notification: pk = ORDER#<out_trade_no>, sk = NOTIFY#<sha256 of the body>, so a
 *   duplicate is kept once (pk = NOTIFY#UNMATCHED#<shard> when it names no order of ours); each expires
 *   through `ttl`; except one that changes the order: it is kept on the order item (`appliedNotifications`),
 *   written by the same conditional write as the change, so the change and its evidence cannot part.
 * - the traces of an unverified notification (never its body): pk = NOTIFY#UNVERIFIED#<shard>,
 *   sk = NOTIFY#<receivedAt>#<id>, expiring within days.
 * - each refund: pk = ORDER#<out_trade_no>, sk = REFUND#<out_refund_no>, so an order's refunds are one
 *   Query; the notifications that changed it are kept on it (`appliedNotifications`), as on the order.
 *   The order item carries the refund counters as top-level numbers (REFUND_COUNTERS), moved by the same
 *   transaction as the refund: a nested map cannot be created and incremented by one expression.
 * - each out_refund_no's claim: pk = REFUNDNO#<out_refund_no>, sk = REFUNDNO, holding the outTradeNo of
 *   the order it refunds. WeChat keeps out_refund_no unique per merchant, not per order; the refund's
 *   creation puts the claim in the same transaction, so one number never names refunds of two orders.
 *   It is never removed: a CLOSED refund's number stays used at WeChat too.
 * - each event to the app backend (shared/domain/events.ts): pk = EVENT#<event id>, sk = EVENT, put only
 *   if absent, so an event derived again from a redelivered change is kept once. It holds eventType,
 *   createdAt, outTradeNo, outRefundNo?, data (the API view, as a map), recordedAt and ttl (recordedAt +
 *   EVENT_RETENTION_DAYS), and the keys of the events index (EVENTS_INDEX), by which GET /events reads
 *   the log oldest first: eventsKey = EVENTS#<UTC day of recordedAt>, eventsSortKey = <recordedAt>#<event id>.
 *   One partition per day keeps a day's writes in one place without one partition growing for ever,
 *   and a reader walks the days from its cursor's onward.
 * - each mini program user's current login session: pk = MPSESSION#<openid>, sk = MPSESSION, holding
 *   openid, unionid?, appid, sealedSessionKey (the session_key sealed under a key derived from the
 *   AppSecret: see session-key-seal.ts; never the key itself), exchangedAt (ISO, ms), expiresAt (ISO)
 *   and ttl (expiresAt in epoch seconds). Put on the condition that none is kept or the one kept was
 *   exchanged earlier, so a later login wins. It carries no `status`, so the stream filter drops it.
 * - each day's reconciliation report (shared/domain/bill-reconciliation.ts): pk = RECONCILIATION#<bill
 *   date>, sk = RECONCILIATION, holding billDate, the report as a map (`report`) and ttl (reconciledAt +
 *   RECONCILIATION_TTL_DAYS). Put unconditionally: a run of the day again replaces it. It carries no
 *   top-level `status`, so the stream filter drops it.
 * The two notification partitions without an order are sharded (NOTIFY_AUDIT_SHARDS), so a flood
 * spreads over N partitions instead of throttling one.
 *
 * The table has a stream (TABLE_STREAM_VIEW): the events are derived from it (the old and new image of
 * each order and refund item), never written by the transitions, so a status change and its event
 * cannot part. Its consumer skips every other item, the event items included.
 *
 * The due index is sparse: only orders WeChat may still move (lifecycle canStillChange) carry `dueKey`,
 * so the reconciler's sweep reads exactly the orders that still need a look, oldest `nextCheckAt` first.
 * `dueKey` is DUE#<shard> (DUE_INDEX_SHARDS, see dynamodb-due-index.ts); the sweep reads the shards in
 * parallel and merges them. An order whose checks were given up on leaves the index and carries
 * `checksExhaustedAt`, until a renewed prepay puts it back. Refunds WeChat may still move are in the
 * same index under RDUE#<shard>, a prefix the orders' sweep never reads (and the other way round).
 *
 * The settled index (SETTLED_INDEX) is sparse too: it holds what WeChat's trade bill of a Beijing day
 * must list, the orders PAID and the refunds SUCCESS on that day. The write that makes an order PAID
 * (or creates it PAID) sets, in the same write, `settledKey` = SETTLED#<day>#<shard> with day the
 * Beijing date of the payment's paidAt, `settledFen` = the total paid and `settledId` = its
 * transaction_id; the write that makes a refund SUCCESS sets them with day the Beijing date WeChat
 * accepted it (acceptedAt, else createdAt: the day the bill lists it on), the refund's fen and its
 * refund_id (when known). PAID and SUCCESS are final, so they are never removed. The shard
 * (SETTLED_INDEX_SHARDS) is a hash of the item's pk and sk: a busy day takes over 1,000 writes a
 * second, one partition's budget. These attributes are layout, never part of the domain record.
 * Items made PAID / SUCCESS before the index existed get them from the backfill
 * (dynamodb-settled-backfill.ts, `npm run backfill:settled-index`), by the same rule.
 */

// The shard counts are settings (shared/config checks them); the adapters take them from here too.
export { DEFAULT_DUE_INDEX_SHARDS, DEFAULT_NOTIFY_AUDIT_SHARDS, MAX_DUE_INDEX_SHARDS } from '../config/table-shards';

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
/**
 * On the order item (the order's `requeues`): how often its check was put back without completing (the
 * sweep's re-enqueues, the reconciler's retries after running out of time) since a check last completed.
 */
export const SWEEP_REQUEUES_ATTRIBUTE = 'sweepRequeues';
/** On the order item: when its checks were given up on (it left the due index then). */
export const CHECKS_EXHAUSTED_ATTRIBUTE = 'checksExhaustedAt';

/** `dueKey` of a refund that is not final: `RDUE#<shard>`, apart from the orders' shards. */
export const REFUND_DUE_SHARD_PREFIX = 'RDUE#';

/**
 * On the order item: its refund counters in fen (order.refunds). `committed` is refunded + pending, kept
 * as one number so that "this refund still fits in what was paid" is a single comparison in the condition.
 */
export const REFUND_COUNTERS = {
  refunded: 'refundedFen',
  pending: 'refundPendingFen',
  committed: 'refundCommittedFen',
  count: 'refundCount',
} as const;
export const REFUND_SORT_PREFIX = 'REFUND#';
const REFUND_NUMBER_PREFIX = 'REFUNDNO#';
/** The sort key of an out_refund_no's claim (the only item in its partition). */
export const REFUND_NUMBER_SORT_KEY = 'REFUNDNO';
/** On the claim: the out_trade_no of the order whose refund holds the number. */
export const REFUND_NUMBER_OWNER_ATTRIBUTE = 'outTradeNo';
/**
 * On the refund item: a number raised by every write, so a transition that read the refund writes only
 * if nothing changed it since, and can return the refund as written without reading it again.
 */
export const REFUND_REVISION_ATTRIBUTE = 'revision';

export const ORDER_SORT_KEY = 'ORDER';
/** On the order item: the notifications that changed it, as NotificationRecords. */
export const APPLIED_NOTIFICATIONS_ATTRIBUTE = 'appliedNotifications';
export const NOTIFICATION_SORT_PREFIX = 'NOTIFY#';
const UNMATCHED_NOTIFICATIONS_PREFIX = 'NOTIFY#UNMATCHED#';
const UNVERIFIED_NOTIFICATIONS_PREFIX = 'NOTIFY#UNVERIFIED#';
/**
 * Verified notifications kept as items of their own are kept this long, then expire: past WeChat's
 * one-year window for refunds, so the evidence outlives every action it could support.
 */
export const NOTIFICATION_TTL_DAYS = 400;
/** The traces of an unverified notification are for spotting an attack while it lasts, not for audit. */
export const UNVERIFIED_NOTIFICATION_TTL_DAYS = 7;

const ORDER_PARTITION_PREFIX = 'ORDER#';

export function orderPartition(outTradeNo: string): string {
  return `${ORDER_PARTITION_PREFIX}${outTradeNo}`;
}

/** The out_trade_no of an order partition key, or undefined for any other partition. */
export function outTradeNoOfPartition(pk: string): string | undefined {
  return pk.startsWith(ORDER_PARTITION_PREFIX) ? pk.slice(ORDER_PARTITION_PREFIX.length) : undefined;
}

/** A verified notification's key within its partition: its body's hash, so a duplicate is the same item. */
export function notificationSortKey(bodySha256: string): string {
  return `${NOTIFICATION_SORT_PREFIX}${bodySha256}`;
}

/** Unverified traces sort by arrival; the id keeps simultaneous ones apart. */
export function unverifiedSortKey(receivedAt: string, id: string): string {
  return `${NOTIFICATION_SORT_PREFIX}${receivedAt}#${id}`;
}

export function unmatchedNotificationsPartition(shard: number): string {
  return `${UNMATCHED_NOTIFICATIONS_PREFIX}${shard}`;
}

export function unverifiedNotificationsPartition(shard: number): string {
  return `${UNVERIFIED_NOTIFICATIONS_PREFIX}${shard}`;
}

/** The shard of a hex digest (a SHA-256): its first 32 bits, modulo the shard count. */
export function shardOfDigest(hex: string, shards: number): number {
  return Number.parseInt(hex.slice(0, 8), 16) % shards;
}

/** A refund's key within its order's partition. out_refund_no stays the exact string (leading zeros). */
export function refundSortKey(outRefundNo: string): string {
  return `${REFUND_SORT_PREFIX}${outRefundNo}`;
}

/** The out_refund_no of a refund's sort key, or undefined for any other item. */
export function outRefundNoOfSortKey(sk: string): string | undefined {
  return sk.startsWith(REFUND_SORT_PREFIX) ? sk.slice(REFUND_SORT_PREFIX.length) : undefined;
}

/** The partition of an out_refund_no's claim: merchant-wide, apart from every order's partition. */
export function refundNumberPartition(outRefundNo: string): string {
  return `${REFUND_NUMBER_PREFIX}${outRefundNo}`;
}

/**
 * The table's stream carries both images of a changed item: an event is decided by comparing the
 * status before with the status after.
 */
export const TABLE_STREAM_VIEW = 'NEW_AND_OLD_IMAGES';

/** The events log's index: a day's events per partition, in the order they were recorded. */
export const EVENTS_INDEX = {
  name: 'events-index',
  partitionKey: 'eventsKey',
  sortKey: 'eventsSortKey',
  /** All: GET /events answers from the index alone, without a read of each event item. */
  projection: 'ALL',
} as const;
export const EVENT_PARTITION_PREFIX = 'EVENT#';
/** The sort key of an event item (the only item in its partition). */
export const EVENT_SORT_KEY = 'EVENT';
/** `eventsKey` is `EVENTS#<yyyy-mm-dd>`, the UTC day the event was recorded. */
export const EVENTS_KEY_PREFIX = 'EVENTS#';

export function eventPartition(eventId: string): string {
  return `${EVENT_PARTITION_PREFIX}${eventId}`;
}

/** The events index partition of a UTC day (`yyyy-mm-dd`). */
export function eventsDayKey(day: string): string {
  return `${EVENTS_KEY_PREFIX}${day}`;
}

const LOGIN_SESSION_PREFIX = 'MPSESSION#';
/** The sort key of a login session item (the only item in its partition). */
export const LOGIN_SESSION_SORT_KEY = 'MPSESSION';

/** The key of a mini program user's login session item. */
export function loginSessionKey(openid: string): Record<string, string> {
  return { [PARTITION_KEY]: `${LOGIN_SESSION_PREFIX}${openid}`, [SORT_KEY]: LOGIN_SESSION_SORT_KEY };
}

/**
 * What a day's trade bill must list, by Beijing day (see the header). No sort key: a day is read whole.
 * INCLUDE: the reconciliation reads the index alone (outTradeNo and outRefundNo come from pk and sk).
 */
export const SETTLED_INDEX = {
  name: 'settled-index',
  partitionKey: 'settledKey',
  projection: 'INCLUDE',
  nonKeyAttributes: ['settledFen', 'settledId'],
} as const;
/** On a PAID order / SUCCESS refund item: the fen paid or refunded. */
export const SETTLED_FEN_ATTRIBUTE = SETTLED_INDEX.nonKeyAttributes[0];
/** On a PAID order / SUCCESS refund item: the transaction_id or refund_id (absent when not known). */
export const SETTLED_ID_ATTRIBUTE = SETTLED_INDEX.nonKeyAttributes[1];
/** How many partitions a day's settled records spread over; a reader queries them all. */
export const SETTLED_INDEX_SHARDS = 8;
const SETTLED_KEY_PREFIX = 'SETTLED#';

/** `settledKey` of a Beijing day's shard: `SETTLED#<yyyy-mm-dd>#<shard>`. */
export function settledDayKey(day: string, shard: number): string {
  return `${SETTLED_KEY_PREFIX}${day}#${shard}`;
}

const RECONCILIATION_PREFIX = 'RECONCILIATION#';
/** The sort key of a reconciliation report (the only item in its partition). */
export const RECONCILIATION_SORT_KEY = 'RECONCILIATION';
/** A report is kept as long as the evidence it is about (NOTIFICATION_TTL_DAYS). */
export const RECONCILIATION_TTL_DAYS = 400;

/** The key of a bill date's reconciliation report. */
export function reconciliationKey(billDate: string): Record<string, string> {
  return { [PARTITION_KEY]: `${RECONCILIATION_PREFIX}${billDate}`, [SORT_KEY]: RECONCILIATION_SORT_KEY };
}
