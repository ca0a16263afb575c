import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSqsLocal } from '#sandbox/local/sqs-server';
import type { LocalServer } from '#sandbox/local/dynamodb-server';
import { ensureQueues, localSqsClient } from '#sandbox/local/resources';
import { uniqueName } from '#test/helpers/aws';

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((address) => address && !address.internal && address.family === 'IPv4')?.address;
}

describe('startSqsLocal', () => {
  let server: LocalServer;
  let client: SQSClient;

  beforeAll(async () => {
    server = await startSqsLocal();
    client = localSqsClient(server.endpoint);
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function freshQueues(maxReceiveCount = 5, visibilityTimeoutSeconds = 30) {
    const queueName = uniqueName('q');
    return ensureQueues(client, { queueName, dlqName: `${queueName}-dlq`, maxReceiveCount, visibilityTimeoutSeconds });
  }

  async function receive(queueUrl: string, options: { wait?: number; max?: number } = {}): Promise<Message[]> {
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        WaitTimeSeconds: options.wait ?? 0,
        MaxNumberOfMessages: options.max ?? 10,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
      }),
    );
    return Messages;
  }

  it('listens on loopback only', async () => {
    const { hostname, port } = new URL(server.endpoint);
    expect(hostname).toBe('127.0.0.1');
    expect(await accepts('127.0.0.1', Number(port))).toBe(true);
    const outside = nonLoopbackAddress();
    if (outside) expect(await accepts(outside, Number(port))).toBe(false);
  });

  it('makes the queue and its DLQ once, with the redrive policy and two weeks of DLQ retention', async () => {
    const settings = {
      queueName: uniqueName('q'),
      dlqName: uniqueName('dlq'),
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 45,
    };
    const first = await ensureQueues(client, settings);
    const again = await ensureQueues(client, settings);
    expect(again).toEqual(first);
    const { QueueUrls = [] } = await client.send(new ListQueuesCommand({ QueueNamePrefix: settings.queueName }));
    expect(QueueUrls).toEqual([first.queueUrl]);

    const { Attributes: queue } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: first.queueUrl, AttributeNames: ['All'] }),
    );
    expect(queue?.VisibilityTimeout).toBe('45');
    expect(JSON.parse(queue?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: first.dlqArn, maxReceiveCount: 3 });
    const { Attributes: dlq } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: first.dlqUrl, AttributeNames: ['MessageRetentionPeriod', 'QueueArn'] }),
    );
    expect(dlq).toEqual({ MessageRetentionPeriod: '1209600', QueueArn: first.dlqArn });
  });

  it('applies changed settings to queues that already exist', async () => {
    const settings = {
      queueName: uniqueName('q'),
      dlqName: uniqueName('dlq'),
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 45,
    };
    await ensureQueues(client, settings);
    const { queueUrl, dlqArn } = await ensureQueues(client, {
      ...settings,
      maxReceiveCount: 7,
      visibilityTimeoutSeconds: 60,
    });
    const { Attributes: queue } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['VisibilityTimeout', 'RedrivePolicy'] }),
    );
    expect(queue?.VisibilityTimeout).toBe('60');
    expect(JSON.parse(queue?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 7 });
  });

  it('holds back a message sent with DelaySeconds', async () => {
    const { queueUrl } = await freshQueues();
    const sentAt = Date.now();
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'later', DelaySeconds: 1 }));
    expect(await receive(queueUrl)).toEqual([]);
    const [message] = await receive(queueUrl, { wait: 3 });
    expect(message?.Body).toBe('later');
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(900);
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const { queueUrl } = await freshQueues();
    const started = Date.now();
    const polling = receive(queueUrl, { wait: 10 });
    setTimeout(() => void client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'now' })), 300);
    const [message] = await polling;
    expect(message?.Body).toBe('now');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('hides a received message for the visibility timeout, redelivers it, DLQs it after maxReceiveCount', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(2, 1);
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'poison' }));

    const [first] = await receive(queueUrl);
    expect(first?.Attributes?.ApproximateReceiveCount).toBe('1');
    // Received and not deleted: hidden until its visibility timeout runs out.
    expect(await receive(queueUrl)).toEqual([]);
    const [second] = await receive(queueUrl, { wait: 3 });
    expect(second?.Body).toBe('poison');
    expect(second?.Attributes?.ApproximateReceiveCount).toBe('2');

    // Visible again after the timeout, but received twice already: redriven instead of delivered.
    expect(await receive(queueUrl, { wait: 2 })).toEqual([]);
    const dead = await receive(dlqUrl, { wait: 2 });
    expect(dead.map((message) => message.Body)).toEqual(['poison']);
  });

  it('sends and deletes in batches', async () => {
    const { queueUrl } = await freshQueues();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: ['a', 'b', 'c'].map((body) => ({ Id: body, MessageBody: body })),
      }),
    );
    expect(sent.Successful?.map((entry) => entry.Id).sort()).toEqual(['a', 'b', 'c']);
    expect(sent.Failed ?? []).toEqual([]);

    const received = await receive(queueUrl, { wait: 1 });
    expect(received.map((message) => message.Body).sort()).toEqual(['a', 'b', 'c']);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: received.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    expect(deleted.Successful).toHaveLength(3);

    const { Attributes: counts } = await client.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    expect(counts).toEqual({ ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' });
  });

  it('stops listening when stopped', async () => {
    const other = await startSqsLocal();
    const port = Number(new URL(other.endpoint).port);
    await other.stop();
    expect(await accepts('127.0.0.1', port)).toBe(false);
  });
});
