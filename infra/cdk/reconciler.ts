import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RECONCILE_BATCH_SIZE } from '#shared/config/reconcile-queue';

export interface ReconcilerProps {
  /** Consumes the check queue. */
  readonly reconcileFunction: IFunction;
  /** Re-enqueues overdue checks whose messages were lost. */
  readonly sweepFunction: IFunction;
  readonly queue: IQueue;
  readonly sweepEvery?: Duration;
}

export const DEFAULT_SWEEP_INTERVAL = Duration.minutes(5);

/**
 * The part that notices payments whose notification never came: the reconcile Lambda takes checks
 * from the queue (a failed check is retried alone, not its whole batch), and a scheduled sweep puts
 * back checks that went missing.
 */
export class Reconciler extends Construct {
  public readonly eventSource: SqsEventSource;
  public readonly sweepRule: Rule;

  constructor(scope: Construct, id: string, props: ReconcilerProps) {
    super(scope, id);
    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: RECONCILE_BATCH_SIZE,
      reportBatchItemFailures: true,
    });
    props.reconcileFunction.addEventSource(this.eventSource);
    this.sweepRule = new Rule(this, 'SweepSchedule', {
      description: 'Re-enqueues reconcile checks that are overdue',
      schedule: Schedule.rate(props.sweepEvery ?? DEFAULT_SWEEP_INTERVAL),
      targets: [new LambdaFunction(props.sweepFunction, { retryAttempts: 0 })],
    });
  }
}
