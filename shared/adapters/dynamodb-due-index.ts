import { createHash } from 'node:crypto';

import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { DueOrder } from '../domain/ports';
import type { DueRefund } from '../domain/refund-ports';
import {
  DEFAULT_DUE_INDEX_SHARDS,
  DUE_INDEX,
  DUE_KEY_VALUE,
  DUE_SHARD_PREFIX,
  MAX_DUE_INDEX_SHARDS,
  outRefundNoOfSortKey,
  outTradeNoOfPartition,
  PARTITION_KEY,
  REFUND_DUE_SHARD_PREFIX,
  SORT_KEY,
} from './table-schema';

export interface DueIndexOptions {
  tableName: string;
  client: DynamoDBDocumentClient;
  /** How many partitions of the index new entries spread over; 1 to MAX_DUE_INDEX_SHARDS. */
  shards?: number;
}

/**
 * The due index, sharded. A partition of a global secondary index takes about 1,000 writes a second,
 * and a throttled index write fails the table write that caused it: with one `dueKey` every order
 * write that touches the index would share that budget. Each order's entry goes to the shard a hash
 * of its out_trade_no picks, so one order always lands in one place and the orders spread evenly.
 */
export class DynamoDbDueIndex {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly shards: number;

  constructor(options: DueIndexOptions) {
    const shards = options.shards ?? DEFAULT_DUE_INDEX_SHARDS;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_DUE_INDEX_SHARDS) {
      throw new RangeError(`due index shards must be a whole number from 1 to ${MAX_DUE_INDEX_SHARDS}: ${shards}`);
    }
    this.tableName = options.tableName;
    this.client = options.client;
    this.shards = shards;
  }

  /** The `dueKey` an open order is written with. */
  keyFor(outTradeNo: string): string {
    return dueShardKey(outTradeNo, this.shards);
  }

  /** The `dueKey` a refund that is not final is written with: its own prefix, never read as an order's. */
  refundKeyFor(outTradeNo: string, outRefundNo: string): string {
    return refundDueShardKey(outTradeNo, outRefundNo, this.shards);
  }

  /**
   * Due orders, oldest first, up to `limit`. Every partition is read at once: each shard up to the
   * ceiling (entries written under another shard count stay where they were written until their next
   * write) and the unsharded partition of older releases. Each gives at most `limit` of its oldest, so
   * the merge holds the `limit` oldest overall. `now` and every nextCheckAt must be in one format
   * (Date.toISOString) for the index's string order to be time order.
   */
  async findDue(now: string, limit: number): Promise<DueOrder[]> {
    const due = await this.findIn(readPartitions(), now, limit, (key) => {
      const outTradeNo = outTradeNoOfPartition(String(key[PARTITION_KEY]));
      return outTradeNo === undefined ? undefined : { outTradeNo, nextCheckAt: String(key[DUE_INDEX.sortKey]) };
    });
    return due
      .sort((a, b) => compare(a.nextCheckAt, b.nextCheckAt) || compare(a.outTradeNo, b.outTradeNo))
      .slice(0, limit);
  }

  /** Due refunds, oldest first, up to `limit`: the refund shards only, read as findDue reads the orders'. */
  async findDueRefunds(now: string, limit: number): Promise<DueRefund[]> {
    const due = await this.findIn(readRefundPartitions(), now, limit, (key) => {
      const outTradeNo = outTradeNoOfPartition(String(key[PARTITION_KEY]));
      const outRefundNo = outRefundNoOfSortKey(String(key[SORT_KEY]));
      if (outTradeNo === undefined || outRefundNo === undefined) return undefined;
      return { outTradeNo, outRefundNo, nextCheckAt: String(key[DUE_INDEX.sortKey]) };
    });
    return due
      .sort(
        (a, b) =>
          compare(a.nextCheckAt, b.nextCheckAt) ||
          compare(a.outTradeNo, b.outTradeNo) ||
          compare(a.outRefundNo, b.outRefundNo),
      )
      .slice(0, limit);
  }

  /** Up to `limit` of the oldest entries of each partition, read at once, unsorted across partitions. */
  private async findIn<T>(
    partitions: string[],
    now: string,
    limit: number,
    entryOf: (key: Record<string, unknown>) => T | undefined,
  ): Promise<T[]> {
    if (limit <= 0) return [];
    const found = await Promise.all(partitions.map((dueKey) => this.queryPartition(dueKey, now, limit, entryOf)));
    return found.flat();
  }

  private async queryPartition<T>(
    dueKey: string,
    now: string,
    limit: number,
    entryOf: (key: Record<string, unknown>) => T | undefined,
  ): Promise<T[]> {
    const due: T[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: DUE_INDEX.name,
          KeyConditionExpression: '#dueKey = :due AND #next <= :now',
          ExpressionAttributeNames: { '#dueKey': DUE_INDEX.partitionKey, '#next': DUE_INDEX.sortKey },
          ExpressionAttributeValues: { ':due': dueKey, ':now': now },
          ScanIndexForward: true,
          Limit: limit - due.length,
          ExclusiveStartKey: startKey,
        }),
      );
      for (const key of page.Items ?? []) {
        const entry = entryOf(key);
        if (entry !== undefined) due.push(entry);
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey && due.length < limit);
    return due;
  }
}

/**
 * The shard of an order: the first four bytes of SHA-256 of its out_trade_no, modulo the count. A
 * cryptographic hash because it is stable across releases and runtimes and spreads sequential ids.
 */
export function dueShardKey(outTradeNo: string, shards: number): string {
  const shard = createHash('sha256').update(outTradeNo, 'utf8').digest().readUInt32BE(0) % shards;
  return `${DUE_SHARD_PREFIX}${shard}`;
}

/** The shard of a refund: as an order's, over both numbers, so one order's refunds spread too. */
export function refundDueShardKey(outTradeNo: string, outRefundNo: string, shards: number): string {
  const digest = createHash('sha256').update(`${outTradeNo}\n${outRefundNo}`, 'utf8').digest();
  return `${REFUND_DUE_SHARD_PREFIX}${digest.readUInt32BE(0) % shards}`;
}

/** Every partition the refunds' sweep reads: each refund shard up to the ceiling (there was never an unsharded one). */
export function readRefundPartitions(): string[] {
  return Array.from({ length: MAX_DUE_INDEX_SHARDS }, (_, shard) => `${REFUND_DUE_SHARD_PREFIX}${shard}`);
}

/** Every partition the sweep reads: each shard up to the ceiling, and the unsharded one. */
export function readPartitions(): string[] {
  return [...Array.from({ length: MAX_DUE_INDEX_SHARDS }, (_, shard) => `${DUE_SHARD_PREFIX}${shard}`), DUE_KEY_VALUE];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
