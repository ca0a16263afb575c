import { Duration } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';

export interface ReconcileQueueProps {
  /** Timeout of the Lambda that consumes the queue; the visibility timeout is six times it. */
  readonly consumerTimeout: Duration;
}

/**
 * Delayed "ask WeChat about this order" checks. A message the reconciler cannot handle after
 * RECONCILE_MAX_RECEIVE_COUNT tries is kept 14 days in the dead-letter queue for a human to look at.
 */
export class ReconcileQueue extends Construct {
  public readonly queue: Queue;
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: ReconcileQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new Queue(this, 'Queue', {
      // AWS's guidance for Lambda event sources: at least six times the function timeout, so a
      // message is not handed out again while a retried invocation still holds it.
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: RECONCILE_MAX_RECEIVE_COUNT },
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
  }

  /** sqs:SendMessage only (the sender knows the queue URL, so no GetQueueUrl/GetQueueAttributes). */
  grantSendChecks(grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }),
    );
  }
}
