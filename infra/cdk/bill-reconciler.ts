import { Duration } from 'aws-cdk-lib';
import { Alarm, ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { Construct } from 'constructs';
import { BILL_DISCREPANCIES_ALARM, METRICS_NAMESPACE } from '#shared/config/metric-names';
import type { MerchantSecret } from './merchant-secret';
import type { OrdersTable } from './orders-table';
import { PaymentFunction } from './payment-function';

export interface BillReconcilerProps {
  /** The variables the handlers' config loader reads (table, merchant secret id, WeChat Pay settings). */
  readonly environment: Readonly<Record<string, string>>;
  readonly table: OrdersTable;
  readonly merchantSecret: MerchantSecret;
}

/**
 * Lambda's longest: a large merchant's day is a bill of hundreds of MB, downloaded, decompressed and
 * compared as a stream in one invocation (README "Bill reconciliation").
 */
export const BILLS_FUNCTION_TIMEOUT = Duration.minutes(15);
/** 1,769 MB is where Lambda gives a function one full vCPU: parsing and gunzip are CPU-bound. */
export const BILLS_FUNCTION_MEMORY_MB = 1769;
/**
 * 02:30, 03:30 and 04:30 UTC = 10:30, 11:30 and 12:30 Beijing (UTC+8 all year, no DST). WeChat
 * publishes the previous day's bill from about 10:00 Beijing; the two later runs find a day that was
 * not ready yet, and do nothing for a day whose report is stored already.
 */
export const BILL_SCHEDULE = { minute: '30', hour: '2-4' } as const;

const ALARM_PERIOD = Duration.minutes(5);

/**
 * Daily bill reconciliation: the bills function (also behind POST/GET /reconciliations, see
 * AppBackendApi), the schedule that runs it for the day before, and the alarm on any discrepancy.
 * The alarm has no action here: the stack points it at the alarm topic with the others.
 */
export class BillReconciler extends Construct {
  public readonly function: PaymentFunction;
  public readonly rule: Rule;
  public readonly discrepancyAlarm: Alarm;

  constructor(scope: Construct, id: string, props: BillReconcilerProps) {
    super(scope, id);
    this.function = new PaymentFunction(this, 'BillsFunction', {
      service: 'bills',
      environment: props.environment,
      timeout: BILLS_FUNCTION_TIMEOUT,
      memorySize: BILLS_FUNCTION_MEMORY_MB,
    });
    // A failed scheduled run is not retried by Lambda straight away (twice, each up to 15 minutes at
    // 1,769 MB): it raises the Lambda error alarm, and the rule's next hourly run is the retry.
    this.function.configureAsyncInvoke({ retryAttempts: 0 });

    // Least privilege: the calls its code makes. Reads orders and refunds and the stored report (Get);
    // stores the report (Put; a verified report naming no order of ours is kept apart, also a Put);
    // applies WeChat's word to an order or refund (Update, and a refund's transition is two Updates in
    // one transaction); reads a day's PAID orders and SUCCESS refunds from the settled-index alone.
    props.table.grantItems(this.function, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    props.table.grantQuerySettledIndex(this.function);
    // Downloads the bill and queries WeChat with the merchant's credentials.
    props.merchantSecret.grantRead(this.function);

    this.rule = new Rule(this, 'Schedule', {
      description: "Reconciles the previous Beijing day's WeChat Pay trade bill (10:30, 11:30, 12:30 Beijing)",
      schedule: Schedule.cron(BILL_SCHEDULE),
      // A delivery that fails (Lambda throttled) is tried again within the hour, before the next run.
      targets: [new LambdaFunction(this.function, { retryAttempts: 2, maxEventAge: Duration.hours(1) })],
    });

    const { metricName, threshold, description } = BILL_DISCREPANCIES_ALARM;
    this.discrepancyAlarm = new Alarm(this, 'Discrepancies', {
      // Powertools tags the metric with the emitting function's service; only the bills function emits it.
      metric: new Metric({
        namespace: METRICS_NAMESPACE,
        metricName,
        dimensionsMap: { service: this.function.service },
        statistic: 'Sum',
        period: ALARM_PERIOD,
      }),
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      // One data point per run, hours apart: the time in between is not a breach.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
  }
}
