import { marshall } from '@aws-sdk/util-dynamodb';
import type { AttributeValue, Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

import { toOrderItem } from '#shared/adapters/dynamodb-order-item';
import { toRefundItem } from '#shared/adapters/dynamodb-refund-item';
import { EventBridgeEventBus } from '#shared/adapters/eventbridge-event-bus';
import { SqsWebhookQueue } from '#shared/adapters/sqs-webhook-queue';
import { createDependencies } from '#shared/app/dependencies';
import { createEventsHandler } from '#shared/app/handlers';
import { DECISION_MARGIN_MS } from '#shared/app/invocation-deadline';
import { orderView } from '#shared/app/order-view';
import { refundView } from '#shared/app/refund-view';
import { METRIC_EVENTS_RECORDED } from '#shared/config/metric-names';
import { loadSettings } from '#shared/config/settings';
import { type DomainEvent, eventIdOf, type EventOutlet } from '#shared/domain/events';
import type { Order } from '#shared/domain/order';
import type { Refund } from '#shared/domain/refund';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { paidOrder } from '#test/helpers/refund-harness';
import { TestClock } from '#test/helpers/test-clock';

const BASE = { TABLE_NAME: 'orders', AWS_REGION: 'us-east-1', LOG_LEVEL: 'SILENT' };
const context = { functionName: 'events', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

let sequence = 100;

/** One record of the table's stream, as the event source mapping hands it over (NEW_AND_OLD_IMAGES). */
function streamRecord(item: Record<string, unknown>, oldItem?: Record<string, unknown>): DynamoDBRecord {
  sequence += 1;
  const image = (value: Record<string, unknown>) =>
    marshall(value, { removeUndefinedValues: true }) as unknown as Record<string, AttributeValue>;
  const keys = image({ pk: item.pk, sk: item.sk });
  return {
    eventID: `e${sequence}`,
    eventName: oldItem === undefined ? 'INSERT' : 'MODIFY',
    eventSource: 'aws:dynamodb',
    awsRegion: 'us-east-1',
    dynamodb: {
      Keys: keys,
      NewImage: image(item),
      ...(oldItem === undefined ? {} : { OldImage: image(oldItem) }),
      SequenceNumber: String(sequence),
      StreamViewType: 'NEW_AND_OLD_IMAGES',
    },
  };
}

const orderItem = (order: Order) => toOrderItem(order, 'DUE#0');
const refundItem = (refund: Refund) => toRefundItem(refund, 'RDUE#0');

function refundOf(order: Order, status: Refund['status']): Refund {
  return {
    outRefundNo: `R-${order.outTradeNo}`,
    outTradeNo: order.outTradeNo,
    status,
    amount: { refund: 30, total: 1999, currency: 'CNY' },
    requestHash: 'r'.repeat(64),
    createdAt: at(100),
    updatedAt: at(160),
    history: [
      { at: at(100), from: null, to: 'PROCESSING', source: 'api' },
      ...(status === 'PROCESSING'
        ? []
        : [{ at: at(160), from: 'PROCESSING' as const, to: status, source: 'notify' as const }]),
    ],
  } as Refund;
}

/**
 * An outlet that keeps what it is handed, and can be told to fail for one event, to take a while
 * (`onPublish`, run first), or to never answer (`hang`).
 */
class RecordingOutlet implements EventOutlet {
  readonly published: DomainEvent[] = [];
  failFor: string | undefined;
  hang = false;
  onPublish: (() => void) | undefined;

  publish(event: DomainEvent): Promise<void> {
    this.onPublish?.();
    if (this.hang) return new Promise<void>(() => undefined);
    if (event.id === this.failFor) return Promise.reject(new Error('queue unavailable'));
    this.published.push(event);
    return Promise.resolve();
  }
}

/** A context whose invocation ends `ms` from now (by Date, which a test may move on). */
function endingIn(ms: number): Context {
  const end = Date.now() + ms;
  return { functionName: 'events', getRemainingTimeInMillis: () => end - Date.now() } as unknown as Context;
}

function eventsFunction() {
  const clock = new TestClock(T0);
  const eventLog = new InMemoryEventLog({ clock });
  const outlet = new RecordingOutlet();
  const deps = createDependencies(loadSettings(BASE), { clock, eventLog, eventOutlets: [outlet] });
  const added = vi.spyOn(deps.observability.metrics, 'addMetric');
  vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
  const handler = createEventsHandler(deps);
  const run = (records: DynamoDBRecord[], invocation: Context = context) =>
    handler({ Records: records } as DynamoDBStreamEvent, invocation);
  return { run, eventLog, outlet, added };
}

describe('the events function', () => {
  it('records one event per status change, in the stream’s order, with the API’s view as data', async () => {
    const { run, eventLog, outlet } = eventsFunction();
    const pending = orderFixture({ status: 'PENDING' });
    const paid = paidOrder({ outTradeNo: pending.outTradeNo, request: pending.request });
    const processing = refundOf(paid, 'PROCESSING');
    const succeeded = refundOf(paid, 'SUCCESS');
    const records = [
      streamRecord(orderItem(pending)),
      streamRecord(orderItem(paid), orderItem(pending)),
      // Not an order nor a refund: a stored notification under the order.
      streamRecord({ pk: `ORDER#${paid.outTradeNo}`, sk: 'NOTIFY#abc', body: '<xml/>' }),
      streamRecord(refundItem(processing)),
      streamRecord(refundItem(succeeded), refundItem(processing)),
    ];

    await expect(run(records)).resolves.toEqual({ batchItemFailures: [] });

    // In the stream's order, as handed on (the log lists by recording time, which the test clock holds still).
    const published = outlet.published;
    expect(published.map((e) => e.type)).toEqual(['payment.succeeded', 'refund.succeeded']);
    expect(published[0]?.data).toEqual(orderView(paid));
    expect(published[1]?.data).toEqual(refundView(succeeded));
    expect(published[1]?.createdAt).toBe(at(160));
    expect(eventLog.all()).toEqual(expect.arrayContaining(published));
    expect(eventLog.all()).toHaveLength(2);
  });

  it('stops at the first record that fails and names it; the retry from there records each event once', async () => {
    const { run, eventLog, outlet, added } = eventsFunction();
    const orders = [0, 1, 2].map(() => orderFixture({ status: 'PENDING' }));
    const records = orders.map((pending) =>
      streamRecord(orderItem(paidOrder({ outTradeNo: pending.outTradeNo })), orderItem(pending)),
    );
    const ids = orders.map((o) => eventIdOf({ outTradeNo: o.outTradeNo }, 'payment.succeeded'));
    // The second event is recorded, then its outlet fails: nothing after it may go on before it.
    outlet.failFor = ids[1];

    const failed = await run(records);
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: records[1]?.dynamodb?.SequenceNumber }] });
    // (The test clock stands still, so the log lists them by id.)
    expect(
      eventLog
        .all()
        .map((e) => e.id)
        .sort(),
    ).toEqual([ids[0], ids[1]].sort());
    expect(outlet.published.map((e) => e.id)).toEqual([ids[0]]);

    // The stream retries from the failed record.
    outlet.failFor = undefined;
    await expect(run(records.slice(1))).resolves.toEqual({ batchItemFailures: [] });
    expect(
      eventLog
        .all()
        .map((e) => e.id)
        .sort(),
    ).toEqual([...ids].sort());
    expect(outlet.published.map((e) => e.id)).toEqual(ids);
    // Kept once in the log, and counted once, though derived twice.
    expect(added.mock.calls.filter(([name]) => name === METRIC_EVENTS_RECORDED)).toHaveLength(3);
  });

  it('stops before the invocation ends and names the next record not done; the retry goes on from it', async () => {
    const { run, eventLog, outlet } = eventsFunction();
    const orders = [0, 1, 2, 3, 4].map(() => orderFixture({ status: 'PENDING' }));
    const records = orders.map((pending) =>
      streamRecord(orderItem(paidOrder({ outTradeNo: pending.outTradeNo })), orderItem(pending)),
    );
    const ids = orders.map((o) => eventIdOf({ outTradeNo: o.outTradeNo }, 'payment.succeeded'));
    // Each hand-over takes 200 ms of the invocation's time; the batch has 500 ms before its margin.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      outlet.onPublish = () => vi.setSystemTime(Date.now() + 200);
      const cut = await run(records, endingIn(DECISION_MARGIN_MS + 500));
      // Three started before the margin (at 0, 200, 400 ms) and finished; the fourth was not started.
      expect(cut).toEqual({ batchItemFailures: [{ itemIdentifier: records[3]?.dynamodb?.SequenceNumber }] });
      expect(outlet.published.map((e) => e.id)).toEqual(ids.slice(0, 3));
    } finally {
      vi.useRealTimers();
    }

    outlet.onPublish = undefined;
    await expect(run(records.slice(3))).resolves.toEqual({ batchItemFailures: [] });
    expect(outlet.published.map((e) => e.id)).toEqual(ids);
    expect(eventLog.all()).toHaveLength(5);
  });

  it('gives up on a record still in hand at the margin and names it, rather than time out', async () => {
    const { run, outlet } = eventsFunction();
    const orders = [0, 1].map(() => orderFixture({ status: 'PENDING' }));
    const records = orders.map((pending) =>
      streamRecord(orderItem(paidOrder({ outTradeNo: pending.outTradeNo })), orderItem(pending)),
    );
    // The outlet never answers: without the cut-off the invocation would run into its timeout.
    outlet.hang = true;
    const started = Date.now();
    const cut = await run(records, endingIn(DECISION_MARGIN_MS + 150));
    expect(cut).toEqual({ batchItemFailures: [{ itemIdentifier: records[0]?.dynamodb?.SequenceNumber }] });
    expect(Date.now() - started).toBeLessThan(DECISION_MARGIN_MS + 150);
  });

  it('stops at a record of an order it cannot read, rather than skip its event', async () => {
    const { run, eventLog } = eventsFunction();
    const pending = orderFixture({ status: 'PENDING' });
    const broken = streamRecord({ ...orderItem(pending), status: 'SHIPPED' }, orderItem(pending));
    const later = streamRecord(
      orderItem(paidOrder({ outTradeNo: 'T-later' })),
      orderItem(orderFixture({ outTradeNo: 'T-later', status: 'PENDING' })),
    );
    await expect(run([broken, later])).resolves.toEqual({
      batchItemFailures: [{ itemIdentifier: broken.dynamodb?.SequenceNumber }],
    });
    expect(eventLog.all()).toEqual([]);
  });
});

describe('the events function’s outlets', () => {
  it('are the webhook queue when WEBHOOK_QUEUE_URL is set and the bus when EVENT_BUS_NAME is', () => {
    const none = createDependencies(loadSettings(BASE));
    expect(none.eventOutlets()).toEqual([]);
    const both = createDependencies(
      loadSettings({
        ...BASE,
        WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/webhooks.fifo',
        EVENT_BUS_NAME: 'wechatpay-events',
      }),
    );
    const outlets = both.eventOutlets();
    expect(outlets).toHaveLength(2);
    expect(outlets[0]).toBeInstanceOf(SqsWebhookQueue);
    expect(outlets[1]).toBeInstanceOf(EventBridgeEventBus);
    expect(both.eventOutlets()).toBe(outlets);
  });
});
