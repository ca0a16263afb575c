import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { beforeEach, describe, expect, it } from 'vitest';
import { SqsWebhookQueue } from '#shared/adapters/sqs-webhook-queue';
import { eventIdOf } from '#shared/domain/events';
import type { DomainEvent } from '#shared/domain/events';
import { ensureQueues, localSqsClient } from '#sandbox/local/resources';
import { localEndpoint, uniqueName } from '#test/helpers/aws';
import { sampleEvent } from '#test/helpers/event-log-contract';

// fauxqs with a real FIFO queue, as the webhook queue is in AWS and in the local stack.

/** A stand-in for the app's eventView: the test needs only a body that tells events apart. */
const render = (event: DomainEvent): string => JSON.stringify({ id: event.id, type: event.type });

let sqs: SQSClient;
let queueUrl: string;
let queue: SqsWebhookQueue;

beforeEach(async () => {
  sqs = localSqsClient(localEndpoint('sqsEndpoint'));
  const name = uniqueName('webhooks');
  ({ queueUrl } = await ensureQueues(sqs, {
    queueName: `${name}.fifo`,
    dlqName: `${name}-dlq.fifo`,
    maxReceiveCount: 8,
    visibilityTimeoutSeconds: 30,
    fifo: true,
  }));
  queue = new SqsWebhookQueue({ sqs, queueUrl, render });
});

/** Everything queued, as a consumer gets it: each received message deleted (a group waits on its head). */
async function receiveAll(): Promise<Message[]> {
  const messages: Message[] = [];
  for (;;) {
    const { Messages: batch = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if (batch.length === 0) return messages;
    messages.push(...batch);
    for (const { ReceiptHandle } of batch) {
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle }));
    }
  }
}

/** An event of the same order as `event`: a refund of it. */
function refundOf(event: DomainEvent, outRefundNo: string): DomainEvent {
  const subject = { outTradeNo: event.subject.outTradeNo, outRefundNo };
  return { ...event, id: eventIdOf(subject, 'refund.succeeded'), type: 'refund.succeeded', subject };
}

describe('SqsWebhookQueue', () => {
  it('queues the rendered event in its order’s group, deduplicated by the event id', async () => {
    const event = sampleEvent();
    await queue.publish(event);
    const [message, ...rest] = await receiveAll();
    expect(rest).toEqual([]);
    expect(message?.Body).toBe(render(event));
    expect(message?.Attributes).toMatchObject({
      MessageGroupId: event.subject.outTradeNo,
      MessageDeduplicationId: event.id,
    });
  });

  it('queues the same event handed on twice once (the stream’s retries within the window)', async () => {
    const event = sampleEvent();
    await queue.publish(event);
    await queue.publish(event);
    expect((await receiveAll()).map((m) => m.Body)).toEqual([render(event)]);
  });

  it("keeps an order's events in the order they were handed on, apart from another order's", async () => {
    const paid = sampleEvent();
    const other = sampleEvent('payment.closed');
    const refunds = ['RF1', 'RF2', 'RF3'].map((no) => refundOf(paid, no));
    for (const event of [paid, other, ...refunds]) await queue.publish(event);
    const received = await receiveAll();
    const ofPaid = received.filter((m) => m.Attributes?.MessageGroupId === paid.subject.outTradeNo);
    expect(ofPaid.map((m) => m.Body)).toEqual([paid, ...refunds].map(render));
    expect(
      received.filter((m) => m.Attributes?.MessageGroupId === other.subject.outTradeNo).map((m) => m.Body),
    ).toEqual([render(other)]);
  });
});
