import { BatchGetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { EVENT_ID_PATTERN, EVENT_RETENTION_DAYS, EVENT_TYPES } from '../domain/events';
import type { DomainEvent, EventLog, EventPage } from '../domain/events';
import { systemClock } from '../domain/ports';
import type { Clock } from '../domain/ports';
import { expiry, plainData } from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import { encodeEventCursor, listingWindow, positionKey, utcDay } from './event-cursor';
import {
  EVENT_SORT_KEY,
  eventPartition,
  EVENTS_INDEX,
  eventsDayKey,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from './table-schema';

/**
 * The longest a put of an event may take, retries included: recordedAt is taken before the put, so a
 * put that lands late lands behind events already listed. Past it the put is given up and the stream
 * record retried (recording is idempotent by id).
 */
export const EVENT_PUT_TIMEOUT_MS = 3000;

/**
 * How long an event must have been recorded before `GET /events` shows it (see listingWindow in
 * event-cursor.ts): the put's bound (3 s from recordedAt to the put given up) plus 7 s for a write
 * the client gave up on that DynamoDB still commits, and for the events index, which DynamoDB updates
 * shortly after the table (typically well under a second). Short enough not to keep a backend waiting.
 */
export const EVENTS_SETTLE_MS = 10_000;

/** DynamoDB's bound on the keys of one BatchGetItem. */
const BATCH_GET_LIMIT = 100;
/** Keys DynamoDB leaves unprocessed (throttling) are asked again this often before giving up. */
const UNPROCESSED_ATTEMPTS = 5;

export interface DynamoDbEventLogOptions {
  client: DynamoDBDocumentClient;
  tableName: string;
  clock?: Clock;
  /** Tests shorten these; a settle time shorter than the put's bound would let a cursor skip an event. */
  settleMs?: number;
  putTimeoutMs?: number;
}

/** An event item as stored (see table-schema.ts); read back strictly: a malformed one is an error. */
const eventItem = z.object({
  eventId: z.string().regex(EVENT_ID_PATTERN),
  eventType: z.enum(EVENT_TYPES),
  createdAt: z.string().min(1),
  outTradeNo: z.string().min(1),
  outRefundNo: z.string().min(1).optional(),
  data: z.record(z.string(), z.unknown()),
  recordedAt: z.iso.datetime({ precision: 3 }),
});

/**
 * The events log in the orders table (see table-schema.ts): one item per event, put only if absent so
 * an event derived again (the stream's retries) is kept once, and read oldest first through the events
 * index, one UTC day per partition. Errors other than the put's refusal propagate as the SDK raised them.
 */
export class DynamoDbEventLog implements EventLog {
  private readonly client: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly clock: Clock;
  private readonly settleMs: number;
  private readonly putTimeoutMs: number;

  constructor(options: DynamoDbEventLogOptions) {
    this.client = options.client;
    this.tableName = options.tableName;
    this.clock = options.clock ?? systemClock;
    this.settleMs = options.settleMs ?? EVENTS_SETTLE_MS;
    this.putTimeoutMs = options.putTimeoutMs ?? EVENT_PUT_TIMEOUT_MS;
  }

  async record(event: DomainEvent): Promise<'recorded' | 'already_recorded'> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: toEventItem(event, this.clock.now()),
          ConditionExpression: 'attribute_not_exists(#pk)',
          ExpressionAttributeNames: { '#pk': PARTITION_KEY },
        }),
        // Bounds every attempt and the waits between them: the SDK neither retries nor waits past it.
        { abortSignal: AbortSignal.timeout(this.putTimeoutMs) },
      );
      return 'recorded';
    } catch (error) {
      if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return 'already_recorded';
      throw error;
    }
  }

  async list(query: { after?: string; limit: number }): Promise<EventPage> {
    const window = listingWindow(query.after, this.clock.now(), this.settleMs, EVENT_RETENTION_DAYS);
    const events: DomainEvent[] = [];
    for (const day of window.days) {
      // The lower bound is inclusive in BETWEEN: an event at exactly afterKey is dropped below.
      const from = window.afterKey > day ? window.afterKey : day;
      if (from > window.upToKey) continue;
      let startKey: Item | undefined;
      do {
        const wanted = query.limit - events.length;
        const page = await this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            IndexName: EVENTS_INDEX.name,
            KeyConditionExpression: '#day = :day AND #key BETWEEN :from AND :upTo',
            ExpressionAttributeNames: { '#day': EVENTS_INDEX.partitionKey, '#key': EVENTS_INDEX.sortKey },
            ExpressionAttributeValues: { ':day': eventsDayKey(day), ':from': from, ':upTo': window.upToKey },
            // One more than wanted when the event at the lower bound may come first.
            Limit: from === window.afterKey ? wanted + 1 : wanted,
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) {
          if (item[EVENTS_INDEX.sortKey] === window.afterKey) continue;
          const { event, cursor } = fromEventItem(item);
          events.push(event);
          if (events.length === query.limit) return { events, next: cursor };
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey);
    }
    return { events, next: window.settledCursor };
  }

  /**
   * The events of these ids that the log holds, oldest first (createdAt, then id), read by key with
   * no scan and no settling: an operator's view of one order, whose event ids are known in advance
   * (eventIdOf). An id never recorded, or past its retention, is simply not in the answer.
   */
  async getByIds(ids: readonly string[]): Promise<DomainEvent[]> {
    // BatchGetItem refuses a request naming the same key twice.
    const unique = [...new Set(ids)];
    const events: DomainEvent[] = [];
    for (let start = 0; start < unique.length; start += BATCH_GET_LIMIT) {
      const keys = unique
        .slice(start, start + BATCH_GET_LIMIT)
        .map((id) => ({ [PARTITION_KEY]: eventPartition(id), [SORT_KEY]: EVENT_SORT_KEY }));
      for (const item of await this.batchGet(keys)) events.push(fromEventItem(item).event);
    }
    return events.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** One BatchGetItem, asking again with backoff for the keys DynamoDB left unprocessed. */
  private async batchGet(keys: Item[]): Promise<Item[]> {
    const found: Item[] = [];
    let pending = keys;
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > UNPROCESSED_ATTEMPTS) {
        throw new Error(
          `${pending.length} events not read: DynamoDB left them unprocessed ${UNPROCESSED_ATTEMPTS} times`,
        );
      }
      const answer = await this.client.send(
        new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: pending, ConsistentRead: true } } }),
      );
      found.push(...(answer.Responses?.[this.tableName] ?? []));
      pending = answer.UnprocessedKeys?.[this.tableName]?.Keys ?? [];
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
    return found;
  }
}

