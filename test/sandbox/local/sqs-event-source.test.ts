import { createHash, randomUUID } from 'node:crypto';

import {
  ChangeMessageVisibilityCommand,
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

describe('SQS event source on a FIFO queue (the webhook queue)', () => {
  it('holds a group behind a failed message, honours the handler’s visibility changes, then DLQs', async () => {
    const name = `es-${randomUUID().slice(0, 8)}`;
    // As the webhook queue with schedule "1,1": three receives, then the dead-letter queue.
    const queues = await ensureQueues(sqs, {
      queueName: `${name}.fifo`,
      dlqName: `${name}-dlq.fifo`,
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 30,
      fifo: true,
    });
    const schedule = [1, 1];
    const seen: SQSRecord[] = [];
    const seenAt: number[] = [];
    start(queues, async (event) => {
      const failures: { itemIdentifier: string }[] = [];
      for (const record of event.Records) {
        seen.push(record);
        seenAt.push(Date.now());
        if (record.body !== 'e1') continue;
        // As the webhooks handler does on a failed delivery: wait schedule[n-1], or 0 once it is used up.
        const attempt = Number(record.attributes.ApproximateReceiveCount);
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queues.queueUrl,
            ReceiptHandle: record.receiptHandle,
            VisibilityTimeout: schedule[attempt - 1] ?? 0,
          }),
        );
        failures.push({ itemIdentifier: record.messageId });
      }
      return { batchItemFailures: failures };
    });
    const send = (body: string, group: string, dedup: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
        }),
      );
    await send('e1', 'order-1', 'evt-1');
    await send('e1', 'order-1', 'evt-1'); // the same event enqueued again: dropped by its deduplication id
    await send('e2', 'order-1', 'evt-2');
    await send('f1', 'order-2', 'evt-3');

    await waitFor(
      async () => seen.filter((r) => r.body === 'e2').length,
      (n) => n === 1,
      { timeoutMs: 15_000 },
    );
    const order1 = seen.filter((r) => r.attributes.MessageGroupId === 'order-1');
    expect(order1.map((r) => `${r.body}#${r.attributes.ApproximateReceiveCount}`)).toEqual([
      'e1#1',
      'e1#2',
      'e1#3',
      'e2#1',
    ]);
    // The waits the handler set were kept: about a second between the first attempts.
    const e1At = seen.flatMap((r, i) => (r.body === 'e1' ? [seenAt[i] as number] : []));
    expect((e1At[1] as number) - (e1At[0] as number)).toBeGreaterThanOrEqual(900);
    expect((e1At[2] as number) - (e1At[1] as number)).toBeGreaterThanOrEqual(900);
    // Another group is not held back by order-1's failures.
    const f1 = seen.findIndex((r) => r.body === 'f1');
    expect(f1).toBeLessThan(seen.findIndex((r) => r.body === 'e1' && r.attributes.ApproximateReceiveCount === '2'));
    expect(order1[0]?.attributes).toMatchObject({ MessageGroupId: 'order-1', MessageDeduplicationId: 'evt-1' });
    expect(order1[0]?.attributes.SequenceNumber).toMatch(/^\d+$/);

    await waitFor(
      async () => queueDepth(queues.dlqUrl),
      (n) => n === 1,
    );
    const { Messages: dead } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect(dead?.map((m) => [m.Body, m.Attributes?.MessageGroupId, m.Attributes?.MessageDeduplicationId])).toEqual([
      ['e1', 'order-1', 'evt-1'],
    ]);
    expect(await queueDepth(queues.queueUrl)).toBe(0);
  });
});
