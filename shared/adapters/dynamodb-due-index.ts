import { createHash } from 'node:crypto';

import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

import type { DueOrder } from '../domain/ports';
import {
  DEFAULT_DUE_INDEX_SHARDS,
  DUE_INDEX,
  DUE_KEY_VALUE,
  DUE_SHARD_PREFIX,
  MAX_DUE_INDEX_SHARDS,
  outTradeNoOfPartition,
  PARTITION_KEY,
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

  /**
   * Due orders, oldest first, up to `limit`. Every partition is read at once: each shard up to the
   * ceiling (entries written under another shard count stay where they were written until their next
   * write) and the unsharded partition of older releases. Each gives at most `limit` of its oldest, so
   * the merge holds the `limit` oldest overall. `now` and every nextCheckAt must be in one format
   * (Date.toISOString) for the index's string order to be time order.
   */
  async findDue(now: string, limit: number): Promise<DueOrder[]> {
    if (limit <= 0) return [];
    const partitions = await Promise.all(readPartitions().map((dueKey) => this.queryPartition(dueKey, now, limit)));
    return partitions
      .flat()
      .sort((a, b) => compare(a.nextCheckAt, b.nextCheckAt) || compare(a.outTradeNo, b.outTradeNo))
      .slice(0, limit);
  }

  private async queryPartition(dueKey: string, now: string, limit: number): Promise<DueOrder[]> {
    const due: DueOrder[] = [];
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
        const outTradeNo = outTradeNoOfPartition(String(key[PARTITION_KEY]));
        if (outTradeNo !== undefined) due.push({ outTradeNo, nextCheckAt: String(key[DUE_INDEX.sortKey]) });
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

/** Every partition the sweep reads: each shard up to the ceiling, and the unsharded one. */
export function readPartitions(): string[] {
  return [...Array.from({ length: MAX_DUE_INDEX_SHARDS }, (_, shard) => `${DUE_SHARD_PREFIX}${shard}`), DUE_KEY_VALUE];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
