import { CfnOutput, Duration, Fn, Stack } from 'aws-cdk-lib';
import type { StackProps } from 'aws-cdk-lib';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Construct } from 'constructs';
import { Alarms } from './alarms';
import { AppBackendApi } from './app-backend-api';
import { BillReconciler } from './bill-reconciler';
import { EventRelay } from './event-relay';
import { MerchantSecret } from './merchant-secret';
import { NotifyEndpoint } from './notify-endpoint';
import { OrdersTable } from './orders-table';
import { PaymentFunction } from './payment-function';
import { ReconcileQueue } from './reconcile-queue';
import { Reconciler } from './reconciler';
import { readStackSettings } from './stack-settings';
import { WebhookDelivery } from './webhook-delivery';

/**
 * The whole backend, laid out like the diagram in the README:
 *
 *   app backend --IAM--> AppBackendApi --> orders ------------------> WeChat Pay, WeChat API (login codes)
 *   WeChat Pay --POST /notify/pay, /notify/refund--> NotifyEndpoint --> notify
 *   ReconcileQueue --> reconcile (query / close, refund query)  <-- sweep (every 5 min) re-enqueues lost checks
 *   app backend --IAM--> AppBackendApi /reconciliations, and a daily schedule --> BillReconciler (bills:
 *     WeChat's trade bill against the settled-index, repairs through the notification path) --> WeChat Pay
 *   all of them --> OrdersTable --stream--> EventRelay (events: event log, bus) --> WebhookDelivery --> merchant
 *   Alarms watch the DLQs, the Lambdas, the stream's lag and the custom metrics (and any bill discrepancy)
 *
 * Environment-agnostic: no account or region lookups, so `cdk synth` needs no AWS credentials.
 */
export class WechatPayStack extends Stack {
  public readonly ordersTable: OrdersTable;
  public readonly reconcileQueue: ReconcileQueue;
  public readonly merchantSecret: MerchantSecret;
  public readonly ordersFunction: PaymentFunction;
  public readonly notifyFunction: PaymentFunction;
  public readonly reconcileFunction: PaymentFunction;
  public readonly sweepFunction: PaymentFunction;
  public readonly api: AppBackendApi;
  public readonly notifyEndpoint: NotifyEndpoint;
  public readonly reconciler: Reconciler;
  public readonly billReconciler: BillReconciler;
  public readonly eventRelay: EventRelay;
  /** Present when `merchantWebhookUrl` is set. */
  public readonly webhookDelivery: WebhookDelivery | undefined;
  public readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    const settings = readStackSettings((key) => this.node.tryGetContext(key));

    this.merchantSecret = new MerchantSecret(this, 'MerchantSecret', { secretNameOrArn: settings.merchantSecret });
    this.ordersTable = new OrdersTable(this, 'OrdersTable');
    // The orders API must answer within API Gateway's 30 s. WeChat calls are bounded by the invocation
    // (shared/app/invocation-deadline.ts): they stop 3 s before its end, so a check that needs more
    // calls than fit is re-scheduled rather than timed out.
    const wechatCallerTimeout = Duration.seconds(25);
    const reconcileTimeout = wechatCallerTimeout;
    this.reconcileQueue = new ReconcileQueue(this, 'ReconcileQueue', { consumerTimeout: reconcileTimeout });

    // The variables the handlers' config loader reads; no credential is among them.
    const common = {
      TABLE_NAME: this.ordersTable.table.tableName,
      WECHATPAY_SECRET_ID: this.merchantSecret.secretId,
      WECHATPAY_BASE_URL: settings.wechatpayBaseUrl,
      RECONCILE_SCHEDULE: settings.reconcileSchedule,
      ...settings.handlerTuning,
    };
    const withQueue = { ...common, QUEUE_URL: this.reconcileQueue.queue.queueUrl };

    this.notifyFunction = new PaymentFunction(this, 'NotifyFunction', { service: 'notify', environment: common });
    this.notifyEndpoint = new NotifyEndpoint(this, 'NotifyEndpoint', { notifyFunction: this.notifyFunction });
    this.ordersFunction = new PaymentFunction(this, 'OrdersFunction', {
      service: 'orders',
      // Only the orders API exchanges mini program login codes, so only it is told WeChat's own API host.
      environment: {
        ...withQueue,
        NOTIFY_URL: this.notifyEndpoint.notifyUrl,
        WECHAT_API_BASE_URL: settings.wechatApiBaseUrl,
      },
      timeout: wechatCallerTimeout,
    });
    this.reconcileFunction = new PaymentFunction(this, 'ReconcileFunction', {
      service: 'reconcile',
      // A refund WeChat never received is sent again from here, with the refund notify URL derived from it.
      environment: { ...withQueue, NOTIFY_URL: this.notifyEndpoint.notifyUrl },
      timeout: reconcileTimeout,
    });
    // Pages through the due-index and enqueues; allowed longer than a request handler.
    this.sweepFunction = new PaymentFunction(this, 'SweepFunction', {
      service: 'sweep',
      environment: withQueue,
      timeout: Duration.seconds(30),
      memorySize: 256,
    });

