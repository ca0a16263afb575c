import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ValidationError } from '../domain/errors';
import { systemClock, type CheckScheduler, type Clock, type ReconcileCheck } from '../domain/ports';
import type { RefundCheck, RefundCheckScheduler } from '../domain/refund-ports';

/** SQS delays a message by at most 15 minutes. */
export const MAX_DELAY_SECONDS = 900;

export interface SqsCheckSchedulerOptions {
  queueUrl: string;
  /** Defaults to a client for the Lambda's own region and credentials. */
  client?: SQSClient;
  clock?: Clock;
}

/**
 * Schedules reconcile checks (payments and refunds, on one queue) as delayed SQS messages.
 *
 * SQS cannot hold a message back longer than 15 minutes, so a check due later is delivered after
 * 15 minutes, early. The reconciler compares `dueAt` with its clock when the message arrives and
 * schedules the same check again for the time that is left; a wait of any length is a chain of
 * messages, none of which does any work before its time.
 */
export class SqsCheckScheduler implements CheckScheduler, RefundCheckScheduler {
  private readonly queueUrl: string;
  private readonly client: SQSClient;
  private readonly clock: Clock;

  constructor(options: SqsCheckSchedulerOptions) {
    this.queueUrl = options.queueUrl;
    this.client = options.client ?? new SQSClient({});
    this.clock = options.clock ?? systemClock;
  }

  async schedule(check: ReconcileCheck): Promise<void> {
    await this.send(encodeReconcileCheck(check), check.dueAt);
  }

  async scheduleRefund(check: RefundCheck): Promise<void> {
    await this.send(encodeRefundCheck(check), check.dueAt);
  }

  private async send(body: string, dueAt: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        DelaySeconds: delaySecondsUntil(dueAt, this.clock.now()),
      }),
    );
  }
}

/** Whole seconds from now until dueAt, rounded up so a check never arrives before it is due (unless clamped). */
export function delaySecondsUntil(dueAt: string, now: Date): number {
  const dueMs = Date.parse(dueAt);
  if (Number.isNaN(dueMs)) throw new ValidationError(`dueAt is not an ISO 8601 instant: ${dueAt}`, 'dueAt');
  const seconds = Math.ceil((dueMs - now.getTime()) / 1000);
  return Math.min(Math.max(seconds, 0), MAX_DELAY_SECONDS);
}

/**
 * The message body: exactly the check, as JSON (read back by shared/app/reconcile-message.ts), its
 * watch bound included when it has one.
 */
export function encodeReconcileCheck(check: ReconcileCheck): string {
  const { outTradeNo, attempt, dueAt, bound } = check;
  return JSON.stringify(bound === undefined ? { outTradeNo, attempt, dueAt } : { outTradeNo, attempt, dueAt, bound });
}

/**
 * A refund check's message body: the check, marked `kind: 'refund'`. Payment checks carry no kind,
 * so the messages already on a queue when refunds were introduced still read as payment checks.
 */
export function encodeRefundCheck(check: RefundCheck): string {
  const { outTradeNo, outRefundNo, attempt, dueAt } = check;
  return JSON.stringify({ kind: 'refund', outTradeNo, outRefundNo, attempt, dueAt });
}
