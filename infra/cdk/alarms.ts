import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, MathExpression, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CUSTOM_METRIC_ALARMS, METRICS_NAMESPACE } from '#shared/config/metric-names';
import type { PaymentFunction, ServiceName } from './payment-function';

export interface AlarmsProps {
  readonly functions: readonly PaymentFunction[];
  readonly deadLetterQueue: IQueue;
  /** The events Lambda on the table's stream and where Lambda reports the batches it gave up on. */
  readonly eventRelay: { readonly eventsFunction: IFunction; readonly failureQueue: IQueue };
  /** The webhook queue's dead-letter queue, when webhooks are deployed. */
  readonly webhookDeadLetterQueue?: IQueue;
  /** Subscribed to the alarm topic by e-mail when given. */
  readonly email?: string;
}

const PERIOD = Duration.minutes(5);

/**
 * How far behind the stream the events Lambda may fall before someone is told: a record failing again
 * and again holds back every change behind it in its shard, and records leave the stream after 24 hours.
 */
export const EVENTS_ITERATOR_AGE_ALARM = Duration.minutes(10);

/**
 * Every alarm notifies the topic. Nearly all fire on the first occurrence (>= 1 in five minutes): in
 * a payment system a dead-lettered check, a crashing handler, a refused WeChat report or a payment on
 * a closed order each means money whose state nobody is watching. Unverified notifications, which
 * anyone can send, alarm on a rate instead (its threshold is in metric-names.ts).
 */
export class Alarms extends Construct {
  public readonly topic: Topic;
  public readonly deadLetterAlarm: Alarm;
  public readonly eventsIteratorAgeAlarm: Alarm;
  public readonly eventsFailureAlarm: Alarm;
  public readonly webhookDeadLetterAlarm: Alarm | undefined;
  public readonly errorAlarms: Readonly<Partial<Record<ServiceName, Alarm>>>;
  /** By metric name: one per entry of CUSTOM_METRIC_ALARMS (shared/config/metric-names.ts). */
  public readonly customMetricAlarms: Readonly<Record<string, Alarm>>;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);
    this.topic = new Topic(this, 'Topic', { displayName: 'WeChat Pay backend alarms', enforceSSL: true });
    if (props.email !== undefined) this.topic.addSubscription(new EmailSubscription(props.email));
    const action = new SnsAction(this.topic);
    const reaching = (alarmId: string, metric: IMetric, threshold: number, description: string): Alarm => {
      const alarm = new Alarm(this, alarmId, {
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      alarm.addAlarmAction(action);
      return alarm;
    };
    const atLeastOnce = (alarmId: string, metric: IMetric, description: string): Alarm =>
      reaching(alarmId, metric, 1, description);

    this.deadLetterAlarm = atLeastOnce(
      'DeadLetterQueueNotEmpty',
      props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'Reconcile checks failed repeatedly and are in the dead-letter queue: those orders are not being checked',
    );

    this.eventsIteratorAgeAlarm = reaching(
      'EventsIteratorAge',
      props.eventRelay.eventsFunction.metric('IteratorAge', { period: PERIOD, statistic: 'Maximum' }),
      EVENTS_ITERATOR_AGE_ALARM.toMilliseconds(),
      'The events Lambda is behind the table stream: a change keeps failing and holds back the events ' +
        'after it (records leave the stream after 24 hours)',
    );
    this.eventsFailureAlarm = atLeastOnce(
      'EventsFailureQueueNotEmpty',
      props.eventRelay.failureQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
      'Lambda gave up on a batch of table stream records: their events were never recorded (the message ' +
        'names the shard and sequence numbers)',
    );
    this.webhookDeadLetterAlarm =
      props.webhookDeadLetterQueue === undefined
        ? undefined
        : atLeastOnce(
            'WebhookDeadLetterQueueNotEmpty',
            props.webhookDeadLetterQueue.metricApproximateNumberOfMessagesVisible({
              period: PERIOD,
              statistic: 'Maximum',
            }),
            'An event could not be delivered to the merchant webhook after every retry: it is in the webhook ' +
              'dead-letter queue (redrive it once the receiver is fixed)',
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

    // One alarm per entry of CUSTOM_METRIC_ALARMS. Each alarm's id is its metric's name, which keeps
    // the alarms' logical ids stable as entries are added.
    const services = props.functions.map((fn) => fn.service);
    const customMetricAlarms: Record<string, Alarm> = {};
    for (const { metricName, threshold, description } of CUSTOM_METRIC_ALARMS) {
      customMetricAlarms[metricName] = reaching(
        metricName,
        sumOverServices(metricName, services),
        threshold,
        description,
      );
    }
    this.customMetricAlarms = customMetricAlarms;
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
