import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import {
  METRIC_CHECKS_EXHAUSTED,
  METRIC_PAID_AT_EXPIRY,
  METRIC_REJECTED_NOTIFICATIONS,
  METRICS_NAMESPACE,
} from '#shared/config/metric-names';
import type { PaymentFunction, ServiceName } from './payment-function';

export interface AlarmsProps {
  readonly functions: readonly PaymentFunction[];
  readonly deadLetterQueue: IQueue;
  /** Subscribed to the alarm topic by e-mail when given. */
  readonly email?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * Every alarm fires on the first occurrence (>= 1 in five minutes) and notifies the topic: in a
 * payment system a dead-lettered check, a crashing handler or a refused notification each means
 * money whose state nobody is watching.
 */
export class Alarms extends Construct {
  public readonly topic: Topic;
  public readonly deadLetterAlarm: Alarm;
  public readonly errorAlarms: Readonly<Partial<Record<ServiceName, Alarm>>>;
  public readonly rejectedNotificationsAlarm: Alarm;
  public readonly paidAtExpiryRaceAlarm: Alarm;
  public readonly checksExhaustedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', { displayName: 'WeChat Pay backend alarms', enforceSSL: true });
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
    const action = new SnsAction(this.topic);
    const atLeastOnce = (alarmId: string, metric: IMetric, description: string): Alarm => {
      const alarm = new Alarm(this, alarmId, {
        metric,
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      return alarm;
    };

    this.deadLetterAlarm = atLeastOnce(
      'DeadLetterQueueNotEmpty',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'Reconcile checks failed repeatedly and are in the dead-letter queue: those orders are not being checked',
    );

    const errorAlarms: Partial<Record<ServiceName, Alarm>> = {};
    for (const fn of props.functions) {
      errorAlarms[fn.service] = atLeastOnce(
        `${capitalize(fn.service)}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        `The ${fn.service} Lambda failed`,
      );
    }
    this.errorAlarms = errorAlarms;

    // Each custom-metric alarm's id is its metric's name, which keeps the alarms' logical ids stable.
    const services = props.functions.map((fn) => fn.service);
    this.rejectedNotificationsAlarm = atLeastOnce(
      METRIC_REJECTED_NOTIFICATIONS,
      sumOverServices(METRIC_REJECTED_NOTIFICATIONS, services),
      'A payment notification or query answer was refused ' +
        '(bad signature, foreign merchant, amount mismatch, unknown order)',
    );
    this.paidAtExpiryRaceAlarm = atLeastOnce(
      METRIC_PAID_AT_EXPIRY,
      sumOverServices(METRIC_PAID_AT_EXPIRY, services),
      'An order was paid while it was being closed on expiry; check that the payment was kept',
    );
    this.checksExhaustedAlarm = atLeastOnce(
      METRIC_CHECKS_EXHAUSTED,
      sumOverServices(METRIC_CHECKS_EXHAUSTED, services),
      'The checks of an open order kept failing and the sweep gave up on it: find it by checksExhaustedAt ' +
        '(README, "The due index and the sweep")',
    );
  }
}

/**
 * Powertools tags each metric with the dimension `service` (POWERTOOLS_SERVICE_NAME), and an alarm
 * matches one exact dimension set, so a metric any handler may emit is alarmed as the sum of its
 * per-service series. FILL(…, 0) keeps the sum defined when only some handlers emitted.
 */
function sumOverServices(metricName: string, services: readonly ServiceName[]): MathExpression {
  const usingMetrics: Record<string, IMetric> = {};
  for (const service of services) {
    usingMetrics[service] = new Metric({
      // The namespace every handler is given as POWERTOOLS_METRICS_NAMESPACE (payment-function.ts).
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service },
      statistic: 'Sum',
      period: PERIOD,
    });
  }
  return new MathExpression({
    expression: services.map((service) => `FILL(${service}, 0)`).join(' + '),
    usingMetrics,
    period: PERIOD,
    label: metricName,
  });
}

function capitalize(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
