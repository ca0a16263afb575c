import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Message } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  delaySecondsUntil,
  encodeReconcileCheck,
  encodeRefundCheck,
  SqsCheckScheduler,
} from '#shared/adapters/sqs-check-scheduler';
import { parseReconcileCheck } from '#shared/app/reconcile-message';
import { ValidationError } from '#shared/domain/errors';
import type { Clock, ReconcileCheck } from '#shared/domain/ports';
import type { RefundCheck } from '#shared/domain/refund-ports';
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

  it('carries the check’s watch bound, so a check sent round or re-sent keeps the chain it belongs to', async () => {
    const scheduler = new SqsCheckScheduler({ queueUrl: queues.queueUrl, client: queues.client, clock: fixedClock });
    const check: ReconcileCheck = { outTradeNo: '000125', attempt: 1, dueAt: later(-1_000), bound: later(3_600_000) };
    await scheduler.schedule(check);

    const [message] = await receive(2);
    expect(parseReconcileCheck(message?.Body ?? '')).toEqual<ReconcileCheck>(check);
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

  it('sends a refund check as its own kind of message, beside payment checks on the same queue', async () => {
    const own = await testQueues();
    const scheduler = new SqsCheckScheduler({ queueUrl: own.queueUrl, client: own.client, clock: fixedClock });
    const check = {
      outTradeNo: '000123',
      outRefundNo: 'R-000123-1',
      attempt: 2,
      dueAt: later(-1_000),
      extra: 'not sent',
    };
    await scheduler.scheduleRefund(check);
    await scheduler.schedule({ outTradeNo: '000124', attempt: 0, dueAt: later(-1_000) });

    const { Messages = [] } = await own.client.send(
      new ReceiveMessageCommand({ QueueUrl: own.queueUrl, WaitTimeSeconds: 2, MaxNumberOfMessages: 10 }),
    );
    const bodies = Messages.map((message) => JSON.parse(message.Body ?? '') as Record<string, unknown>);
    expect(bodies).toHaveLength(2);
    expect(bodies).toContainEqual({
      kind: 'refund',
      outTradeNo: '000123',
      outRefundNo: 'R-000123-1',
      attempt: 2,
      dueAt: later(-1_000),
    });
    // A payment check stays as it always was: no kind.
    expect(bodies).toContainEqual({ outTradeNo: '000124', attempt: 0, dueAt: later(-1_000) });
  });

  it('holds a refund check back until it is due, like a payment check', async () => {
    const own = await testQueues();
    const scheduler = new SqsCheckScheduler({ queueUrl: own.queueUrl, client: own.client });
    const scheduledAt = Date.now();
    await scheduler.scheduleRefund({
      outTradeNo: '000123',
      outRefundNo: 'refund-due-in-2s',
      attempt: 0,
      dueAt: new Date(scheduledAt + 2_000).toISOString(),
    });
    const receiveOwn = async (): Promise<Message[]> =>
      (
        await own.client.send(
          new ReceiveMessageCommand({ QueueUrl: own.queueUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }),
        )
      ).Messages ?? [];

    expect(await receiveOwn()).toEqual([]);
    let received: Message[] = [];
    while (received.length === 0 && Date.now() - scheduledAt < 8_000) received = await receiveOwn();
    expect(received.map((message) => JSON.parse(message.Body ?? '').outRefundNo)).toEqual(['refund-due-in-2s']);
    expect(Date.now() - scheduledAt).toBeGreaterThanOrEqual(1_900);
  });

  it('refuses a refund check whose dueAt is not an instant, sending nothing', async () => {
    const own = await testQueues();
    const scheduler = new SqsCheckScheduler({ queueUrl: own.queueUrl, client: own.client, clock: fixedClock });
    await expect(
      scheduler.scheduleRefund({ outTradeNo: '000123', outRefundNo: 'R1', attempt: 0, dueAt: 'soon' }),
    ).rejects.toThrow(ValidationError);
    const { Messages = [] } = await own.client.send(
      new ReceiveMessageCommand({ QueueUrl: own.queueUrl, WaitTimeSeconds: 0 }),
    );
    expect(Messages).toEqual([]);
  });
});

describe('message bodies', () => {
  it('a refund check is marked refund; a payment check carries no kind (older messages read the same)', () => {
    const refund: RefundCheck = { outTradeNo: 'T1', outRefundNo: 'R1', attempt: 0, dueAt: later(0) };
    expect(JSON.parse(encodeRefundCheck(refund))).toEqual({ kind: 'refund', ...refund });
    expect(JSON.parse(encodeReconcileCheck({ outTradeNo: 'T1', attempt: 0, dueAt: later(0) }))).not.toHaveProperty(
      'kind',
    );
  });
});
