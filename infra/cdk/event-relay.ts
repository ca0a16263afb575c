import { Duration, Stack, Validations } from 'aws-cdk-lib';
import { EventBus } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { EventSourceMapping, FilterCriteria, StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { STREAM_FILTER_PATTERNS } from '#shared/adapters/stream-filter';
import { EVENT_PARTITION_PREFIX } from '#shared/adapters/table-schema';
import { EVENT_RELAY_BATCH_SIZE, EVENTS_FUNCTION_TIMEOUT_SECONDS } from '#shared/config/event-relay';
import type { OrdersTable } from './orders-table';
import { PaymentFunction } from './payment-function';

export interface EventRelayProps {
  readonly table: OrdersTable;
  /** Named `<stack name>-events`, so other stacks and accounts can find it. */
  readonly eventBusName?: string;
}

/**
 * Events to the app backend, derived from the orders table's stream: the events Lambda reads each
 * change of an order or a refund, records the event it calls for once in the table (the log GET /events
 * reads), then puts it on the webhook queue (when webhooks are configured, see webhook-delivery.ts) and
 * on this stack's event bus.
 *
 *   OrdersTable stream --(in order per item)--> events Lambda --> event log (table), webhook queue, bus
 *                                     a batch that never succeeds --> failureQueue (alarmed)
 */
export class EventRelay extends Construct {
  public readonly eventsFunction: PaymentFunction;
  public readonly eventSource: EventSourceMapping;
  public readonly eventBus: EventBus;
  /**
   * Where Lambda reports a batch of stream records it gave up on (a description of the batch, not the
   * records: they expired from the stream). Nothing reads it but an operator; it is alarmed.
   */
  public readonly failureQueue: Queue;

  constructor(scope: Construct, id: string, props: EventRelayProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.eventBus = new EventBus(this, 'Bus', {
      eventBusName: props.eventBusName ?? `${stack.stackName}-events`,
      description: 'WeChat Pay backend: payment and refund events (source wechatpay, detail-type = event type)',
    });
    this.failureQueue = new Queue(this, 'FailureQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'it is a dead-letter destination itself: the on-failure destination of the stream event source ' +
        'mapping, read by an operator (and alarmed), never consumed by a function',
    });

    this.eventsFunction = new PaymentFunction(this, 'Function', {
      service: 'events',
      environment: {
        TABLE_NAME: props.table.table.tableName,
        EVENT_BUS_NAME: this.eventBus.eventBusName,
      },
      timeout: Duration.seconds(EVENTS_FUNCTION_TIMEOUT_SECONDS),
      memorySize: 256,
    });

    this.eventSource = new EventSourceMapping(this, 'StreamSource', {
      target: this.eventsFunction,
      eventSourceArn: props.table.streamArn,
      // From the oldest record the stream still holds, so changes made before the first deployment of
      // the relay (up to 24 hours) get their events too.
      startingPosition: StartingPosition.TRIM_HORIZON,
      batchSize: EVENT_RELAY_BATCH_SIZE,
      // Order: one batch at a time per shard, never split. Bisecting would re-run the first half of a
      // batch after its second half had been tried, and a parallelization factor above 1 spreads the
      // changes of one item over concurrent invocations.
      bisectBatchOnError: false,
      parallelizationFactor: 1,
      // The handler reports the first record that failed; Lambda retries from it, so the records before
      // it are not handed over again and the ones after it wait their turn.
      reportBatchItemFailures: true,
      // Unlimited (the default, -1, written out): a failing record is retried until it leaves the
      // stream after 24 hours, holding back the records behind it in its shard. Then Lambda gives up on
      // the batch and describes it to the failure queue. The IteratorAge alarm fires long before.
      retryAttempts: -1,
      onFailure: new SqsDlq(this.failureQueue),
      // Only writes that leave an order or a refund in a status the backend is told of: the rest of
      // the stream (notifications, claims, the event items written here, TTL deletions, the writes
      // of unpaid orders) would be invocations that find nothing to do.
      filters: STREAM_FILTER_PATTERNS.map((pattern) => FilterCriteria.filter({ ...pattern })),
    });
    props.table.grantStreamRead(this.eventsFunction);
    // The event log: one conditional put per event (attribute_not_exists), and only of event items:
    // a fault in this function can never overwrite an order or a refund.
    this.eventsFunction.addToRolePolicy(
      new PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.table.table.tableArn],
        conditions: {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${EVENT_PARTITION_PREFIX}*`] },
        },
      }),
    );
    this.eventBus.grantPutEventsTo(this.eventsFunction);
  }
}
