import { describe, expect, it } from 'vitest';
import { EventRecorder } from '#shared/domain/event-recorder';
import { eventIdOf } from '#shared/domain/events';
import type { AggregateChange, DomainEvent, EventLog, EventOutlet } from '#shared/domain/events';
import type { Order } from '#shared/domain/order';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { newRefund, paidOrder } from '#test/helpers/refund-store-contract';
import { TestClock } from '#test/helpers/test-clock';

/** An outlet that keeps what it was handed, and fails the next `failures` hand-overs. */
class RecordingOutlet implements EventOutlet {
  readonly published: DomainEvent[] = [];
  failures = 0;

  publish(event: DomainEvent): Promise<void> {
    if (this.failures > 0) {
      this.failures -= 1;
      return Promise.reject(new Error('queue unavailable'));
    }
    this.published.push(structuredClone(event));
    return Promise.resolve();
  }
}

/** The view the API would give: enough to see that describe's answer is the event's data. */
const view = (change: AggregateChange): Record<string, unknown> =>
  change.kind === 'payment'
    ? { out_trade_no: change.after.outTradeNo, status: change.after.status }
    : { out_refund_no: change.after.outRefundNo, status: change.after.status };

function setup(outletCount = 2) {
  const clock = new TestClock('2030-01-01T00:10:00.000Z');
  const log = new InMemoryEventLog({ clock });
  const outlets = Array.from({ length: outletCount }, () => new RecordingOutlet());
  const recorder = new EventRecorder({ log, outlets, describe: view });
  return { clock, log, outlets, recorder };
}

function paidChange(): { change: AggregateChange; after: Order } {
  const before = orderFixture({ status: 'PENDING' });
  const after: Order = {
    ...before,
    status: 'PAID',
    updatedAt: at(120),
    history: [...before.history, { at: at(100), from: 'PENDING', to: 'PAID', source: 'notify' }],
  };
  return { change: { kind: 'payment', before, after }, after };
}

describe('EventRecorder', () => {
  it('records the event a status change calls for, then hands it to every outlet', async () => {
    const { log, outlets, recorder } = setup();
    const { change, after } = paidChange();
    const event = await recorder.record(change);
    const expected: DomainEvent = {
      id: eventIdOf({ outTradeNo: after.outTradeNo }, 'payment.succeeded'),
      type: 'payment.succeeded',
      createdAt: at(100),
      subject: { outTradeNo: after.outTradeNo },
      data: { out_trade_no: after.outTradeNo, status: 'PAID' },
    };
    expect(event).toEqual(expected);
    expect(log.all()).toEqual([expected]);
    for (const outlet of outlets) expect(outlet.published).toEqual([expected]);
  });

  it('records a refund’s event with the refund as its subject', async () => {
    const { log, recorder } = setup();
    const before = newRefund(paidOrder(), 100);
    const after = {
      ...before,
      status: 'ABNORMAL' as const,
      history: [
        ...before.history,
        { at: at(400), from: 'PROCESSING' as const, to: 'ABNORMAL' as const, source: 'notify' as const },
      ],
    };
    const event = await recorder.record({ kind: 'refund', before, after });
    expect(event).toMatchObject({
      type: 'refund.abnormal',
      createdAt: at(400),
      subject: { outTradeNo: before.outTradeNo, outRefundNo: before.outRefundNo },
    });
    expect(log.all()).toEqual([event]);
  });

  it('keeps one event for twenty deliveries of a change, handing it on each time with the same id', async () => {
    const { log, outlets, recorder } = setup();
    const { change } = paidChange();
    for (let i = 0; i < 20; i += 1) await recorder.record(structuredClone(change));
    expect(log.all()).toHaveLength(1);
    for (const outlet of outlets) {
      expect(outlet.published).toHaveLength(20);
      expect(new Set(outlet.published.map((e) => e.id))).toEqual(new Set([log.all()[0]!.id]));
    }
  });

  it('lets an outlet’s failure through, so the stream retries the change; the retry hands it on again', async () => {
    const { log, outlets, recorder } = setup();
    const [first, second] = outlets as [RecordingOutlet, RecordingOutlet];
    second.failures = 1;
    const { change } = paidChange();
    await expect(recorder.record(change)).rejects.toThrow('queue unavailable');
    expect(log.all()).toHaveLength(1);
    expect(first.published).toHaveLength(1);
    expect(second.published).toHaveLength(0);
    const event = await recorder.record(change);
    expect(log.all()).toEqual([event]);
    expect(first.published).toEqual([event, event]);
    expect(second.published).toEqual([event]);
  });

  it('lets the log’s failure through before any outlet is handed the event', async () => {
    // The recorder only records: a log with nothing but record is all it needs.
    const failing: Pick<EventLog, 'record'> = { record: () => Promise.reject(new Error('table unavailable')) };
    const outlet = new RecordingOutlet();
    const recorder = new EventRecorder({ log: failing, outlets: [outlet], describe: view });
    await expect(recorder.record(paidChange().change)).rejects.toThrow('table unavailable');
    expect(outlet.published).toEqual([]);
  });

  it('records nothing and hands nothing on for a change that is not a status change to tell', async () => {
    const { log, outlets, recorder } = setup();
    const { after } = paidChange();
    const counters: Order = { ...after, updatedAt: at(900), refunds: { refunded: 0, pending: 100, count: 1 } };
    expect(await recorder.record({ kind: 'payment', before: after, after: counters })).toBeUndefined();
    const created = orderFixture();
    expect(await recorder.record({ kind: 'payment', after: created })).toBeUndefined();
    const pending = { ...created, status: 'PENDING' as const };
    expect(await recorder.record({ kind: 'payment', before: created, after: pending })).toBeUndefined();
    expect(log.all()).toEqual([]);
    for (const outlet of outlets) expect(outlet.published).toEqual([]);
  });

  it('works with no outlet at all (locally without a webhook URL): the log still has the event', async () => {
    const { log, recorder } = setup(0);
    const event = await recorder.record(paidChange().change);
    expect(log.all()).toEqual([event]);
  });
});
