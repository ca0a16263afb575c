import { randomBytes } from 'node:crypto';

import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { createDependencies, type DependencyOverrides } from '#shared/app/dependencies';
import { eventJson } from '#shared/app/event-view';
import { createHandlers, createWebhooksHandler } from '#shared/app/handlers';
import { METRIC_WEBHOOK_DELIVERY_FAILURES } from '#shared/config/metric-names';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';
import { type DomainEvent, eventIdOf } from '#shared/domain/events';
import { startWebhookReceiver, type WebhookReceiver } from '#test/helpers/webhook-receiver';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const BASE = {
  TABLE_NAME: 'orders',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'SILENT',
  WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/webhooks.fifo',
  WEBHOOK_RETRY_SCHEDULE: '5,300',
};
const context = { functionName: 'webhooks', getRemainingTimeInMillis: () => 60_000 } as unknown as Context;

function paymentEvent(outTradeNo: string): DomainEvent {
  return {
    id: eventIdOf({ outTradeNo }, 'payment.succeeded'),
    type: 'payment.succeeded',
    createdAt: '2030-01-01T00:01:00.000Z',
    subject: { outTradeNo },
    data: { out_trade_no: outTradeNo, status: 'PAID' },
  };
}

/** A FIFO message as the SQS event source hands it over: its group is its order. */
function queued(event: DomainEvent, receiveCount = 1): SQSRecord {
  return {
    messageId: `m-${event.id}`,
    receiptHandle: `rh-${event.id}`,
    body: eventJson(event),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: '1893456000000',
      SenderId: 'AIDA',
      ApproximateFirstReceiveTimestamp: '1893456000000',
      MessageGroupId: event.subject.outTradeNo,
      MessageDeduplicationId: event.id,
      SequenceNumber: '1',
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:webhooks.fifo',
    awsRegion: 'us-east-1',
  };
}

let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver({ secret: SECRET });
});
afterAll(async () => {
  await receiver.close();
});

function webhooksFunction(env: Record<string, string>, overrides: DependencyOverrides = {}) {
  const visibility: Array<{ receiptHandle: string; seconds: number }> = [];
  const deps = createDependencies(loadSettings({ ...BASE, ...env }), {
    retryWebhookAfter: async (receiptHandle, seconds) => {
      visibility.push({ receiptHandle, seconds });
    },
    ...overrides,
  });
  const added = vi.spyOn(deps.observability.metrics, 'addMetric');
  vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
  return { handler: createWebhooksHandler(deps), visibility, added };
}

