import { randomBytes } from 'node:crypto';

import type { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { eventJson } from '#shared/app/event-view';
import {
  type FailedWebhookAttempt,
  WebhookDelivery,
  type WebhookDeliveryObserver,
  webhookDeliveryObserver,
  WebhookNotDelivered,
} from '#shared/app/webhook-delivery';
import { METRIC_WEBHOOK_DELIVERY_FAILURES } from '#shared/config/metric-names';
import { type DomainEvent, eventIdOf } from '#shared/domain/events';
import { parseWebhookSecret } from '#shared/webhooks/webhook-secret';
import { startWebhookReceiver, type WebhookReceiver } from '#test/helpers/webhook-receiver';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const SCHEDULE = [5, 300, 1800];

function paymentEvent(outTradeNo: string): DomainEvent {
  return {
    id: eventIdOf({ outTradeNo }, 'payment.succeeded'),
    type: 'payment.succeeded',
    createdAt: '2030-01-01T00:01:00.000Z',
    subject: { outTradeNo },
    data: { out_trade_no: outTradeNo, status: 'PAID', amount: { total: 1999, currency: 'CNY' } },
  };
}

/** A message of the webhook queue as the SQS event source hands it over, on its n-th receive. */
function queued(body: string, receiveCount: number): SQSRecord {
  return {
    messageId: `m-${randomBytes(4).toString('hex')}`,
    receiptHandle: `rh-${randomBytes(8).toString('hex')}`,
    body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1893456000000',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '1893456000000',
      MessageGroupId: 'T1',
      MessageDeduplicationId: 'd',
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:webhooks.fifo',
    awsRegion: 'us-east-1',
  };
}

class Recorder implements WebhookDeliveryObserver {
  readonly failed: FailedWebhookAttempt[] = [];
  readonly unscheduled: Array<{ eventId: string; attempt: number; error: string }> = [];
  readonly visibility: Array<{ receiptHandle: string; seconds: number }> = [];
  failVisibility = false;

  attemptFailed(attempt: FailedWebhookAttempt): void {
    this.failed.push(attempt);
  }

  retryNotScheduled(detail: { eventId: string; attempt: number; error: string }): void {
    this.unscheduled.push(detail);
  }

  readonly retryAfter = async (receiptHandle: string, seconds: number): Promise<void> => {
    if (this.failVisibility) throw new Error('SQS unavailable');
    this.visibility.push({ receiptHandle, seconds });
  };
}

let receiver: WebhookReceiver;
let recorder: Recorder;
let delivery: WebhookDelivery;

beforeAll(async () => {
  receiver = await startWebhookReceiver({ secret: SECRET });
});
afterAll(async () => {
  await receiver.close();
});
beforeEach(() => {
  recorder = new Recorder();
  delivery = new WebhookDelivery({
    url: receiver.url,
    key: parseWebhookSecret(SECRET),
    schedule: SCHEDULE,
    retryAfter: recorder.retryAfter,
    observer: recorder,
    timeoutMs: 300,
  });
});

describe('a webhook delivered', () => {
  it('posts the message body byte for byte, signed so a Standard Webhooks library verifies it', async () => {
    const event = paymentEvent('T-ok');
    const body = eventJson(event);
    const before = receiver.attempts.length;
    await delivery.deliver(queued(body, 1));
    const [attempt] = receiver.attempts.slice(before);
    expect(attempt?.verified).toBe(true);
    expect(attempt?.body).toBe(body);
    expect(attempt?.headers['webhook-id']).toBe(event.id);
    expect(recorder.visibility).toEqual([]);
    expect(recorder.failed).toEqual([]);
  });
});

describe('a webhook not delivered', () => {
  it('waits the schedule’s first interval after a first attempt answered 500, and fails the record', async () => {
    const event = paymentEvent('T-500');
    receiver.failNext(1, 500, event.id);
    const record = queued(eventJson(event), 1);
    await expect(delivery.deliver(record)).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.visibility).toEqual([{ receiptHandle: record.receiptHandle, seconds: 5 }]);
    expect(recorder.failed).toEqual([
      expect.objectContaining({ eventId: event.id, attempt: 1, failure: 'status', status: 500, retryInSeconds: 5 }),
    ]);
    expect(recorder.failed[0]?.ms).toBeGreaterThanOrEqual(0);
  });

  it('waits schedule[n-1] after the n-th attempt: the receive count is the attempt', async () => {
    const event = paymentEvent('T-third');
    receiver.failNext(1, 503, event.id);
    const record = queued(eventJson(event), 3);
    await expect(delivery.deliver(record)).rejects.toThrow(/attempt 3/);
    expect(recorder.visibility).toEqual([{ receiptHandle: record.receiptHandle, seconds: 1800 }]);
  });

  it('after the last scheduled wait, fails with visibility 0 so the redrive takes it to the DLQ at once', async () => {
    const event = paymentEvent('T-last');
    receiver.failNext(1, 500, event.id);
    const record = queued(eventJson(event), SCHEDULE.length + 1);
    await expect(delivery.deliver(record)).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.visibility).toEqual([{ receiptHandle: record.receiptHandle, seconds: 0 }]);
    expect(recorder.failed[0]?.retryInSeconds).toBeUndefined();
  });

  it('counts a receiver that does not answer in time as a failed attempt', async () => {
    const event = paymentEvent('T-hang');
    receiver.hangNext(1, event.id);
    await expect(delivery.deliver(queued(eventJson(event), 2))).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.failed).toEqual([expect.objectContaining({ failure: 'timeout', attempt: 2, retryInSeconds: 300 })]);
  });

  it('counts a connection closed without an answer as a failed attempt', async () => {
    const event = paymentEvent('T-close');
    receiver.closeNext(1, event.id);
    await expect(delivery.deliver(queued(eventJson(event), 1))).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.failed).toEqual([expect.objectContaining({ failure: 'connection', attempt: 1 })]);
  });

  it('counts a redirect as a failure and does not follow it', async () => {
    const event = paymentEvent('T-302');
    receiver.failNext(1, 302, event.id);
    await expect(delivery.deliver(queued(eventJson(event), 1))).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.failed).toEqual([expect.objectContaining({ failure: 'status', status: 302 })]);
  });

  it('sends a message that is not an event nowhere, and lets it reach the DLQ without waiting', async () => {
    const before = receiver.attempts.length;
    const record = queued('{"hello":"world"}', 1);
    await expect(delivery.deliver(record)).rejects.toThrow(WebhookNotDelivered);
    expect(receiver.attempts.length).toBe(before);
    expect(recorder.visibility).toEqual([{ receiptHandle: record.receiptHandle, seconds: 0 }]);
    expect(recorder.failed).toEqual([expect.objectContaining({ failure: 'unreadable', attempt: 1 })]);
  });

  it('still fails the record when the wait cannot be set, and says so', async () => {
    const event = paymentEvent('T-novis');
    receiver.failNext(1, 500, event.id);
    recorder.failVisibility = true;
    await expect(delivery.deliver(queued(eventJson(event), 1))).rejects.toThrow(WebhookNotDelivered);
    expect(recorder.unscheduled).toEqual([{ eventId: event.id, attempt: 1, error: 'Error: SQS unavailable' }]);
  });

  it('reports neither the body nor the secret', async () => {
    const event = paymentEvent('T-secret');
    receiver.failNext(1, 500, event.id);
    const error: unknown = await delivery.deliver(queued(eventJson(event), 1)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebhookNotDelivered);
    expect((error as Error).message).not.toContain('out_trade_no');
    const reported = JSON.stringify(recorder.failed);
    expect(reported).not.toContain('out_trade_no');
    expect(reported).not.toContain(SECRET.slice('whsec_'.length));
  });
});

