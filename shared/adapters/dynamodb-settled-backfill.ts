import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { ExpressionBuilder } from './dynamodb-expression';
import { fromOrderItem, settledPaymentAttributes } from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import { fromRefundItem, settledRefundAttributes } from './dynamodb-refund-item';
import { ORDER_SORT_KEY, PARTITION_KEY, REFUND_SORT_PREFIX, SETTLED_INDEX, SORT_KEY } from './table-schema';
import { runPool } from '../domain/run-pool';

/**
 * The settled index's attributes (see table-schema.ts) for items that became PAID or SUCCESS before
 * the release that writes them: a one-off, run by an operator (infra/ops/backfill-settled-index.ts)
 * once that release is deployed. Each item gets what the live write would have set, from what the
 * item itself records; nothing else on it changes. Safe to run again, and beside live traffic: each
 * update is conditional on the item still lacking the attributes and still being PAID / SUCCESS, so
 * a live write is never overwritten, and a second run finds nothing to do.
 */

export interface SettledBackfillOptions {
  tableName: string;
  client: DynamoDBDocumentClient;
  /** Parallel scan segments (DynamoDB's Segment / TotalSegments). */
  segments?: number;
  /** Items per page of a segment's scan; DynamoDB's own (1 MB) by default. Tests make pages small. */
  pageLimit?: number;
  /** Updates in flight per segment. */
  concurrency?: number;
}

export interface SettledBackfillCounts {
  /** Items the scan read (every item of the table: a scan's filter applies after the read). */
  scanned: number;
  /** PAID orders given the attributes. */
  orders: number;
  /** SUCCESS refunds given the attributes. */
  refunds: number;
  /** Found lacking them, but given them (or changed) by another write before this one: left alone. */
  skipped: number;
  /** PAID orders without payment facts: no amount to file (the domain never writes one). */
  unfiled: number;
}

const DEFAULT_SEGMENTS = 4;
const DEFAULT_CONCURRENCY = 8;

export async function backfillSettledIndex(options: SettledBackfillOptions): Promise<SettledBackfillCounts> {
  const segments = options.segments ?? DEFAULT_SEGMENTS;
  if (!Number.isInteger(segments) || segments < 1) throw new RangeError('segments must be a whole number ≥ 1');
  const counts: SettledBackfillCounts = { scanned: 0, orders: 0, refunds: 0, skipped: 0, unfiled: 0 };
  await Promise.all(
    Array.from({ length: segments }, (_, segment) => backfillSegment(options, { segment, of: segments }, counts)),
  );
  return counts;
}

async function backfillSegment(
  options: SettledBackfillOptions,
  segment: { segment: number; of: number },
  counts: SettledBackfillCounts,
): Promise<void> {
  const expression = new ExpressionBuilder();
  const sk = expression.name(SORT_KEY);
  const status = expression.name('status');
  // The same test the update's condition repeats: final, and not yet filed.
  const filter =
    `attribute_not_exists(${expression.name(SETTLED_INDEX.partitionKey)}) AND (` +
    `(${sk} = ${expression.value('order', ORDER_SORT_KEY)} AND ${status} = ${expression.value('paid', 'PAID')}) OR ` +
    `(begins_with(${sk}, ${expression.value('refund', REFUND_SORT_PREFIX)}) AND ` +
    `${status} = ${expression.value('success', 'SUCCESS')}))`;
  let startKey: Item | undefined;
  do {
    const page = await options.client.send(
      new ScanCommand({
        TableName: options.tableName,
        Segment: segment.segment,
        TotalSegments: segment.of,
        FilterExpression: filter,
        ...expression.attributes(),
        Limit: options.pageLimit,
        ExclusiveStartKey: startKey,
      }),
    );
    counts.scanned += page.ScannedCount ?? 0;
    await runPool(page.Items ?? [], options.concurrency ?? DEFAULT_CONCURRENCY, (item) =>
      backfillItem(options, item, counts),
    );
    startKey = page.LastEvaluatedKey;
  } while (startKey);
}

async function backfillItem(options: SettledBackfillOptions, item: Item, counts: SettledBackfillCounts): Promise<void> {
  const isOrder = item[SORT_KEY] === ORDER_SORT_KEY;
  const attributes = isOrder ? orderAttributes(item) : refundAttributes(item);
  if (attributes === undefined) {
    counts.unfiled += 1;
    return;
  }
  const expression = new ExpressionBuilder();
  const set = Object.entries(attributes).map(
    ([attribute, value]) => `${expression.name(attribute)} = ${expression.value(attribute, value)}`,
  );
  const condition =
    `attribute_exists(${expression.name(PARTITION_KEY)}) AND ` +
    `attribute_not_exists(${expression.name(SETTLED_INDEX.partitionKey)}) AND ` +
    `${expression.name('status')} = ${expression.value('status', isOrder ? 'PAID' : 'SUCCESS')}`;
  try {
    await options.client.send(
      new UpdateCommand({
        TableName: options.tableName,
        Key: { [PARTITION_KEY]: item[PARTITION_KEY], [SORT_KEY]: item[SORT_KEY] },
        UpdateExpression: `SET ${set.join(', ')}`,
        ConditionExpression: condition,
        ...expression.attributes(),
      }),
    );
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') {
      counts.skipped += 1;
      return;
    }
    throw error;
  }
  if (isOrder) counts.orders += 1;
  else counts.refunds += 1;
}

/**
 * What the write that made the order PAID sets: the same function, with the instant of that write
 * (its history entry; the order's updatedAt if it has none) standing for the transition's `at`.
 */
function orderAttributes(item: Item): Item | undefined {
  const order = fromOrderItem(item);
  if (!order.payment) return undefined;
  const paid = order.history.find((entry) => entry.to === 'PAID')?.at ?? order.updatedAt;
  return settledPaymentAttributes(order.outTradeNo, order.payment, paid);
}

/** What the write that made the refund SUCCESS sets, that write's instant found as for orders. */
function refundAttributes(item: Item): Item {
  const refund = fromRefundItem(item);
  const succeeded = refund.history.find((entry) => entry.to === 'SUCCESS')?.at ?? refund.updatedAt;
  return settledRefundAttributes(refund, refund.refundId, succeeded);
}
