import type { DynamoDBRecord } from 'aws-lambda';

import { PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES } from '../domain/events';
import type { Order } from '../domain/order';
import type { Refund } from '../domain/refund';
import { ORDER_SORT_KEY, REFUND_SORT_PREFIX, SORT_KEY } from './table-schema';

/** Where an order item and a refund item keep their status (the domain records are stored as they are). */
const STATUS_ATTRIBUTE = 'status' satisfies keyof Order & keyof Refund;

/** One alternative of a Lambda filter rule, of the two kinds used here: an exact string or a prefix. */
type FilterValue = string | { readonly prefix: string };

/** A Lambda event filter pattern: nested objects down to lists of alternatives. */
export interface StreamFilterPattern {
  readonly [field: string]: StreamFilterPattern | readonly FilterValue[];
}

const WRITES = ['INSERT', 'MODIFY'];

/**
 * The stream records that can call for an event: a write of an order or a refund that leaves it in a
 * status the backend is told of (the domain's PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES). Everything
 * else on the stream (notifications, out_refund_no claims, the event items the relay writes itself,
 * deletions by TTL, and the many writes of an order that leave it CREATED or PENDING, or of a refund
 * still PROCESSING) is dropped before an invocation: most writes never reach the events function.
 * Two patterns, one per kind, since both kinds have a CLOSED status. A record dropped here is never
 * seen by the handler, so the patterns must admit every record the recorder would turn into an event
 * (it derives the type from the status after the change); the handler still skips the ones admitted
 * that call for none (a MODIFY that kept a PAID order PAID).
 *
 * The CDK stack hands these patterns to Lambda (FilterCriteria); the local stack applies them with
 * matchesStreamFilter.
 */
export const STREAM_FILTER_PATTERNS: readonly StreamFilterPattern[] = [
  {
    eventName: WRITES,
    dynamodb: {
      Keys: { [SORT_KEY]: { S: [ORDER_SORT_KEY] } },
      NewImage: { [STATUS_ATTRIBUTE]: { S: Object.keys(PAYMENT_EVENT_TYPES) } },
    },
  },
  {
    eventName: WRITES,
    dynamodb: {
      Keys: { [SORT_KEY]: { S: [{ prefix: REFUND_SORT_PREFIX }] } },
      NewImage: { [STATUS_ATTRIBUTE]: { S: Object.keys(REFUND_EVENT_TYPES) } },
    },
  },
];

/**
 * Whether Lambda would hand this record to the events function: the semantics of Lambda's filter
 * rules for what STREAM_FILTER_PATTERNS use. A record matches a pattern when every field the pattern
 * names is present and matches (a list: any of its alternatives, an exact string or a prefix);
 * fields the pattern does not name are ignored. The patterns are ORed.
 */
export function matchesStreamFilter(record: DynamoDBRecord): boolean {
  return STREAM_FILTER_PATTERNS.some((pattern) => matches(pattern, record));
}

function matches(pattern: StreamFilterPattern | readonly FilterValue[], value: unknown): boolean {
  if (isAlternatives(pattern)) {
    return (
      typeof value === 'string' &&
      pattern.some((alternative) =>
        typeof alternative === 'string' ? alternative === value : value.startsWith(alternative.prefix),
      )
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const fields = value as Record<string, unknown>;
  return Object.entries(pattern).every(([field, inner]) => matches(inner, fields[field]));
}

function isAlternatives(pattern: StreamFilterPattern | readonly FilterValue[]): pattern is readonly FilterValue[] {
  return Array.isArray(pattern);
}
