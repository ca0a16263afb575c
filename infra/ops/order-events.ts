import { BatchGetCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import { fromEventItem } from '#shared/adapters/dynamodb-event-log';
import type { Item } from '#shared/adapters/dynamodb-order-item';
import { EVENT_SORT_KEY, eventPartition, PARTITION_KEY, SORT_KEY } from '#shared/adapters/table-schema';
import {
  type DomainEvent,
  eventIdOf,
  type EventSubject,
  PAYMENT_EVENT_TYPES,
  REFUND_EVENT_TYPES,
} from '#shared/domain/events';

/** DynamoDB's bound on one BatchGetItem. */
const BATCH_GET_LIMIT = 100;
/** Keys DynamoDB leaves unprocessed (throttling) are asked again this often before giving up. */
const UNPROCESSED_ATTEMPTS = 5;

/**
 * An order's events and its refunds', oldest first. The log is indexed by time, not by order, but an
 * event's id is derived from its subject and type (eventIdOf): so every event the order could have
 * produced is looked up by id, with no scan of the log. Events past their retention are gone.
 */
export async function readOrderEvents(
  table: { client: DynamoDBDocumentClient; tableName: string },
  outTradeNo: string,
  outRefundNos: readonly string[],
): Promise<DomainEvent[]> {
  const ids = [
    ...Object.values(PAYMENT_EVENT_TYPES).map((type) => eventIdOf({ outTradeNo }, type)),
    ...outRefundNos.flatMap((outRefundNo) => {
      const subject: EventSubject = { outTradeNo, outRefundNo };
      return Object.values(REFUND_EVENT_TYPES).map((type) => eventIdOf(subject, type));
    }),
  ];
  const items: Item[] = [];
  for (let start = 0; start < ids.length; start += BATCH_GET_LIMIT) {
    const keys = ids
      .slice(start, start + BATCH_GET_LIMIT)
      .map((id) => ({ [PARTITION_KEY]: eventPartition(id), [SORT_KEY]: EVENT_SORT_KEY }));
    items.push(...(await batchGet(table, keys)));
  }
  return items
    .map((item) => fromEventItem(item).event)
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
}

async function batchGet(
  { client, tableName }: { client: DynamoDBDocumentClient; tableName: string },
  keys: Item[],
): Promise<Item[]> {
  const found: Item[] = [];
  let pending = keys;
  for (let attempt = 1; pending.length > 0; attempt += 1) {
    if (attempt > UNPROCESSED_ATTEMPTS) throw new Error(`events of the order not read: DynamoDB kept throttling`);
    const answer = await client.send(
      new BatchGetCommand({ RequestItems: { [tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    found.push(...(answer.Responses?.[tableName] ?? []));
    pending = answer.UnprocessedKeys?.[tableName]?.Keys ?? [];
    if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
  }
  return found;
}