describe('the observer of webhook deliveries', () => {
  function observed() {
    const logs: Array<{ level: 'warn' | 'error'; message: string; detail: unknown }> = [];
    const logger = {
      warn: (message: string, detail: unknown) => logs.push({ level: 'warn', message, detail }),
      error: (message: string, detail: unknown) => logs.push({ level: 'error', message, detail }),
    } as unknown as Logger;
    const metrics = new Metrics({ namespace: 'Test', serviceName: 'test' });
    return { logs, metrics, observer: webhookDeliveryObserver({ logger, metrics }) };
  }

  it('counts each failed attempt in WebhookDeliveryFailures and logs it with the event id and attempt', () => {
    const { logs, metrics, observer } = observed();
    const failed = {
      eventId: 'evt_1',
      attempt: 2,
      failure: 'status',
      status: 500,
      detail: 'HTTP 500',
      ms: 12,
    } as const;
    observer.attemptFailed({ ...failed, retryInSeconds: 300 });
    observer.attemptFailed(failed);
    const emf = metrics.serializeMetrics();
    expect(emf._aws.CloudWatchMetrics[0]?.Metrics.map((m) => m.Name)).toEqual([METRIC_WEBHOOK_DELIVERY_FAILURES]);
    expect(emf[METRIC_WEBHOOK_DELIVERY_FAILURES]).toEqual([1, 1]);
    expect(logs.map((l) => l.level)).toEqual(['warn', 'error']);
    expect(logs[0]?.detail).toEqual(expect.objectContaining({ eventId: 'evt_1', attempt: 2, status: 500, ms: 12 }));
    expect(logs[1]?.message).toMatch(/dead-letter/);
    metrics.clearMetrics();
  });
});
