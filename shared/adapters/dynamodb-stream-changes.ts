import type { AttributeValue as SdkAttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, DynamoDBRecord } from 'aws-lambda';
import * as z from 'zod';
import type { AggregateChange } from '../domain/events';
import type { Order } from '../domain/order';
import { ORDER_STATUSES } from '../domain/order';
import type { Refund } from '../domain/refund';
import { REFUND_STATUSES } from '../domain/refund';
import { fromOrderItem } from './dynamodb-order-item';
import type { Item } from './dynamodb-order-item';
import { fromRefundItem } from './dynamodb-refund-item';
import {
  ORDER_SORT_KEY,
  outRefundNoOfSortKey,
  outTradeNoOfPartition,
  PARTITION_KEY,
  SORT_KEY,
  TABLE_STREAM_VIEW,
} from './table-schema';

/** What an order item must hold for its change to be judged; the rest is fromOrderItem's. */
const orderImage = z.looseObject({
  outTradeNo: z.string().min(1),
  status: z.enum(ORDER_STATUSES),
  updatedAt: z.string().min(1),
  history: z.array(z.looseObject({ at: z.string(), to: z.enum(ORDER_STATUSES) })),
});

const refundImage = z.looseObject({
  outTradeNo: z.string().min(1),
  outRefundNo: z.string().min(1),
  status: z.enum(REFUND_STATUSES),
  updatedAt: z.string().min(1),
  history: z.array(z.looseObject({ at: z.string(), to: z.enum(REFUND_STATUSES) })),
});

/** The stream record could not be read as the table's change it claims to be. */
export class StreamRecordError extends Error {
  override readonly name = 'StreamRecordError';
}

/**
 * The change of an order or a refund that one record of the table's stream tells, or undefined for a
 * record of any other item (notifications, claims, the event log's own items) and for a removal (only
 * TTL removes items here, and a removal changes no status).
 *
 * A record of an order or refund that cannot be read (no images: the stream's view type is not
 * TABLE_STREAM_VIEW; an image that is not such an item) is an error, not a skip: the consumer stops
 * there and the stream retries it, whereas a skip would lose the event for good.
 */
export function changeFromStreamRecord(record: DynamoDBRecord): AggregateChange | undefined {
  if (record.eventName !== 'INSERT' && record.eventName !== 'MODIFY') return undefined;
  const kind = kindOf(record.dynamodb?.Keys);
  if (kind === undefined) return undefined;
  const images = record.dynamodb;
  const newImage = images?.NewImage;
  const oldImage = images?.OldImage;
  if (newImage === undefined || (record.eventName === 'MODIFY' && oldImage === undefined)) {
    throw new StreamRecordError(
      `stream record ${images?.SequenceNumber ?? '(no sequence number)'} of a ${kind} lacks its images: ` +
        `the table's stream must be ${TABLE_STREAM_VIEW}, not ${images?.StreamViewType ?? 'unknown'}`,
    );
  }
  if (kind === 'payment') {
    const after = decodeOrder(newImage);
    return oldImage === undefined ? { kind, after } : { kind, before: decodeOrder(oldImage), after };
  }
  const after = decodeRefund(newImage);
  return oldImage === undefined ? { kind, after } : { kind, before: decodeRefund(oldImage), after };
}

function kindOf(keys: Record<string, AttributeValue> | undefined): AggregateChange['kind'] | undefined {
  const pk = keys?.[PARTITION_KEY]?.S;
  const sk = keys?.[SORT_KEY]?.S;
  if (pk === undefined || sk === undefined || outTradeNoOfPartition(pk) === undefined) return undefined;
  if (sk === ORDER_SORT_KEY) return 'payment';
  return outRefundNoOfSortKey(sk) === undefined ? undefined : 'refund';
}

function decodeOrder(image: Record<string, AttributeValue>): Order {
  const item = plainItem(image);
  checkImage(orderImage, item, 'order');
  return fromOrderItem(item);
}

function decodeRefund(image: Record<string, AttributeValue>): Refund {
  const item = plainItem(image);
  checkImage(refundImage, item, 'refund');
  return fromRefundItem(item);
}

/**
 * The item of a stream image, as the document client would read it. The Lambda event's types differ
 * from the SDK's only for binary values (base64 text there, bytes here), and our items hold none.
 */
function plainItem(image: Record<string, AttributeValue>): Item {
  return unmarshall(image as unknown as Record<string, SdkAttributeValue>);
}

function checkImage(schema: z.ZodType, item: Item, kind: string): void {
  const checked = schema.safeParse(item);
  if (!checked.success) {
    // Field names and rules only: an image holds the payer's data, which stays out of logs.
    const problems = checked.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.code}`).join('; ');
    throw new StreamRecordError(`a stream image of ${String(item[PARTITION_KEY])} is not a ${kind} item: ${problems}`);
  }
}
