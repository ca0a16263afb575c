import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { retryMessageAfter } from '#shared/adapters/sqs-message-visibility';
import { SQS_MAX_VISIBILITY_SECONDS } from '#shared/config/webhook-queue';
import { testQueues } from '#test/helpers/aws';
import type { TestQueues } from '#test/helpers/aws';

async function receive(queues: TestQueues): Promise<Message[]> {
  const { Messages: messages = [] } = await queues.client.send(
    new ReceiveMessageCommand({
      QueueUrl: queues.queueUrl,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['ApproximateReceiveCount'],
    }),
  );
  return messages;
}

async function receivedOnce(): Promise<{ queues: TestQueues; handle: string }> {
  const queues = await testQueues({ visibilityTimeoutSeconds: 600 });
  await queues.client.send(new SendMessageCommand({ QueueUrl: queues.queueUrl, MessageBody: 'event' }));
  const [message] = await receive(queues);
  return { queues, handle: message!.ReceiptHandle! };
}

describe('retryMessageAfter', () => {
  it('with 0, makes the message receivable again at once, as its next receive', async () => {
    const { queues, handle } = await receivedOnce();
    expect(await receive(queues)).toEqual([]);
    await retryMessageAfter(queues.client, queues.queueUrl, handle, 0);
    const [again] = await receive(queues);
    expect(again?.Body).toBe('event');
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('with some seconds, keeps it hidden that long instead of the queue’s visibility timeout', async () => {
    const { queues, handle } = await receivedOnce();
    await retryMessageAfter(queues.client, queues.queueUrl, handle, 1);
    expect(await receive(queues)).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect((await receive(queues)).map((m) => m.Body)).toEqual(['event']);
  });

  it('refuses a visibility SQS cannot take, before asking SQS', async () => {
    const { queues, handle } = await receivedOnce();
    for (const seconds of [-1, SQS_MAX_VISIBILITY_SECONDS + 1, 1.5, Number.NaN]) {
      await expect(retryMessageAfter(queues.client, queues.queueUrl, handle, seconds)).rejects.toThrow(RangeError);
    }
    await retryMessageAfter(queues.client, queues.queueUrl, handle, SQS_MAX_VISIBILITY_SECONDS);
    expect(SQS_MAX_VISIBILITY_SECONDS).toBe(12 * 60 * 60);
  });
});
