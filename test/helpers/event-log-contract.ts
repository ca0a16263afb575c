import { describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors';
import { EVENT_RETENTION_DAYS, eventIdOf } from '#shared/domain/events';
import type { DomainEvent, EventLog, EventType } from '#shared/domain/events';
import { EVENTS_SETTLE_MS } from '#shared/adapters/dynamodb-event-log';
import { encodeEventCursor } from '#shared/adapters/event-cursor';
import { tradeNo } from '#test/helpers/order-fixtures';
import { TestClock } from '#test/helpers/test-clock';

/** A day far from any real clock, so the retention window is the test's own. */
const START = '2030-03-10T23:59:50.000Z';

/** Moves the clock on until everything recorded so far is listed. */
function settle(clock: TestClock): void {
  clock.advance(EVENTS_SETTLE_MS / 1000);
}

/** An event of a fresh order (or of a refund of it), with a view-like data map. */
export function sampleEvent(type: EventType = 'payment.succeeded', outRefundNo?: string): DomainEvent {
  const subject = outRefundNo === undefined ? { outTradeNo: tradeNo() } : { outTradeNo: tradeNo(), outRefundNo };
  return {
    id: eventIdOf(subject, type),
    type,
    createdAt: '2030-03-10T23:59:49.000Z',
    subject,
    data: {
      out_trade_no: subject.outTradeNo,
      status: 'PAID',
      amount: { total: 1999, currency: 'CNY' },
      transaction_id: '4200001234567890123456789012',
      late_payment: false,
      history: [{ at: '2030-03-10T23:59:49.000Z', to: 'PAID' }],
    },
  };
}

/**
 * What every EventLog must do, as GET /events and the recorder rely on it. It runs against the
 * DynamoDB log on DynamoDB Local (integration tier) and the in-memory one (unit tier), so the test
 * double cannot drift. `newLog` gives an EMPTY log on the given clock: a listing spans the whole log.
 */
export function eventLogContract(name: string, newLog: (clock: TestClock) => Promise<EventLog>): void {
  describe(`${name} keeps the EventLog contract`, () => {
    async function fresh(): Promise<{ log: EventLog; clock: TestClock }> {
      const clock = new TestClock(START);
      return { log: await newLog(clock), clock };
    }

    /** Every event from the start, `limit` at a time, with the cursors between. */
    async function readAll(log: EventLog, limit: number, after?: string): Promise<DomainEvent[]> {
      const events: DomainEvent[] = [];
      let cursor = after;
      for (let pages = 0; pages < 100; pages += 1) {
        const page = await log.list({ after: cursor, limit });
        expect(page.events.length).toBeLessThanOrEqual(limit);
        events.push(...page.events);
        if (page.events.length === 0) return events;
        cursor = page.next;
      }
      throw new Error('the log never ran out of events');
    }

    it('keeps an event once by its id: the second record of the same id changes nothing', async () => {
      const { log, clock } = await fresh();
      const event = sampleEvent();
      expect(await log.record(event)).toBe('recorded');
      clock.advance(1);
      expect(await log.record({ ...event, data: { other: true } })).toBe('already_recorded');
      settle(clock);
      expect(await log.list({ limit: 10 })).toEqual({ events: [event], next: expect.any(String) as string });
    });

    it('gives an event back as recorded: subject with and without a refund, nested data', async () => {
      const { log, clock } = await fresh();
      const payment = sampleEvent('payment.failed');
      const refund = sampleEvent('refund.abnormal', 'RF0001');
      await log.record(payment);
      clock.advance(0.001);
      await log.record(refund);
      settle(clock);
      const { events } = await log.list({ limit: 10 });
      expect(events).toEqual([payment, refund]);
      expect(Object.keys(events[0]!.subject)).toEqual(['outTradeNo']);
    });

    it('lists oldest first, across UTC days, each event once whatever the page size', async () => {
      const { log, clock } = await fresh();
      const recorded: DomainEvent[] = [];
      // 7 events a few seconds apart: START is 10 s before midnight, so they span two days.
      for (let i = 0; i < 7; i += 1) {
        const event = sampleEvent();
        recorded.push(event);
        await log.record(event);
        clock.advance(3);
      }
      settle(clock);
      for (const limit of [1, 2, 3, 7, 50]) expect(await readAll(log, limit)).toEqual(recorded);
    });

    it('orders events of the same millisecond by id, and a cursor between them resumes exactly', async () => {
      const { log, clock } = await fresh();
      const events = [sampleEvent(), sampleEvent(), sampleEvent()];
      for (const event of events) await log.record(event);
      settle(clock);
      const byId = [...events].sort((a, b) => (a.id < b.id ? -1 : 1));
      const first = await log.list({ limit: 1 });
      expect(first.events).toEqual([byId[0]]);
      expect((await log.list({ after: first.next, limit: 5 })).events).toEqual(byId.slice(1));
    });

    it('hands back the settled bound when a page is not full: a listing from it reads what came since', async () => {
      const { log, clock } = await fresh();
      const empty = await log.list({ limit: 5 });
      expect(empty.events).toEqual([]);
      const event = sampleEvent();
      await log.record(event);
      settle(clock);
      const page = await log.list({ after: empty.next, limit: 5 });
      expect(page.events).toEqual([event]);
      // Not the event's cursor: the page was not full, so everything up to the settled bound was read.
      expect(page.next).not.toBe(encodeEventCursor({ recordedAt: START, eventId: event.id }));
      expect(await log.list({ after: page.next, limit: 5 })).toEqual({ events: [], next: page.next });
    });

    it('hands back the last event’s cursor when the limit cut the page off', async () => {
      const { log, clock } = await fresh();
      const [first, second] = [sampleEvent(), sampleEvent()];
      await log.record(first!);
      clock.advance(1);
      await log.record(second!);
      settle(clock);
      const page = await log.list({ limit: 1 });
      expect(page).toEqual({ events: [first], next: encodeEventCursor({ recordedAt: START, eventId: first!.id }) });
      expect((await log.list({ after: page.next, limit: 1 })).events).toEqual([second]);
    });

    it('moves an idle cursor on to the settled bound as time passes', async () => {
      const { log, clock } = await fresh();
      await log.record(sampleEvent());
      settle(clock);
      const { next: old } = await log.list({ limit: 5 });
      clock.advance(3 * 24 * 3600);
      const idle = await log.list({ after: old, limit: 5 });
      expect(idle.events).toEqual([]);
      expect(idle.next).not.toBe(old);
      const later = sampleEvent();
      await log.record(later);
      settle(clock);
      expect((await log.list({ after: idle.next, limit: 5 })).events).toEqual([later]);
    });

    it('never moves a cursor back, even one ahead of the settled bound', async () => {
      const { log } = await fresh();
      // Another instance whose clock ran a little ahead may have handed this one out.
      const ahead = encodeEventCursor({ recordedAt: '2030-03-11T00:00:10.000Z', eventId: sampleEvent().id });
      expect(await log.list({ after: ahead, limit: 5 })).toEqual({ events: [], next: ahead });
    });

    it('shows an event only once it has settled, so a cursor cannot pass one still landing', async () => {
      const { log, clock } = await fresh();
      const early = sampleEvent();
      await log.record(early);
      clock.advance(EVENTS_SETTLE_MS / 1000 - 1);
      const late = sampleEvent();
      await log.record(late);
      clock.advance(1);
      // early is exactly settleMs old: shown; late is not yet.
      const page = await log.list({ limit: 10 });
      expect(page.events).toEqual([early]);
      clock.advance(EVENTS_SETTLE_MS / 1000);
      expect((await log.list({ after: page.next, limit: 10 })).events).toEqual([late]);
    });

    it('lists an event until it is exactly the retention period old, as its TTL says, and never after', async () => {
      const { log, clock } = await fresh();
      const { next: before } = await log.list({ limit: 10 });
      const old = sampleEvent();
      await log.record(old); // at START
      clock.advance(EVENT_RETENTION_DAYS * 24 * 3600 - 0.001);
      expect((await log.list({ limit: 10 })).events).toEqual([old]);
      expect((await log.list({ after: before, limit: 10 })).events).toEqual([old]);
      // Its TTL has passed: DynamoDB may not have deleted it yet, but no listing shows it any more.
      clock.advance(0.001);
      expect((await log.list({ limit: 10 })).events).toEqual([]);
      expect((await log.list({ after: before, limit: 10 })).events).toEqual([]);
    });

    it('resumes from a cursor of a day with no events since, reading the days after it', async () => {
      const { log, clock } = await fresh();
      await log.record(sampleEvent());
      settle(clock);
      const { next } = await log.list({ limit: 10 });
      clock.advance(3 * 24 * 3600);
      const later = sampleEvent();
      await log.record(later);
      settle(clock);
      expect((await log.list({ after: next, limit: 10 })).events).toEqual([later]);
    });

    it('refuses a cursor it did not hand out, as a ValidationError on after', async () => {
      const { log } = await fresh();
      const id = sampleEvent().id;
      const refused = [
        'not a cursor',
        '',
        Buffer.from(`2030-03-10T23:59:50.000Z#${id}`).toString('base64'), // padded, standard alphabet
        `${encodeEventCursor({ recordedAt: '2030-03-10T23:59:50.000Z', eventId: id })}A`,
        Buffer.from(`2030-03-10T23:59:50Z#${id}`).toString('base64url'), // no milliseconds
        Buffer.from(`2030-02-30T10:00:00.000Z#${id}`).toString('base64url'), // no such day
        Buffer.from(`2030-03-10T23:59:50.000Z#evt_123`).toString('base64url'),
        Buffer.from(`2030-03-10T23:59:50.000Z#${id}#x`).toString('base64url'),
        'A'.repeat(500),
      ];
      for (const after of refused) {
        const error: unknown = await log.list({ after, limit: 5 }).catch((e: unknown) => e);
        expect(error, after).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).field).toBe('after');
      }
    });
  });
}
