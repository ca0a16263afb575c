import { Duration, Validations } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  WEBHOOK_BATCH_SIZE,
  WEBHOOK_QUEUE_RETENTION_DAYS,
  WEBHOOK_QUEUE_VISIBILITY_SECONDS,
  WEBHOOKS_FUNCTION_TIMEOUT_SECONDS,
  webhookMaxReceiveCount,
} from '#shared/config/webhook-queue';
import { PaymentFunction } from './payment-function';

export interface WebhookDeliveryProps {
  /** The merchant's receiver (https: the stack settings refuse anything else). */
  readonly url: string;
  /** Seconds between attempts, already checked (stack-settings.ts). */
  readonly retrySchedule: readonly number[];
  /**
   * Whether the webhooks Lambda receives from the queue. False until the merchant has put the
   * `whsec_…` secret: before, every attempt would fail on the placeholder and count as a receive,
   * dead-lettering every event within minutes. Disabled, the events wait in the queue instead.
   */
  readonly enabled: boolean;
  /** The events Lambda (event-relay.ts): it puts every recorded event on the queue. */
  readonly eventsFunction: LambdaFunction;
  /** The handlers' settings loader requires it of every function; this one never touches the table. */
  readonly tableName: string;
}

const RETENTION = Duration.days(WEBHOOK_QUEUE_RETENTION_DAYS);

/**
 * Signed webhooks to the merchant's backend (Standard Webhooks), deployed only when a receiver URL is
 * configured:
 *
 *   events Lambda --SendMessage (group = out_trade_no, dedup id = event id)--> FIFO queue
 *     --> webhooks Lambda --POST, signed with the secret--> merchant
 *   failed attempt n: the message is hidden for schedule[n-1] s; after the last, the FIFO DLQ (alarmed)
 *
 * FIFO keeps an order's events in the order they were recorded, and an event stuck on retries holds
 * back only the later events of its own order. The queue's deduplication by event id (5 minutes)
 * drops the copies the relay sends again after a retried stream batch; the receiver deduplicates the
 * rest by webhook-id.
 */
export class WebhookDelivery extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;
  public readonly webhooksFunction: PaymentFunction;
  public readonly eventSource: SqsEventSource;
  /** The signing secret: the merchant puts `whsec_…` in it (see the stack's WebhookSecretCommand output). */
  public readonly secret: Secret;
  public readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: WebhookDeliveryProps) {
    super(scope, id);
    this.maxReceiveCount = webhookMaxReceiveCount(props.retrySchedule);

    this.secret = new Secret(this, 'Secret', {
      description:
        'Standard Webhooks signing secret of the WeChat Pay backend: put whsec_<base64 of 24 or more random ' +
        'bytes> here, and the same value in the receiver',
      // A random placeholder without the whsec_ prefix: the webhooks Lambda refuses to sign with a key
      // nobody holds. Its event source stays disabled until the merchant has put the real secret.
      generateSecretString: { passwordLength: 32, excludePunctuation: true, includeSpace: false },
    });
    Validations.of(this.secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'the signing secret is shared with the merchant receiver, which has to switch at the same time: it ' +
        'is rotated by hand (put-secret-value, README), a rotation Lambda could not update the receiver',
    });

    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: true,
      retentionPeriod: RETENTION,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      // The relay sets each message's deduplication id to its event id: a resent event is dropped by
      // what it is, not by comparing bodies.
      contentBasedDeduplication: false,
      // Six times the consumer's timeout (see WEBHOOK_QUEUE_VISIBILITY_SECONDS).
      visibilityTimeout: Duration.seconds(WEBHOOK_QUEUE_VISIBILITY_SECONDS),
      retentionPeriod: RETENTION,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.webhooksFunction = new PaymentFunction(this, 'Function', {
      service: 'webhooks',
      environment: {
        TABLE_NAME: props.tableName,
        MERCHANT_WEBHOOK_URL: props.url,
        MERCHANT_WEBHOOK_SECRET_ID: this.secret.secretArn,
        // Always written out, so the Lambda's schedule is the one the redrive count was computed from.
        WEBHOOK_RETRY_SCHEDULE: props.retrySchedule.join(','),
        // The handler changes the visibility of the messages it failed on this queue.
        WEBHOOK_QUEUE_URL: this.queue.queueUrl,
      },
      timeout: Duration.seconds(WEBHOOKS_FUNCTION_TIMEOUT_SECONDS),
      memorySize: 256,
    });
    // GetSecretValue and DescribeSecret, for this function only: the events Lambda never signs.
    this.secret.grantRead(this.webhooksFunction);
    // Receive, delete, ChangeMessageVisibility (the retry waits) and the attributes the mapping reads.
    this.eventSource = new SqsEventSource(this.queue, {
      batchSize: WEBHOOK_BATCH_SIZE,
      reportBatchItemFailures: true,
      // Off until the secret is in place (see `enabled`): the queue keeps the events 14 days meanwhile.
      enabled: props.enabled,
    });
    this.webhooksFunction.addEventSource(this.eventSource);

    props.eventsFunction.addEnvironment('WEBHOOK_QUEUE_URL', this.queue.queueUrl);
    // sqs:SendMessage only: the sender knows the queue URL.
    props.eventsFunction.addToRolePolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
  }
}
