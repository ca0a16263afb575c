import { createHash } from 'node:crypto';

import type { Order, OrderStatus } from './order';
import type { Refund, RefundStatus } from './refund';

/**
 * Events to the merchant's app backend (README.md, "Events to your backend"): one per
 * change of an order's or a refund's status into a status the backend acts on. They are derived from
 * the table's change stream, never written by the use cases that make the change: the stream carries
 * every item change exactly once, in order per item, so an event cannot be lost between "status
 * changed" and "event recorded", and the transitions keep their single conditional write.
 */
export const EVENT_TYPES = [
  'payment.succeeded',
  'payment.failed',
  'payment.closed',
  'refund.succeeded',
  'refund.closed',
  'refund.abnormal',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** The order statuses the backend is told of; CREATED and PENDING are not news to it. */
export const PAYMENT_EVENT_TYPES: Partial<Record<OrderStatus, EventType>> = {
  PAID: 'payment.succeeded',
  FAILED: 'payment.failed',
  CLOSED: 'payment.closed',
};

/** The refund statuses the backend is told of; PROCESSING is the answer to its own request. */
export const REFUND_EVENT_TYPES: Partial<Record<RefundStatus, EventType>> = {
  SUCCESS: 'refund.succeeded',
  CLOSED: 'refund.closed',
  ABNORMAL: 'refund.abnormal',
};

/** How long events stay readable by `GET /events` (the log's items expire after it). */
export const EVENT_RETENTION_DAYS = 30;

/** One write to an order or a refund, as the change stream tells it: before is absent on creation. */
export type AggregateChange =
  { kind: 'payment'; before?: Order; after: Order } | { kind: 'refund'; before?: Refund; after: Refund };

/** What an event is about: an order, or one of its refunds. */
export interface EventSubject {
  outTradeNo: string;
  outRefundNo?: string;
}

export interface DomainEvent {
  /** `evt_` + 32 hex: the same for every delivery and every re-derivation of the same change. */
  id: string;
  type: EventType;
  /** When the status changed (ISO 8601), not when the event was recorded or sent. */
  createdAt: string;
  subject: EventSubject;
  /** The order view or the refund view, as the API returns it at that change. */
  data: Record<string, unknown>;
}

/** The event a change calls for, if any: only a change of status into one the backend is told of. */
export function eventTypeOf(change: AggregateChange): EventType | undefined {
  if (change.before?.status === change.after.status) return undefined;
  return change.kind === 'payment' ? PAYMENT_EVENT_TYPES[change.after.status] : REFUND_EVENT_TYPES[change.after.status];
}

export function subjectOf(change: AggregateChange): EventSubject {
  return change.kind === 'payment'
    ? { outTradeNo: change.after.outTradeNo }
    : { outTradeNo: change.after.outTradeNo, outRefundNo: change.after.outRefundNo };
}

/** The form of every event id (eventIdOf). */
export const EVENT_ID_PATTERN = /^evt_[0-9a-f]{32}$/;

/**
 * The event's id, derived from what it is about and its type: an order or a refund enters each status
 * at most once (the lifecycles have no way back), so a redelivered stream record, a replay or a second
 * recorder all name the same event, and the log keeps it once.
 */
export function eventIdOf(subject: EventSubject, type: EventType): string {
  const key = [subject.outTradeNo, subject.outRefundNo ?? '', type].join('\n');
  return `evt_${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/** When the change happened: the history entry of the new status, else the item's last update. */
export function eventTimeOf(change: AggregateChange): string {
  const { after } = change;
  const history: ReadonlyArray<{ at: string; to: string }> = after.history;
  const entry = [...history].reverse().find((h) => h.to === after.status);
  return entry?.at ?? after.updatedAt;
}

// ---- Ports ----------------------------------------------------------------------------------------

/**
 * The durable list of events, read by `GET /events`. `record` keeps an event once by its id:
 * 'already_recorded' when an event with that id is in the log (a redelivered change).
 */
export interface EventLog {
  record(event: DomainEvent): Promise<'recorded' | 'already_recorded'>;
  /**
   * Events recorded after the cursor (absent: from the start of the retained events), oldest first,
   * at most `limit`, and only settled ones (recorded long enough ago that none can still land behind
   * them). `next` is the cursor to ask with next: the last event's when the page is full (more may
   * follow), else the settled bound, since every event up to it has been read; never behind the
   * cursor given. A cursor is opaque to callers and stays valid while the events it points between
   * are retained; one that is not a cursor of this log is a ValidationError on `after`.
   */
  list(query: { after?: string; limit: number }): Promise<EventPage>;
}

export interface EventPage {
  events: DomainEvent[];
  next: string;
}

/** Somewhere an event goes once recorded: the webhook queue, an event bus. At least once. */
export interface EventOutlet {
  publish(event: DomainEvent): Promise<void>;
}
