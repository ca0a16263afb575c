import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DomainEvent, EventOutlet } from '../domain/events';

export interface SqsWebhookQueueOptions {
  sqs: SQSClient;
  /** A FIFO queue (its name ends in .fifo). */
  queueUrl: string;
  /** The event's wire form: the exact body the webhook will carry and sign. */
  render: (event: DomainEvent) => string;
}

/**
 * Hands each event to the webhook delivery queue, a FIFO queue. The group is the order, so an order's
 * events (its payment, then its refunds) reach the backend in the order they happened, while one
 * order's failing deliveries hold back no other order's. The deduplication id is the event id, so the
 * same event handed on again (the stream's retries) within SQS's five-minute window is queued once;
 * later, the backend deduplicates by `webhook-id`.
 */
export class SqsWebhookQueue implements EventOutlet {
  private readonly sqs: SQSClient;
  private readonly queueUrl: string;
  private readonly render: (event: DomainEvent) => string;

  constructor(options: SqsWebhookQueueOptions) {
    this.sqs = options.sqs;
    this.queueUrl = options.queueUrl;
    this.render = options.render;
  }

  async publish(event: DomainEvent): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: this.render(event),
        MessageGroupId: event.subject.outTradeNo,
        MessageDeduplicationId: event.id,
      }),
    );
  }
}