    // Least privilege: each handler gets exactly the calls its code makes (checked by a test).
    // Refunds live in their order's partition and move with its counters in one TransactWriteItems,
    // which needs the item action of each entry: a new refund is a Put beside an Update of the order
    // (orders only), a refund's transition two Updates (orders on ?sync=1, notify, reconcile).
    const table = this.ordersTable;
    // Mini program login sessions are items of the same table (a Get, a conditional Put): nothing more.
    table.grantItems(this.ordersFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    // GET /orders/{out_trade_no}/refunds: one Query of the order's partition.
    table.grantQueryPartitions(this.ordersFunction);
    // GET /events: the event log, day by day, from its index alone.
    table.grantQueryEventsIndex(this.ordersFunction);
    table.grantItems(this.notifyFunction, 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem');
    table.grantItems(this.reconcileFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    // The sweep finds overdue orders and refunds on the index and re-reads each one before re-enqueueing it.
    table.grantQueryDueIndex(this.sweepFunction);
    table.grantItems(this.sweepFunction, 'dynamodb:GetItem', 'dynamodb:UpdateItem');
    this.reconcileQueue.grantSendChecks(this.ordersFunction);
    this.reconcileQueue.grantSendChecks(this.reconcileFunction);
    this.reconcileQueue.grantSendChecks(this.sweepFunction);
    // The sweep never talks to WeChat, so it cannot read the credentials.
    this.merchantSecret.grantRead(this.ordersFunction);
    this.merchantSecret.grantRead(this.notifyFunction);
    this.merchantSecret.grantRead(this.reconcileFunction);

    // Downloads WeChat's bill and asks WeChat about what it lists, so it reads the credentials; it
    // schedules no checks, so it has no queue.
    this.billReconciler = new BillReconciler(this, 'BillReconciler', {
      environment: common,
      table,
      merchantSecret: this.merchantSecret,
    });

    this.api = new AppBackendApi(this, 'AppBackendApi', {
      ordersFunction: this.ordersFunction,
      billsFunction: this.billReconciler.function,
    });
    // Also grants the reconcile Lambda the consume actions on the queue.
    this.reconciler = new Reconciler(this, 'Reconciler', {
      reconcileFunction: this.reconcileFunction,
      sweepFunction: this.sweepFunction,
      queue: this.reconcileQueue.queue,
    });
    this.eventRelay = new EventRelay(this, 'EventRelay', { table });
    this.webhookDelivery =
      settings.merchantWebhookUrl === undefined
        ? undefined
        : new WebhookDelivery(this, 'WebhookDelivery', {
            url: settings.merchantWebhookUrl,
            retrySchedule: settings.webhookRetrySchedule,
            enabled: settings.webhooksEnabled,
            eventsFunction: this.eventRelay.eventsFunction,
            tableName: table.table.tableName,
          });

    this.alarms = new Alarms(this, 'Alarms', {
      functions: [
        this.ordersFunction,
        this.notifyFunction,
        this.reconcileFunction,
        this.sweepFunction,
        this.eventRelay.eventsFunction,
        this.billReconciler.function,
        ...(this.webhookDelivery !== undefined ? [this.webhookDelivery.webhooksFunction] : []),
      ],
      deadLetterQueue: this.reconcileQueue.deadLetterQueue,
      eventRelay: this.eventRelay,
      ...(this.webhookDelivery !== undefined ? { webhookDeadLetterQueue: this.webhookDelivery.deadLetterQueue } : {}),
      ...(settings.alarmEmail !== undefined ? { email: settings.alarmEmail } : {}),
    });
    this.billReconciler.discrepancyAlarm.addAlarmAction(new SnsAction(this.alarms.topic));

    new CfnOutput(this, 'ApiUrl', { value: this.api.url, description: 'App-backend API (SigV4 / IAM auth)' });
    new CfnOutput(this, 'NotifyUrl', {
      value: this.notifyEndpoint.notifyUrl,
      description: 'notify_url WeChat Pay posts to',
    });
    new CfnOutput(this, 'TableName', { value: this.ordersTable.table.tableName });
    new CfnOutput(this, 'QueueName', { value: this.reconcileQueue.queue.queueName });
    new CfnOutput(this, 'DlqName', { value: this.reconcileQueue.deadLetterQueue.queueName });
    new CfnOutput(this, 'AlarmTopicArn', { value: this.alarms.topic.topicArn });
    new CfnOutput(this, 'EventBusName', {
      value: this.eventRelay.eventBus.eventBusName,
      description: 'EventBridge bus the payment and refund events are put on (source wechatpay)',
    });
    new CfnOutput(this, 'EventsFailureQueueName', { value: this.eventRelay.failureQueue.queueName });
    if (this.webhookDelivery !== undefined) {
      const webhooks = this.webhookDelivery;
      new CfnOutput(this, 'WebhookQueueName', { value: webhooks.queue.queueName });
      new CfnOutput(this, 'WebhookDlqName', { value: webhooks.deadLetterQueue.queueName });
      // What SQS's redrive takes: aws sqs start-message-move-task --source-arn <WebhookDlqArn>.
      new CfnOutput(this, 'WebhookDlqArn', { value: webhooks.deadLetterQueue.queueArn });
      new CfnOutput(this, 'WebhookSecretArn', { value: webhooks.secret.secretArn });
      // The one step after the first deployment: until it is done (and delivery turned on) no webhook goes out.
      new CfnOutput(this, 'WebhookSecretCommand', {
        description: settings.webhooksEnabled
          ? 'To rotate the signing secret: WEBHOOK_SECRET=whsec_$(openssl rand -base64 32), then this command; ' +
            'the receiver verifies webhook-signature with the same value'
          : 'Webhook delivery is OFF: events wait in the webhook queue (kept 14 days). Once: ' +
            'WEBHOOK_SECRET=whsec_$(openssl rand -base64 32), then this command (the receiver verifies ' +
            'webhook-signature with the same value), then deploy again with -c webhooksEnabled=true',
        value: Fn.join('', [
          'aws secretsmanager put-secret-value --secret-id ',
          webhooks.secret.secretArn,
          ' --secret-string "$WEBHOOK_SECRET"',
        ]),
      });
    }
  }
}
