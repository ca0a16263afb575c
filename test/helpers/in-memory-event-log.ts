import { EVENT_RETENTION_DAYS } from '#shared/domain/events';
import type { DomainEvent, EventLog, EventPage } from '#shared/domain/events';
import { systemClock } from '#shared/domain/ports';
import type { Clock } from '#shared/domain/ports';
import { EVENTS_SETTLE_MS } from '#shared/adapters/dynamodb-event-log';
import { encodeEventCursor, listingWindow, positionKey } from '#shared/adapters/event-cursor';

interface Recorded {
  event: DomainEvent;
  recordedAt: string;
  key: string;
}

/**
 * An EventLog in memory with the DynamoDB log's semantics (test/helpers/event-log-contract.ts holds
 * both to them): kept once by id, listed by (recordedAt, id) from a cursor, only settled events, only
 * the retained ones. Events are copied in and out, as a store would.
 */
export class InMemoryEventLog implements EventLog {
  private readonly byId = new Map<string, Recorded>();
  private readonly clock: Clock;
  private readonly settleMs: number;

  constructor(options: { clock?: Clock; settleMs?: number } = {}) {
    this.clock = options.clock ?? systemClock;
    this.settleMs = options.settleMs ?? EVENTS_SETTLE_MS;
  }

  record(event: DomainEvent): Promise<'recorded' | 'already_recorded'> {
    if (this.byId.has(event.id)) return Promise.resolve('already_recorded');
    const recordedAt = this.clock.now().toISOString();
    this.byId.set(event.id, { event: copy(event), recordedAt, key: positionKey({ recordedAt, eventId: event.id }) });
    return Promise.resolve('recorded');
  }

  list(query: { after?: string; limit: number }): Promise<EventPage> {
    try {
      const window = listingWindow(query.after, this.clock.now(), this.settleMs, EVENT_RETENTION_DAYS);
      const page = [...this.byId.values()]
        .filter((r) => r.key > window.afterKey && r.key <= window.upToKey)
        .sort((a, b) => (a.key < b.key ? -1 : 1))
        .slice(0, query.limit);
      const last = page.at(-1);
      const next =
        last !== undefined && page.length === query.limit
          ? encodeEventCursor({ recordedAt: last.recordedAt, eventId: last.event.id })
          : window.settledCursor;
      return Promise.resolve({ events: page.map((r) => copy(r.event)), next });
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  /** Every event recorded, oldest first, whatever the settle time: what a test asserts on. */
  all(): DomainEvent[] {
    return [...this.byId.values()].sort((a, b) => (a.key < b.key ? -1 : 1)).map((r) => copy(r.event));
  }
}

function copy(event: DomainEvent): DomainEvent {
  // As the DynamoDB log keeps it: plain JSON, members set to undefined dropped.
  return JSON.parse(JSON.stringify(event)) as DomainEvent;
}