describe('the webhooks function', () => {
  it('fails a message and the rest of its order’s in the batch, and delivers other orders’ meanwhile', async () => {
    const { handler, visibility, added } = webhooksFunction({
      MERCHANT_WEBHOOK_URL: receiver.url,
      MERCHANT_WEBHOOK_SECRET: SECRET,
    });
    const paidA = paymentEvent('A-1');
    const laterA = { ...paymentEvent('A-1'), id: eventIdOf({ outTradeNo: 'A-1' }, 'payment.closed') };
    const paidB = paymentEvent('B-1');
    receiver.failNext(1, 500, paidA.id);
    const before = receiver.attempts.length;

    const response = await handler({ Records: [queued(paidA), queued(laterA), queued(paidB)] } as SQSEvent, context);

    expect(response.batchItemFailures).toEqual([
      { itemIdentifier: `m-${paidA.id}` },
      { itemIdentifier: `m-${laterA.id}` },
    ]);
    const sent = receiver.attempts.slice(before);
    // The later event of order A is not even tried: it must not overtake the one that failed.
    expect(sent.map((a) => a.headers['webhook-id'])).toEqual([paidA.id, paidB.id]);
    expect(sent.every((a) => a.verified)).toBe(true);
    expect(visibility).toEqual([{ receiptHandle: `rh-${paidA.id}`, seconds: 5 }]);
    expect(added).toHaveBeenCalledWith(METRIC_WEBHOOK_DELIVERY_FAILURES, 'Count', 1);
  });

  it('answers the failures rather than erroring when the receiver fails the whole batch', async () => {
    const { handler, visibility } = webhooksFunction({
      MERCHANT_WEBHOOK_URL: receiver.url,
      MERCHANT_WEBHOOK_SECRET: SECRET,
    });
    const event = paymentEvent('C-1');
    receiver.failNext(1, 503, event.id);
    const response = await handler({ Records: [queued(event, 3)] } as SQSEvent, context);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: `m-${event.id}` }]);
    // The third attempt of a two-wait schedule was the last: back at once, for the redrive to the DLQ.
    expect(visibility).toEqual([{ receiptHandle: `rh-${event.id}`, seconds: 0 }]);
  });

  it('reads the secret from Secrets Manager by MERCHANT_WEBHOOK_SECRET_ID once, and signs with it', async () => {
    const reads: string[] = [];
    const { handler } = webhooksFunction(
      { MERCHANT_WEBHOOK_URL: receiver.url, MERCHANT_WEBHOOK_SECRET_ID: 'merchant/webhook' },
      { readSecret: async (id) => (reads.push(id), SECRET) },
    );
    const first = paymentEvent('D-1');
    const second = paymentEvent('D-2');
    await expect(handler({ Records: [queued(first)] } as SQSEvent, context)).resolves.toEqual({
      batchItemFailures: [],
    });
    await handler({ Records: [queued(second)] } as SQSEvent, context);
    const attempt = receiver.attempts.find((a) => a.headers['webhook-id'] === second.id);
    expect(attempt?.verified).toBe(true);
    expect(reads).toEqual(['merchant/webhook']);
  });

  it('fails the invocation, not each message, when the secret in Secrets Manager is not a whsec_ secret', async () => {
    const { handler } = webhooksFunction(
      { MERCHANT_WEBHOOK_URL: receiver.url, MERCHANT_WEBHOOK_SECRET_ID: 'merchant/webhook' },
      { readSecret: async () => 'hunter2-hunter2-hunter2-hunter2' },
    );
    const attempt = handler({ Records: [queued(paymentEvent('E-1'))] } as SQSEvent, context);
    await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    await expect(attempt).rejects.toThrow(/merchant\/webhook/);
    await expect(attempt).rejects.not.toThrow(/hunter2/);
  });

  it('refuses to start without a URL, a secret or the queue, naming what is missing', () => {
    const build = (env: Record<string, string | undefined>) => () =>
      createWebhooksHandler(createDependencies(loadSettings({ ...BASE, ...env })));
    expect(build({ MERCHANT_WEBHOOK_SECRET: SECRET })).toThrow(/MERCHANT_WEBHOOK_URL/);
    expect(build({ MERCHANT_WEBHOOK_URL: receiver.url })).toThrow(/MERCHANT_WEBHOOK_SECRET/);
    expect(
      build({ MERCHANT_WEBHOOK_URL: receiver.url, MERCHANT_WEBHOOK_SECRET: SECRET, WEBHOOK_QUEUE_URL: undefined }),
    ).toThrow(/WEBHOOK_QUEUE_URL/);
  });

  it('is a refusal, not a failed start, among the local handlers without MERCHANT_WEBHOOK_URL', async () => {
    const handlers = createHandlers(
      loadSettings({
        ...BASE,
        QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
        NOTIFY_URL: 'https://example.com/notify/pay',
        WECHATPAY_APPID: 'wx0123456789abcdef',
        WECHATPAY_MCHID: '1900000109',
        WECHATPAY_API_KEY: '0123456789abcdef0123456789abcdef',
      }),
    );
    await expect(handlers.webhooks({ Records: [] }, context)).rejects.toThrow(/MERCHANT_WEBHOOK_URL/);
  });
});
