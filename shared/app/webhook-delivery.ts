import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';

import { METRIC_WEBHOOK_DELIVERY_FAILURES } from '../config/metric-names';
import { AppError } from '../domain/errors';
import { eventViewSchema } from './event-view';
import type { Observability } from './observability';
import { deliverWebhook, type WebhookFailure } from '../webhooks/deliver';

/** Makes the message visible again after `seconds` (0: at once): the wait before its next attempt. */
export type RetryMessageAfter = (receiptHandle: string, seconds: number) => Promise<void>;

/** One failed attempt, as logged and counted: never the body, never the key. */
export interface FailedWebhookAttempt {
  eventId: string;
  /** 1 for the first delivery; the message's ApproximateReceiveCount. */
  attempt: number;
  failure: WebhookFailure | 'unreadable';
  status?: number;
  detail: string;
  ms: number;
  /** When the next attempt comes; undefined: none, the queue's redrive takes the event to the DLQ. */
  retryInSeconds?: number;
}

export interface WebhookDeliveryObserver {
  attemptFailed(attempt: FailedWebhookAttempt): void;
  /** The wait before the next attempt could not be set: the queue's own visibility timeout applies. */
  retryNotScheduled(detail: { eventId: string; attempt: number; error: string }): void;
}

/**
 * Each failed attempt logged (a warning while retries remain, an error when the event goes to the
 * dead-letter queue) and counted in WebhookDeliveryFailures.
 */
export function webhookDeliveryObserver({ logger, metrics }: Pick<Observability, 'logger' | 'metrics'>) {
  const observer: WebhookDeliveryObserver = {
    attemptFailed(attempt) {
      if (attempt.retryInSeconds === undefined) {
        logger.error('webhook not delivered; no retries left, the event goes to the dead-letter queue', {
          ...attempt,
        });
      } else {
        logger.warn('webhook not delivered; retried later', { ...attempt });
      }
      metrics.addMetric(METRIC_WEBHOOK_DELIVERY_FAILURES, MetricUnit.Count, 1);
    },
    retryNotScheduled(detail) {
      logger.warn('webhook retry not delayed; the queue redelivers it after its visibility timeout', {
        ...detail,
      });
    },
  };
  return observer;
}

export interface WebhookDeliveryDeps {
  /** MERCHANT_WEBHOOK_URL. */
  url: string;
  /** The HMAC key of the `whsec_` secret. */
  key: Buffer;
  /** WEBHOOK_RETRY_SCHEDULE: the wait after the 1st, 2nd, … failure; past its end, the DLQ. */
  schedule: readonly number[];
  retryAfter: RetryMessageAfter;
  observer: WebhookDeliveryObserver;
  timeoutMs?: number;
}

/** The record stays on the queue: a batch item failure, delivered again after the wait set for it. */
export class WebhookNotDelivered extends AppError {
  constructor(
    readonly eventId: string,
    readonly attempt: number,
    reason: string,
  ) {
    super('WEBHOOK_NOT_DELIVERED', `event ${eventId} not delivered (attempt ${attempt}): ${reason}`);
  }
}

/**
 * Delivers one message of the webhook queue to the merchant (Standard Webhooks), or fails it. The
 * retry schedule is kept by the message's own visibility: after the n-th failed attempt the message
 * comes back schedule[n-1] seconds later; after the last one it comes back at once, one receive over
 * the queue's maxReceiveCount (webhookMaxReceiveCount), so the redrive moves it to the dead-letter
 * queue instead of handing it over again.
 */
export class WebhookDelivery {
  constructor(private readonly deps: WebhookDeliveryDeps) {}

  async deliver(record: SQSRecord): Promise<void> {
    const attempt = attemptOf(record);
    // The message is the event's wire JSON, as the events function wrote it. Read only for the id: the
    // body goes out as it came, since the signature covers its bytes.
    const parsed = eventViewSchema.safeParse(parseJson(record.body));
    if (!parsed.success) {
      // Never deliverable, so not worth the schedule: visible again at once, it uses up its receives in
      // moments and reaches the dead-letter queue (alarmed), instead of holding its order's later
      // events back for a day.
      const eventId = `message ${record.messageId}`;
      return this.fail(record, { eventId, attempt, failure: 'unreadable', detail: 'not an event', ms: 0 }, undefined);
    }
    const eventId = parsed.data.id;
    const result = await deliverWebhook({
      url: this.deps.url,
      key: this.deps.key,
      id: eventId,
      body: record.body,
      timeoutMs: this.deps.timeoutMs,
    });
    if (result.delivered) return;
    const wait = attempt <= this.deps.schedule.length ? this.deps.schedule[attempt - 1] : undefined;
    await this.fail(
      record,
      {
        eventId,
        attempt,
        failure: result.failure,
        ...(result.status === undefined ? {} : { status: result.status }),
        detail: result.detail,
        ms: result.ms,
      },
      wait,
    );
  }

  private async fail(record: SQSRecord, failed: FailedWebhookAttempt, wait: number | undefined): Promise<never> {
    this.deps.observer.attemptFailed(wait === undefined ? failed : { ...failed, retryInSeconds: wait });
    try {
      await this.deps.retryAfter(record.receiptHandle, wait ?? 0);
    } catch (error) {
      this.deps.observer.retryNotScheduled({
        eventId: failed.eventId,
        attempt: failed.attempt,
        error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure',
      });
    }
    throw new WebhookNotDelivered(failed.eventId, failed.attempt, failed.detail);
  }
}

/** Which attempt this is: SQS counts the receives, this one included. */
function attemptOf(record: SQSRecord): number {
  const count = Number(record.attributes.ApproximateReceiveCount);
  return Number.isSafeInteger(count) && count >= 1 ? count : 1;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
