import { createHash, randomUUID } from 'node:crypto';

import {
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

import { ensureQueues, localSqsClient, type QueueUrls } from '#sandbox/local/resources';
import {
  failedMessageIds,
  type SqsEventSource,
  type SqsHandler,
  startSqsEventSource,
} from '#sandbox/local/sqs-event-source';
import { waitFor } from '#test/helpers/wait-for';

let sqs: SQSClient;
let source: SqsEventSource | undefined;
const logs: string[] = [];

beforeAll(() => {
  sqs = localSqsClient(inject('sqsEndpoint'));
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
});

afterAll(() => sqs.destroy());

async function freshQueues(maxReceiveCount: number): Promise<QueueUrls> {
  const name = `es-${randomUUID().slice(0, 8)}`;
  return ensureQueues(sqs, { queueName: name, dlqName: `${name}-dlq`, maxReceiveCount, visibilityTimeoutSeconds: 1 });
}

function start(queues: QueueUrls, handler: SqsHandler) {
  source = startSqsEventSource({
    sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    handler,
    function: { functionName: 'local-reconcile', timeoutMs: 5_000, region: 'us-east-1' },
    log: (l) => logs.push(l),
  });
  return source;
}

async function queueDepth(url: string): Promise<number> {
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(a?.ApproximateNumberOfMessages ?? 0) +
    Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(a?.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Every record the handler was given, in order. */
function recorder(decide: (record: SQSRecord, event: SQSEvent) => 'ok' | 'fail') {
  const seen: SQSRecord[] = [];
  const events: SQSEvent[] = [];
  const handler: SqsHandler = async (event) => {
    events.push(event);
    seen.push(...event.Records);
    const failures = event.Records.filter((r) => decide(r, event) === 'fail').map((r) => ({
      itemIdentifier: r.messageId,
    }));
    return { batchItemFailures: failures } satisfies SQSBatchResponse;
  };
  return { seen, events, handler };
}

describe('failedMessageIds (ReportBatchItemFailures rules)', () => {
  const event = { Records: [{ messageId: 'a' }, { messageId: 'b' }] } as SQSEvent;

  it('treats no response or an empty list as full success', () => {
    expect(failedMessageIds(event, undefined).size).toBe(0);
    expect(failedMessageIds(event, null).size).toBe(0);
    expect(failedMessageIds(event, {}).size).toBe(0);
    expect(failedMessageIds(event, { batchItemFailures: [] }).size).toBe(0);
  });

  it('fails only the named messages', () => {
    expect([...failedMessageIds(event, { batchItemFailures: [{ itemIdentifier: 'b' }] })]).toEqual(['b']);
  });

  it('fails the whole batch when an identifier is empty or unknown', () => {
    expect(failedMessageIds(event, { batchItemFailures: [{ itemIdentifier: '' }] }).size).toBe(2);
    expect(failedMessageIds(event, { batchItemFailures: [{ itemIdentifier: 'zzz' }] }).size).toBe(2);
    expect(failedMessageIds(event, { batchItemFailures: [{}] }).size).toBe(2);
    expect(failedMessageIds(event, { batchItemFailures: 'a' }).size).toBe(2);
  });
});

describe('SQS event source on a real SQS server', () => {
  it('builds SQS records, deletes successes, redelivers failures (receive count grows), then DLQs', async () => {
    const queues = await freshQueues(3);
    const { seen, handler } = recorder((r) => (r.body === 'poison' ? 'fail' : 'ok'));
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: [
          { Id: '1', MessageBody: 'poison' },
          { Id: '2', MessageBody: 'good-1', MessageAttributes: { kind: { DataType: 'String', StringValue: 'check' } } },
          { Id: '3', MessageBody: 'good-2' },
        ],
      }),
    );
    start(queues, handler);

    await waitFor(
      async () => queueDepth(queues.dlqUrl),
      (n) => n === 1,
      { timeoutMs: 20_000 },
    );

    const poison = seen.filter((r) => r.body === 'poison');
    expect(poison.map((r) => r.attributes.ApproximateReceiveCount)).toEqual(['1', '2', '3']);
    expect(seen.filter((r) => r.body === 'good-1')).toHaveLength(1);
    expect(seen.filter((r) => r.body === 'good-2')).toHaveLength(1);
    expect(await queueDepth(queues.queueUrl)).toBe(0);

    const good = seen.find((r) => r.body === 'good-1') as SQSRecord;
    expect(good).toMatchObject({
      eventSource: 'aws:sqs',
      eventSourceARN: queues.queueArn,
      awsRegion: queues.queueArn.split(':')[3],
      md5OfBody: createHash('md5').update('good-1').digest('hex'),
      messageAttributes: {
        kind: { dataType: 'String', stringValue: 'check', stringListValues: [], binaryListValues: [] },
      },
    });
    expect(good.messageId).toMatch(/.+/);
    expect(good.receiptHandle).toMatch(/.+/);
    expect(Number(good.attributes.SentTimestamp)).toBeGreaterThan(Date.now() - 60_000);
    expect(Number(good.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(
      Number(good.attributes.SentTimestamp),
    );
    expect(good.attributes.SenderId).toMatch(/.+/);

    const { Messages: dead } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.dlqUrl, MaxNumberOfMessages: 10 }),
    );
    expect(dead?.map((m) => m.Body)).toEqual(['poison']);
  });

  it('retries the whole batch when the handler throws, and deletes it once it succeeds', async () => {
    const queues = await freshQueues(5);
    let calls = 0;
    const seen: string[][] = [];
    start(queues, async (event) => {
      calls += 1;
      seen.push(event.Records.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`));
      if (calls === 1) throw new Error('downstream unavailable');
    });
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: [
          { Id: '1', MessageBody: 'a' },
          { Id: '2', MessageBody: 'b' },
        ],
      }),
    );
    await waitFor(
      async () => calls,
      (n) => n >= 2,
      { timeoutMs: 15_000 },
    );
    await waitFor(
      async () => queueDepth(queues.queueUrl),
      (n) => n === 0,
    );
    expect(seen[0]?.sort()).toEqual(['a#1', 'b#1']);
    expect(seen.slice(1).flat().sort()).toEqual(['a#2', 'b#2']);
    expect(logs.some((l) => l.includes('downstream unavailable'))).toBe(true);
    expect(await queueDepth(queues.dlqUrl)).toBe(0);
  });

  it('fails the whole batch when the response names a message that is not in it', async () => {
    const queues = await freshQueues(5);
    const counts: string[] = [];
    let calls = 0;
    start(queues, async (event) => {
      calls += 1;
      counts.push(...event.Records.map((r) => r.attributes.ApproximateReceiveCount));
      return calls === 1 ? { batchItemFailures: [{ itemIdentifier: 'not-in-this-batch' }] } : { batchItemFailures: [] };
    });
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'x' }));
    await waitFor(
      async () => calls,
      (n) => n >= 2,
      { timeoutMs: 15_000 },
    );
    await waitFor(
      async () => queueDepth(queues.queueUrl),
      (n) => n === 0,
    );
    expect(counts).toEqual(['1', '2']);
  });

  it('hands over at most batchSize messages per invocation', async () => {
    const queues = await freshQueues(5);
    const sizes: number[] = [];
    await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.queueUrl,
        Entries: Array.from({ length: 5 }, (_, i) => ({ Id: String(i), MessageBody: `m${i}` })),
      }),
    );
    source = startSqsEventSource({
      sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler: async (event) => {
        sizes.push(event.Records.length);
      },
      function: { functionName: 'local-reconcile', timeoutMs: 5_000, region: 'us-east-1' },
      batchSize: 2,
      log: (l) => logs.push(l),
    });
    await waitFor(
      async () => sizes.reduce((a, b) => a + b, 0),
      (n) => n === 5,
    );
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2);
  });

  it('stops promptly while long-polling, and consumes nothing afterwards', async () => {
    const queues = await freshQueues(5);
    const { seen, handler } = recorder(() => 'ok');
    const es = start(queues, handler);
    await new Promise((r) => setTimeout(r, 300));
    const started = Date.now();
    await es.stop();
    source = undefined;
    expect(Date.now() - started).toBeLessThan(1_500);
    await sqs.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'after-stop' }));
    await new Promise((r) => setTimeout(r, 1_200));
    expect(seen).toHaveLength(0);
    expect(await queueDepth(queues.queueUrl)).toBe(1);
  });
});
