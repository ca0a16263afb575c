import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors';
import type { EventLog, EventPage } from '#shared/domain/events';
import { DEFAULT_EVENTS_PAGE, ListEvents, MAX_EVENTS_PAGE } from '#shared/domain/list-events';
import { sampleEvent } from '#test/helpers/event-log-contract';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { TestClock } from '#test/helpers/test-clock';

/** A log that answers nothing and remembers what it was asked. */
class AskedLog implements EventLog {
  readonly asked: Array<{ after?: string; limit: number }> = [];

  record(): Promise<'recorded'> {
    return Promise.resolve('recorded');
  }

  list(query: { after?: string; limit: number }): Promise<EventPage> {
    this.asked.push(query);
    return Promise.resolve({ events: [], next: 'the same' });
  }
}

describe('ListEvents', () => {
  it('asks the log for 50 events by default, and for the limit given from 1 to 100', async () => {
    const log = new AskedLog();
    const list = new ListEvents(log);
    await list.list({});
    await list.list({ limit: 1, after: 'abc' });
    await list.list({ limit: MAX_EVENTS_PAGE });
    expect(DEFAULT_EVENTS_PAGE).toBe(50);
    expect(MAX_EVENTS_PAGE).toBe(100);
    expect(log.asked).toEqual([
      { after: undefined, limit: 50 },
      { after: 'abc', limit: 1 },
      { after: undefined, limit: 100 },
    ]);
  });

  it('refuses a limit outside 1..100 or not whole, naming the field, without asking the log', async () => {
    const log = new AskedLog();
    const list = new ListEvents(log);
    for (const limit of [0, -1, 101, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      const error: unknown = await list.list({ limit }).catch((e: unknown) => e);
      expect(error, String(limit)).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).field).toBe('limit');
    }
    expect(log.asked).toEqual([]);
  });

  it('pages through the log oldest first and refuses a cursor the log did not hand out', async () => {
    const clock = new TestClock('2030-01-01T00:00:00.000Z');
    const log = new InMemoryEventLog({ clock });
    const events = [sampleEvent(), sampleEvent('payment.closed'), sampleEvent('refund.succeeded', 'RF1')];
    for (const event of events) {
      await log.record(event);
      clock.advance(1);
    }
    clock.advance(10);
    const list = new ListEvents(log);
    const first = await list.list({ limit: 2 });
    expect(first.events).toEqual(events.slice(0, 2));
    const second = await list.list({ limit: 2, after: first.next });
    expect(second.events).toEqual(events.slice(2));
    await expect(list.list({ after: 'bm90LWEtY3Vyc29y' })).rejects.toMatchObject({ field: 'after' });
  });
});
