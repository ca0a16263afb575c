import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { delaySecondsUntil, SqsCheckScheduler } from '#shared/adapters/sqs-check-scheduler';
import { parseReconcileCheck } from '#shared/app/reconcile-message';
import { ValidationError } from '#shared/domain/errors';
import type { Clock, ReconcileCheck } from '#shared/domain/ports';
import { testQueues } from '#test/helpers/aws';
import type { TestQueues } from '#test/helpers/aws';

const NOW = new Date('2030-01-01T00:00:00.000Z');
const fixedClock: Clock = { now: () => NOW };
const later = (ms: number): string => new Date(NOW.getTime() + ms).toISOString();

describe('delaySecondsUntil', () => {
  it.each([
    { label: 'a check already due', offsetMs: -60_000, seconds: 0 },
    { label: 'a check due now', offsetMs: 0, seconds: 0 },
    { label: 'a check due within the next second', offsetMs: 1, seconds: 1 },
    { label: 'a check due in 90.2 s (rounded up, never early)', offsetMs: 90_200, seconds: 91 },
    { label: 'a check due in exactly 15 minutes', offsetMs: 900_000, seconds: 900 },
    { label: 'a check due just after 15 minutes', offsetMs: 900_001, seconds: 900 },
    { label: 'a check due in 2 hours', offsetMs: 7_200_000, seconds: 900 },
  ])('$label waits $seconds s', ({ offsetMs, seconds }) => {
    expect(delaySecondsUntil(later(offsetMs), NOW)).toBe(seconds);
  });

  it('refuses a dueAt that is not an instant', () => {
    expect(() => delaySecondsUntil('tomorrow', NOW)).toThrow(ValidationError);
  });
});

describe('SqsCheckScheduler on the local SQS server', () => {
  let queues: TestQueues;

  beforeAll(async () => {
    queues = await testQueues();
  });

  async function receive(waitTimeSeconds: number): Promise<Message[]> {
    const { Messages = [] } = await queues.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        WaitTimeSeconds: waitTimeSeconds,
        MaxNumberOfMessages: 10,
      }),
    );
    return Messages;
  }

  it('sends the check, and only the check, as the message body', async () => {
    const scheduler = new SqsCheckScheduler({ queueUrl: queues.queueUrl, client: queues.client, clock: fixedClock });
    const check = { outTradeNo: '000123', attempt: 3, dueAt: later(-1_000), extra: 'not sent' };
    await scheduler.schedule(check);

    const [message] = await receive(2);
    expect(JSON.parse(message?.Body ?? '')).toEqual({ outTradeNo: '000123', attempt: 3, dueAt: later(-1_000) });
    // What the reconcile handler reads back.
    expect(parseReconcileCheck(message?.Body ?? '')).toEqual<ReconcileCheck>({
      outTradeNo: '000123',
      attempt: 3,
      dueAt: later(-1_000),
    });
  });

  it('holds a check back until it is due', async () => {
    const scheduler = new SqsCheckScheduler({ queueUrl: queues.queueUrl, client: queues.client });
    const scheduledAt = Date.now();
    await scheduler.schedule({
      outTradeNo: 'due-in-2s',
      attempt: 0,
      dueAt: new Date(scheduledAt + 2_000).toISOString(),
    });

    expect(await receive(1)).toEqual([]);
    let received: Message[] = [];
    while (received.length === 0 && Date.now() - scheduledAt < 8_000) received = await receive(1);
    expect(received.map((message) => JSON.parse(message.Body ?? '').outTradeNo)).toEqual(['due-in-2s']);
    expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(1_900);
  });

  it('accepts a check due beyond 15 minutes and holds it back', async () => {
    const own = await testQueues();
    const scheduler = new SqsCheckScheduler({ queueUrl: own.queueUrl, client: own.client });
    await scheduler.schedule({
      outTradeNo: 'due-in-2h',
      attempt: 1,
      dueAt: new Date(Date.now() + 7_200_000).toISOString(),
    });
    const { Messages = [] } = await own.client.send(
      new ReceiveMessageCommand({ QueueUrl: own.queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(Messages).toEqual([]);
  });
});