export function toEventItem(event: DomainEvent, now: Date): Item {
  const recordedAt = now.toISOString();
  const item: Item = {
    [PARTITION_KEY]: eventPartition(event.id),
    [SORT_KEY]: EVENT_SORT_KEY,
    eventId: event.id,
    eventType: event.type,
    createdAt: event.createdAt,
    outTradeNo: event.subject.outTradeNo,
    // A map, not a JSON string: the view is plain JSON, and a console reader sees its fields.
    data: plainData(event.data),
    recordedAt,
    [TTL_ATTRIBUTE]: expiry(recordedAt, EVENT_RETENTION_DAYS),
    [EVENTS_INDEX.partitionKey]: eventsDayKey(utcDay(recordedAt)),
    [EVENTS_INDEX.sortKey]: positionKey({ recordedAt, eventId: event.id }),
  };
  if (event.subject.outRefundNo !== undefined) item.outRefundNo = event.subject.outRefundNo;
  return item;
}

/** The event of an item, and the cursor just after it. */
export function fromEventItem(item: Item): { event: DomainEvent; cursor: string } {
  const parsed = eventItem.safeParse(item);
  if (!parsed.success) {
    // Not skipped: a listing that left an event out would move the backend's cursor past it for good.
    throw new Error(`event item ${String(item[PARTITION_KEY])} is malformed: ${z.prettifyError(parsed.error)}`, {
      cause: parsed.error,
    });
  }
  const stored = parsed.data;
  const subject =
    stored.outRefundNo === undefined
      ? { outTradeNo: stored.outTradeNo }
      : { outTradeNo: stored.outTradeNo, outRefundNo: stored.outRefundNo };
  return {
    event: { id: stored.eventId, type: stored.eventType, createdAt: stored.createdAt, subject, data: stored.data },
    cursor: encodeEventCursor({ recordedAt: stored.recordedAt, eventId: stored.eventId }),
  };
}
