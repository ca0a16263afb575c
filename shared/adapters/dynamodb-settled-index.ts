import { createHash } from 'node:crypto';

import { beijingDateOf } from '../domain/bill-date';
import type { Item } from './dynamodb-order-item';
import {
  SETTLED_FEN_ATTRIBUTE,
  SETTLED_ID_ATTRIBUTE,
  SETTLED_INDEX,
  SETTLED_INDEX_SHARDS,
  settledDayKey,
} from './table-schema';

/**
 * The write side of the settled index (see table-schema.ts), apart from its reader
 * (dynamodb-settled-records.ts): the item mappers and the backfill need only this.
 */

/**
 * The settled index's attributes of the item at `pk`/`sk`, settled on the Beijing day of `instant`:
 * what the write that makes an order PAID, or a refund SUCCESS, sets with it.
 */
export function settledAttributes(
  key: { pk: string; sk: string },
  instant: Date,
  fen: number,
  id: string | undefined,
): Item {
  const attributes: Item = {
    [SETTLED_INDEX.partitionKey]: settledDayKey(beijingDateOf(instant), settledShard(key.pk, key.sk)),
    [SETTLED_FEN_ATTRIBUTE]: fen,
  };
  if (id !== undefined && id !== '') attributes[SETTLED_ID_ATTRIBUTE] = id;
  return attributes;
}

/**
 * The shard of an item: the first four bytes of SHA-256 over its key, so one order's refunds spread
 * too, and the same item always lands in the same place.
 */
export function settledShard(pk: string, sk: string): number {
  return createHash('sha256').update(`${pk}\n${sk}`, 'utf8').digest().readUInt32BE(0) % SETTLED_INDEX_SHARDS;
}
