import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { redriveMessages, redriveTarget, RedriveUsageError } from '#sandbox/local/redrive-webhooks';
import { ensureQueues, localSqsClient, type QueueUrls } from '#sandbox/local/resources';
import { removeRunningStack, writeRunningStack } from '#sandbox/local/running-stack-file';

let sqs: SQSClient;

beforeAll(() => {
  sqs = localSqsClient(inject('sqsEndpoint'));
});

afterAll(() => sqs.destroy());

async function webhookQueues(): Promise<QueueUrls> {
  const name = `redrive-${randomUUID().slice(0, 8)}`;
  // One receive, then the dead-letter queue: a schedule with no retries.
  return ensureQueues(sqs, {
    queueName: `${name}-webhooks.fifo`,
    dlqName: `${name}-webhooks-dlq.fifo`,
    maxReceiveCount: 1,
    visibilityTimeoutSeconds: 30,
    fifo: true,
  });
}

async function receiveAll(queueUrl: string): Promise<Message[]> {
  const all: Message[] = [];
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    if (messages.length === 0) return all;
    for (const m of messages) {
      all.push(m);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }));
    }
  }
}

/** Sends the events and fails each once, so that the queue's redrive dead-letters them all. */
async function deadLetter(queues: QueueUrls, events: Array<{ id: string; group: string }>): Promise<void> {
  for (const { id, group } of events) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queues.queueUrl,
        MessageBody: JSON.stringify({ id }),
        MessageGroupId: group,
        MessageDeduplicationId: id,
        MessageAttributes: { kind: { DataType: 'String', StringValue: 'event' } },
      }),
    );
  }
  for (let round = 0; round < events.length * 2 + 2; round++) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
    );
    for (const m of messages) {
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queues.queueUrl,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
  }
}

describe('redriveMessages on a real SQS server', () => {
  it('moves every dead letter back with its body, attributes and group, in order, and empties the DLQ', async () => {
    const queues = await webhookQueues();
    const events = [
      { id: 'evt_a1', group: 'order-a' },
      { id: 'evt_a2', group: 'order-a' },
      { id: 'evt_b1', group: 'order-b' },
    ];
    await deadLetter(queues, events);

    // Less than five minutes after the events were first queued: still delivered, not dropped as repeats.
    const { moved } = await redriveMessages({
      sqs,
      dlqUrl: queues.dlqUrl,
      queueUrl: queues.queueUrl,
      waitTimeSeconds: 0,
    });
    expect(moved).toBe(3);
    expect(await receiveAll(queues.dlqUrl)).toEqual([]);

    const back = await receiveAll(queues.queueUrl);
    const summary = back.map((m) => [m.Attributes?.MessageGroupId, (JSON.parse(m.Body ?? '{}') as { id: string }).id]);
    expect(summary.filter(([group]) => group === 'order-a')).toEqual([
      ['order-a', 'evt_a1'],
      ['order-a', 'evt_a2'],
    ]);
    expect(summary.filter(([group]) => group === 'order-b')).toEqual([['order-b', 'evt_b1']]);
    expect(back[0]?.MessageAttributes?.kind?.StringValue).toBe('event');
  });

  it('moves nothing from an empty dead-letter queue', async () => {
    const queues = await webhookQueues();
    expect(
      await redriveMessages({ sqs, dlqUrl: queues.dlqUrl, queueUrl: queues.queueUrl, waitTimeSeconds: 0 }),
    ).toEqual({ moved: 0 });
  });
});

describe('redriveTarget (the command line)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'redrive-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('takes the queues of the running local stack by default', () => {
    const urls = {
      webhookQueueUrl: 'http://sqs.us-east-1.localhost:9/000000000000/x-webhooks.fifo',
      webhookDlqUrl: 'http://sqs.us-east-1.localhost:9/000000000000/x-webhooks-dlq.fifo',
    };
    writeRunningStack(dataDir, { pid: process.pid, region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9', ...urls });
    try {
      const target = redriveTarget([], { DATA_DIR: dataDir });
      expect(target).toMatchObject({ queueUrl: urls.webhookQueueUrl, dlqUrl: urls.webhookDlqUrl });
      target.sqs.destroy();
    } finally {
      removeRunningStack(dataDir);
    }
  });

  it('says what to do when no local stack runs, or when it has no webhook queue', () => {
    expect(() => redriveTarget([], { DATA_DIR: dataDir })).toThrow(/no local stack is running.*npm start/);
    writeRunningStack(dataDir, { pid: process.pid, region: 'us-east-1', sqsEndpoint: 'http://127.0.0.1:9' });
    try {
      expect(() => redriveTarget([], { DATA_DIR: dataDir })).toThrow(/MERCHANT_WEBHOOK_URL/);
    } finally {
      removeRunningStack(dataDir);
    }
  });

  it('takes no arguments (AWS has its own redrive)', () => {
    expect(() => redriveTarget(['--dlq-url', 'https://sqs.eu-west-1.amazonaws.com/1/w.fifo'], {})).toThrow(
      RedriveUsageError,
    );
  });
});
