import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';

import type { BillDate, SettledRecord, SettledRecords } from '../domain/bill-reconciliation';
import { isBillDate } from '../domain/bill-date';
import { ValidationError } from '../domain/errors';
import type { Item } from './dynamodb-order-item';
import {
  ORDER_SORT_KEY,
  outRefundNoOfSortKey,
  outTradeNoOfPartition,
  PARTITION_KEY,
  SETTLED_FEN_ATTRIBUTE,
  SETTLED_ID_ATTRIBUTE,
  SETTLED_INDEX,
  SETTLED_INDEX_SHARDS,
  settledDayKey,
  SORT_KEY,
} from './table-schema';

export interface DynamoDbSettledRecordsOptions {
  tableName: string;
  client: DynamoDBDocumentClient;
  /** Items per page of a shard's query; DynamoDB's own (1 MB) by default. Tests make pages small. */
  pageLimit?: number;
}

/** What the index projects: the table's keys and the settled attributes (read strictly: ours, but stored). */
const settledEntry = z.object({
  [PARTITION_KEY]: z.string(),
  [SORT_KEY]: z.string(),
  [SETTLED_FEN_ATTRIBUTE]: z.number().int().nonnegative(),
  [SETTLED_ID_ATTRIBUTE]: z.string().min(1).optional(),
});

/**
 * The orders PAID and refunds SUCCESS of a Beijing day, from the settled index: every shard queried at
 * once, each page by page, records yielded as their pages arrive (a large day is never held whole).
 * Not in a fixed order. Errors propagate as the SDK raised them.
 */
export class DynamoDbSettledRecords implements SettledRecords {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly pageLimit: number | undefined;

  constructor(options: DynamoDbSettledRecordsOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
    this.pageLimit = options.pageLimit;
  }

  listSettled(billDate: BillDate): AsyncIterable<SettledRecord> {
    if (!isBillDate(billDate)) throw new ValidationError('bill date must be YYYY-MM-DD', 'bill_date');
    const shards = Array.from({ length: SETTLED_INDEX_SHARDS }, (_, shard) =>
      this.queryShard(settledDayKey(billDate, shard)),
    );
    return merge(shards);
  }

  private async *queryShard(settledKey: string): AsyncGenerator<SettledRecord> {
    let startKey: Item | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: SETTLED_INDEX.name,
          KeyConditionExpression: '#key = :key',
          ExpressionAttributeNames: { '#key': SETTLED_INDEX.partitionKey },
          ExpressionAttributeValues: { ':key': settledKey },
          Limit: this.pageLimit,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const item of page.Items ?? []) yield recordOf(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }
}

function recordOf(item: Item): SettledRecord {
  const entry = settledEntry.parse(item);
  const pk = entry[PARTITION_KEY];
  const sk = entry[SORT_KEY];
  const outTradeNo = outTradeNoOfPartition(pk);
  const fen = entry[SETTLED_FEN_ATTRIBUTE];
  const id = entry[SETTLED_ID_ATTRIBUTE];
  if (outTradeNo !== undefined && sk === ORDER_SORT_KEY) {
    if (id === undefined) throw new Error(`settled order ${outTradeNo} has no transaction_id`);
    return { kind: 'payment', outTradeNo, transactionId: id, total: fen };
  }
  const outRefundNo = outRefundNoOfSortKey(sk);
  if (outTradeNo !== undefined && outRefundNo !== undefined) {
    return { kind: 'refund', outTradeNo, outRefundNo, refund: fen, ...(id === undefined ? {} : { refundId: id }) };
  }
  throw new Error(`the settled index holds an item that is neither an order nor a refund: ${pk} ${sk}`);
}

/**
 * The values of several async iterables as each produces them, one pending read per source at a time
 * (so the shards' pages are fetched side by side, but no source runs ahead of the consumer by more than
 * a page). A source that fails ends the merge with its error; the others are closed.
 */
async function* merge<T>(sources: Array<AsyncIterator<T>>): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const next = (index: number): void => {
    const source = sources[index] as AsyncIterator<T>;
    const read = source.next().then((result) => ({ index, result }));
    // Still raced; marked handled so a source failing after the merge ended is not an unhandled rejection.
    read.catch(() => undefined);
    pending.set(index, read);
  };
  sources.forEach((_, index) => next(index));
  try {
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done === true) {
        pending.delete(index);
        continue;
      }
      next(index);
      yield result.value;
    }
  } finally {
    // Stopped early (the consumer broke off, or a source failed): close the sources still open.
    const open = [...pending.keys()];
    pending.clear();
    await Promise.allSettled(open.map((index) => sources[index]?.return?.()));
  }
}
