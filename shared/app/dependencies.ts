import { randomUUID } from 'node:crypto';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MetricUnit } from '@aws-lambda-powertools/metrics';

import { DynamoDbEventLog } from '../adapters/dynamodb-event-log';
import { DynamoDbLoginSessionStore } from '../adapters/dynamodb-login-session-store';
import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { DynamoDbRefundStore } from '../adapters/dynamodb-refund-store';
import { EventBridgeEventBus } from '../adapters/eventbridge-event-bus';
import { SqsCheckScheduler } from '../adapters/sqs-check-scheduler';
import { SessionKeySeal } from '../adapters/session-key-seal';
import { retryMessageAfter } from '../adapters/sqs-message-visibility';
import { SqsWebhookQueue } from '../adapters/sqs-webhook-queue';
import { APPSECRET_SOURCE, isAppSecretRefusal, WechatMiniProgramLogin } from '../adapters/wechat-miniprogram-login';
import { WechatUserDataOpener } from '../adapters/wechat-user-data-opener';
import type { MerchantCredentials } from '../config/merchant-credentials';
import { METRIC_EVENTS_RECORDED } from '../config/metric-names';
import type { Settings } from '../config/settings';
import type { BillSource, ReconciliationStore, SettledRecords } from '../domain/bill-reconciliation';
import { ClosePayment } from '../domain/close-payment';
import { CreatePayment } from '../domain/create-payment';
import { CreateRefund } from '../domain/create-refund';
import { DecryptUserData } from '../domain/decrypt-user-data';
import { ConfigurationError } from '../domain/errors';
import { EventRecorder } from '../domain/event-recorder';
import type { AggregateChange, EventLog, EventOutlet } from '../domain/events';
import { GetPayment } from '../domain/get-payment';
import { GetRefund } from '../domain/get-refund';
import { ListEvents } from '../domain/list-events';
import { ListRefunds } from '../domain/list-refunds';
import type { LoginSessionStore } from '../domain/miniprogram-session';
import { OrderCloser } from '../domain/order-closer';
import { systemClock, type CheckScheduler, type Clock, type OrderStore } from '../domain/ports';
import { ReconcileBill } from '../domain/reconcile-bill';
import { Reconciler } from '../domain/reconciler';
import { ReceiveNotification } from '../domain/receive-notification';
import { ReceiveRefundNotification } from '../domain/receive-refund-notification';
import { Sweeper } from '../domain/sweeper';
import type { RefundCheckScheduler, RefundStore } from '../domain/refund-ports';
import { RefundReconciler } from '../domain/refund-reconciler';
import { RefundReports } from '../domain/refund-reports';
import { StartMiniProgramSession } from '../domain/start-miniprogram-session';
import { TradeReports } from '../domain/trade-reports';
import { eventJson } from './event-view';
import { wechatCallDeadline } from './invocation-deadline';
import { memo } from './memo';
import { merchantCredentialsSource, type SecretReader } from './merchant-secret';
import { createObservability, type Observability } from './observability';
import { orderView, orderViewOptionsOf } from './order-view';
import { refundView } from './refund-view';
import { createRotatingWechatPay } from './rotating-wechatpay';
import { NOTIFY_REFUND_ROUTE, NOTIFY_ROUTE, refundNotifyUrlOf } from './routes';
import type { WechatPay } from './wechatpay-adapters';
import { type RetryMessageAfter, WebhookDelivery, webhookDeliveryObserver } from './webhook-delivery';
import { webhookKeySource } from './webhook-secret';

/**
 * What every handler shares, built once per container. Each handler takes from it only what it uses
 * (see the builders below), so the notify Lambda needs no queue and the sweep no WeChat credentials.
 */
export interface Dependencies {
  settings: Settings;
  clock: Clock;
  observability: Observability;
  store: OrderStore;
  /** Refunds, in the same table as their orders (one transaction moves a refund and its order's counters). */
  refundStore: RefundStore;
  /** The merchant's WeChat Pay side; waits for the secret on first use. */
  wechatPay(): Promise<WechatPay>;
  /**
   * The merchant's credentials as they are now (the secret re-read every CREDENTIALS_TTL_SECONDS); waits
   * for the secret on first use. The mini program login takes its appid and AppSecret from them.
   */
  merchantCredentials(): Promise<MerchantCredentials>;
  /**
   * The merchant's credentials read again now (at most once per the source's minimum interval; the
   * credentials held otherwise): when WeChat refuses what we hold, it may have been replaced.
   */
  reloadMerchantCredentials(): Promise<MerchantCredentials>;
  /** The mini program users' login sessions, in the orders table, sealed under this AppSecret. */
  loginSessions(miniProgram: { appid: string; appSecret: string }): LoginSessionStore;
  /**
   * The check queue, payment and refund checks alike; a missing QUEUE_URL is a ConfigurationError when
   * a handler that needs it is built.
   */
  scheduler(): Scheduler;
  /** The events log, in the orders table: written by the events function, read by `GET /events`. */
  eventLog: EventLog;
  /**
   * Where the events function hands each event on: the webhook queue when WEBHOOK_QUEUE_URL is set,
   * the EventBridge bus when EVENT_BUS_NAME is; none without either (`GET /events` still has them).
   */
  eventOutlets(): readonly EventOutlet[];
  /** Sets when a webhook message is handed over again (the webhook queue, SQS by default). */
  retryWebhookAfter(): RetryMessageAfter;
  /**
   * The webhook signing key, read once (webhook-secret.ts). Throws a ConfigurationError when neither
   * MERCHANT_WEBHOOK_SECRET nor MERCHANT_WEBHOOK_SECRET_ID is set: only the webhooks function asks.
   */
  webhookKey(): () => Promise<Buffer>;
  /**
   * The bill reconciliation's ports, in the orders table: the settled index (the PAID orders and
   * SUCCESS refunds of a day) and the reports. Loaded on first use: only the bills function asks.
   */
  settledRecords(): Promise<SettledRecords>;
  reconciliationStore(): Promise<ReconciliationStore>;
  /** WeChat's trade bill of a day, downloaded through wechatPay() (so under the current credentials). */
  billSource(): Promise<BillSource>;
}

/** Payment and refund checks go on the one reconcile queue. */
export type Scheduler = CheckScheduler & RefundCheckScheduler;

export interface DependencyOverrides {
  clock?: Clock;
  store?: OrderStore;
  /** Must see the orders of `store` (the in-memory pair in tests shares them). */
  refundStore?: RefundStore;
  scheduler?: Scheduler;
  /**
   * The orders table's client, instead of one for AWS_REGION and AWS_ENDPOINT_URL_DYNAMODB (the local
   * stack's carries the local server's dummy credentials).
   */
  documentClient?: DynamoDBDocumentClient;
  /** The queues' client, instead of one for AWS_REGION and AWS_ENDPOINT_URL_SQS (likewise). */
  sqs?: SQSClient;
  /** Where the merchant secret and the webhook secret are read (Secrets Manager by default). */
  readSecret?: SecretReader;
  eventLog?: EventLog;
  /** Instead of the sessions in the orders table (whatever the credentials). */
  loginSessions?: LoginSessionStore;
  /** Instead of those WEBHOOK_QUEUE_URL and EVENT_BUS_NAME call for. */
  eventOutlets?: readonly EventOutlet[];
  /** Instead of changing the webhook message's visibility on WEBHOOK_QUEUE_URL. */
  retryWebhookAfter?: RetryMessageAfter;
  /** Instead of the orders table's settled index. */
  settledRecords?: SettledRecords;
  /** Instead of the reports in the orders table. */
  reconciliationStore?: ReconciliationStore;
  /** Instead of the bills WeChat Pay serves the merchant. */
  billSource?: BillSource;
}

export function createDependencies(settings: Settings, overrides: DependencyOverrides = {}): Dependencies {
  const clock = overrides.clock ?? systemClock;
  const observability = createObservability(settings);
  let client = overrides.documentClient;
  // One client for both stores: they write the same table, often in one transaction.
  const tableClient = () =>
    (client ??= DynamoDBDocumentClient.from(
      new DynamoDBClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB }),
      { marshallOptions: { removeUndefinedValues: true } },
    ));
  const store =
    overrides.store ??
    new DynamoDbOrderStore({
      tableName: settings.TABLE_NAME,
      notifyAuditShards: settings.NOTIFY_AUDIT_SHARDS,
      dueIndexShards: settings.DUE_INDEX_SHARDS,
      client: tableClient(),
    });
  const refundStore =
    overrides.refundStore ??
    new DynamoDbRefundStore({
      tableName: settings.TABLE_NAME,
      dueIndexShards: settings.DUE_INDEX_SHARDS,
      client: tableClient(),
    });
  let scheduler = overrides.scheduler;
  let sqs = overrides.sqs;
  // One client for the check queue and the webhook queue (connections are reused across both).
  const sqsClient = () =>
    (sqs ??= new SQSClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_SQS }));
  let outlets = overrides.eventOutlets;
  let webhookKey: (() => Promise<Buffer>) | undefined;
  const credentials = merchantCredentialsSource(settings, {
    clock,
    onStale: (detail) =>
      observability.logger.warn('merchant secret not read; serving the credentials held', { ...detail }),
    ...(overrides.readSecret === undefined ? {} : { readSecret: overrides.readSecret }),
  });
  const wechatPay = memo(() =>
    createRotatingWechatPay(credentials, settings, clock, {
      onUnusableCredentials: (error) =>
        observability.logger.error('replaced or reloaded WeChat Pay keys unusable', {
          error: error instanceof Error ? error.message : String(error),
        }),
    }),
  );
  // The bill side's modules are loaded by the bills function alone; the others never evaluate them.
  const settledRecords = memo(async (): Promise<SettledRecords> => {
    if (overrides.settledRecords !== undefined) return overrides.settledRecords;
    const { DynamoDbSettledRecords } = await import('../adapters/dynamodb-settled-records');
    return new DynamoDbSettledRecords({ tableName: settings.TABLE_NAME, client: tableClient() });
  });
  const reconciliationStore = memo(async (): Promise<ReconciliationStore> => {
    if (overrides.reconciliationStore !== undefined) return overrides.reconciliationStore;
    const { DynamoDbReconciliationStore } = await import('../adapters/dynamodb-reconciliation-store');
    return new DynamoDbReconciliationStore({ tableName: settings.TABLE_NAME, client: tableClient() });
  });
  const billSource = memo(async (): Promise<BillSource> => {
    if (overrides.billSource !== undefined) return overrides.billSource;
    const [pay, { WechatPayBillSource }] = await Promise.all([
      wechatPay(),
      import('../adapters/wechatpay-bill-source'),
    ]);
    // The API version does not change in a rotation; the credentials may, and each download uses the current.
    return new WechatPayBillSource({
      apiVersion: pay.provider.apiVersion,
      download: (billDate) => pay.downloadBill(billDate),
    });
  });
  return {
    settings,
    clock,
    observability,
    store,
    refundStore,
    wechatPay,
    merchantCredentials: () => credentials.current(),
    reloadMerchantCredentials: () => credentials.reload(),
    loginSessions({ appid, appSecret }) {
      return (
        overrides.loginSessions ??
        new DynamoDbLoginSessionStore({
          client: tableClient(),
          tableName: settings.TABLE_NAME,
          appid,
          seal: new SessionKeySeal(appSecret),
        })
      );
    },
    scheduler() {
      scheduler ??= new SqsCheckScheduler({
        queueUrl: required(settings.QUEUE_URL, 'QUEUE_URL'),
        clock,
        client: sqsClient(),
      });
      return scheduler;
    },
    eventLog:
      overrides.eventLog ?? new DynamoDbEventLog({ tableName: settings.TABLE_NAME, client: tableClient(), clock }),
    eventOutlets() {
      outlets ??= [
        ...(settings.WEBHOOK_QUEUE_URL === undefined
          ? []
          : [new SqsWebhookQueue({ sqs: sqsClient(), queueUrl: settings.WEBHOOK_QUEUE_URL, render: eventJson })]),
        ...(settings.EVENT_BUS_NAME === undefined
          ? []
          : [
              new EventBridgeEventBus({
                client: new EventBridgeClient({
                  region: settings.AWS_REGION,
                  endpoint: settings.AWS_ENDPOINT_URL_EVENTBRIDGE,
                }),
                busName: settings.EVENT_BUS_NAME,
                render: eventJson,
              }),
            ]),
      ];
      return outlets;
    },
    retryWebhookAfter() {
      if (overrides.retryWebhookAfter !== undefined) return overrides.retryWebhookAfter;
      const queueUrl = required(settings.WEBHOOK_QUEUE_URL, 'WEBHOOK_QUEUE_URL');
      return (receiptHandle, seconds) => retryMessageAfter(sqsClient(), queueUrl, receiptHandle, seconds);
    },
    webhookKey() {
      webhookKey ??= webhookKeySource(settings, overrides.readSecret);
      return webhookKey;
    },
    settledRecords,
    reconciliationStore,
    billSource,
  };
}

/**
 * The events function's use case: each change from the table's stream recorded once in the log and
 * handed to every outlet. The data of an event is the API's view of the order or refund after it.
 */
export function buildEventRecorder(deps: Dependencies): EventRecorder {
  const { metrics } = deps.observability;
  const log: Pick<EventLog, 'record'> = {
    // Counted when first recorded, not when a retried stream record derives it again.
    async record(event) {
      const result = await deps.eventLog.record(event);
      if (result === 'recorded') metrics.addMetric(METRIC_EVENTS_RECORDED, MetricUnit.Count, 1);
      return result;
    },
  };
  const viewOptions = orderViewOptionsOf(deps.settings);
  const describe = (change: AggregateChange): Record<string, unknown> =>
    change.kind === 'payment' ? orderView(change.after, viewOptions) : refundView(change.after);
  return new EventRecorder({ log, outlets: deps.eventOutlets(), describe });
}

/** `GET /events`: the log as the orders function reads it. */
export function buildListEvents(deps: Dependencies): ListEvents {
  return new ListEvents(deps.eventLog);
}

/**
 * The webhooks function's delivery. Needs MERCHANT_WEBHOOK_URL, WEBHOOK_QUEUE_URL and a webhook
 * secret (MERCHANT_WEBHOOK_SECRET, or MERCHANT_WEBHOOK_SECRET_ID to read), checked when the handler is
 * built; the secret itself is read when the first batch arrives.
 */
export function buildWebhookDelivery(deps: Dependencies): () => Promise<WebhookDelivery> {
  const { settings } = deps;
  const url = required(settings.MERCHANT_WEBHOOK_URL, 'MERCHANT_WEBHOOK_URL');
  const retryAfter = deps.retryWebhookAfter();
  const key = deps.webhookKey();
  const observer = webhookDeliveryObserver(deps.observability);
  const schedule = settings.WEBHOOK_RETRY_SCHEDULE;
  // Each attempt waits the webhooks library's DEFAULT_WEBHOOK_TIMEOUT_MS (5 s), the one source of it.
  return memo(async () => new WebhookDelivery({ url, key: await key(), schedule, retryAfter, observer }));
}

/** The orders API's use cases. Needs QUEUE_URL and NOTIFY_URL, checked when the handler is built. */
export interface PaymentUseCases {
  createPayment: CreatePayment;
  getPayment: GetPayment;
  closePayment: ClosePayment;
}

export function buildPaymentUseCases(deps: Dependencies): () => Promise<PaymentUseCases> {
  const { settings, store, clock } = deps;
  const scheduler = deps.scheduler();
  const notifyUrl = required(settings.NOTIFY_URL, 'NOTIFY_URL');
  return memo(async () => {
    const { provider, reports, closer } = await wechatPaySide(deps);
    return {
      createPayment: new CreatePayment({
        store,
        scheduler,
        provider,
        clock,
        reports,
        observer: deps.observability.observer,
        notifyUrl,
        prepayTtlSeconds: settings.PREPAY_TTL_SECONDS,
        reconcileSchedule: settings.RECONCILE_SCHEDULE,
      }),
      getPayment: new GetPayment({ store, provider, reports }),
      closePayment: new ClosePayment({ store, closer }),
    };
  });
}

/**
 * The refund API's use cases (the domain's CreateRefund, GetRefund, ListRefunds). Needs QUEUE_URL and
 * NOTIFY_URL, checked when the handler is built.
 */
export interface RefundUseCases {
  createRefund: Pick<CreateRefund, 'execute'>;
  getRefund: GetRefund;
  listRefunds: ListRefunds;
}

export function buildRefundUseCases(deps: Dependencies): () => Promise<RefundUseCases> {
  const { settings, store: orders, refundStore: refunds, clock } = deps;
  const scheduler = deps.scheduler();
  const refundNotifyUrl = refundNotifyUrlFrom(settings);
  return memo(async () => {
    const { wechatPay, provider, reports } = await refundSide(deps);
    const createRefund = new CreateRefund({
      orders,
      refunds,
      provider,
      scheduler,
      clock,
      reports,
      observer: deps.observability.observer,
      refundNotifyUrl,
      refundCheckSchedule: settings.REFUND_CHECK_SCHEDULE,
    });
    return {
      createRefund: {
        // Refused before anything is stored: a refund that could never be sent would hold the money.
        execute: (request) => {
          if (wechatPay.refundsUnavailable !== undefined) throw new ConfigurationError(wechatPay.refundsUnavailable);
          return createRefund.execute(request);
        },
      },
      getRefund: new GetRefund({ refunds, provider, reports }),
      listRefunds: new ListRefunds({ orders, refunds }),
    };
  });
}

/** The mini program routes' use cases: the login, and the user data opened with its session key. */
export interface MiniProgramUseCases {
  startSession: Pick<StartMiniProgramSession, 'execute'>;
  decryptUserData: DecryptUserData;
}

/**
 * The mini program routes' use cases over the merchant's current credentials (the appid, and the
 * AppSecret: for the login, and as what the session keys are sealed under), rebuilt when the secret
 * changes. Credentials without an AppSecret are the deployment's fault, said when a route is used,
 * since the orders function serves payments without one.
 *
 * A login WeChat refuses for the AppSecret (40125) reloads the credentials once (rate-limited by the
 * source, as the pay side's verification failures): an AppSecret replaced in the secret is then used
 * at its first refusal, not a TTL later. WeChat checks the secret before the code, so the code is
 * still unspent and is exchanged again, once, under the new credentials. The same AppSecret after
 * the reload is the ConfigurationError it was.
 */
export function buildMiniProgramUseCases(deps: Dependencies): () => Promise<MiniProgramUseCases> {
  // One set of use cases per set of credentials: the source hands out the same object while they stay.
  const built = new WeakMap<MerchantCredentials, MiniProgramUseCases>();
  const useCasesFor = (credentials: MerchantCredentials): MiniProgramUseCases => {
    let useCases = built.get(credentials);
    if (useCases === undefined) {
      useCases = miniProgramSide(deps, credentials);
      built.set(credentials, useCases);
    }
    return useCases;
  };
  return async () => {
    const credentials = await deps.merchantCredentials();
    const current = useCasesFor(credentials);
    return {
      startSession: {
        async execute(code) {
          try {
            return await current.startSession.execute(code);
          } catch (error) {
            if (!isAppSecretRefusal(error)) throw error;
            const reloaded = await deps.reloadMerchantCredentials();
            if (reloaded.appSecret === credentials.appSecret) throw error;
            return useCasesFor(reloaded).startSession.execute(code);
          }
        },
      },
      decryptUserData: current.decryptUserData,
    };
  };
}

function miniProgramSide(deps: Dependencies, credentials: MerchantCredentials): MiniProgramUseCases {
  const { appid, appSecret } = credentials;
  if (appSecret === undefined) {
    throw new ConfigurationError(`the mini program routes need the mini program's AppSecret: set ${APPSECRET_SOURCE}`);
  }
  const { settings, clock } = deps;
  const exchange = new WechatMiniProgramLogin({
    baseUrl: settings.WECHAT_API_BASE_URL,
    // The simulator's CA locally (it serves WeChat's API host too); the system's CAs against WeChat.
    ...(settings.WECHATPAY_TRUSTED_CA === undefined ? {} : { trustedCaPem: settings.WECHATPAY_TRUSTED_CA }),
    deadline: wechatCallDeadline,
    appid,
    appSecret,
  });
  const sessions = deps.loginSessions({ appid, appSecret });
  return {
    startSession: new StartMiniProgramSession({
      exchange,
      sessions,
      clock,
      sessionTtlSeconds: settings.MINIPROGRAM_SESSION_TTL_SECONDS,
    }),
    decryptUserData: new DecryptUserData({ sessions, opener: new WechatUserDataOpener(appid), clock }),
  };
}

/** The notify endpoint's use case: it writes the order and never schedules or calls WeChat. */
export function buildReceiveNotification(deps: Dependencies): () => Promise<ReceiveNotification> {
  return memo(async () => {
    const { reports } = await wechatPaySide(deps);
    return new ReceiveNotification({
      store: deps.store,
      clock: deps.clock,
      reports,
      observer: deps.observability.observer,
      newId: randomUUID,
    });
  });
}

/** The notify endpoint's refund use case: like payments', it writes and never schedules or calls WeChat. */
export function buildReceiveRefundNotification(deps: Dependencies): () => Promise<ReceiveRefundNotification> {
  return memo(async () => {
    const { reports } = await refundSide(deps);
    return new ReceiveRefundNotification({
      orders: deps.store,
      clock: deps.clock,
      reports,
      observer: deps.observability.observer,
      newId: randomUUID,
    });
  });
}

/**
 * The reconcile function's refund checks. Needs NOTIFY_URL (a refund WeChat never received is sent
 * again, with the refund notify_url) and QUEUE_URL, checked when the handler is built.
 */
export function buildRefundReconciler(deps: Dependencies): () => Promise<RefundReconciler> {
  const scheduler = deps.scheduler();
  const refundNotifyUrl = refundNotifyUrlFrom(deps.settings);
  return memo(async () => {
    const { provider, reports } = await refundSide(deps);
    return new RefundReconciler({
      refunds: deps.refundStore,
      provider,
      scheduler,
      clock: deps.clock,
      reports,
      refundNotifyUrl,
      refundCheckSchedule: deps.settings.REFUND_CHECK_SCHEDULE,
    });
  });
}

export function buildReconciler(deps: Dependencies): () => Promise<Reconciler> {
  const scheduler = deps.scheduler();
  return memo(async () => {
    const { provider, reports, closer } = await wechatPaySide(deps);
    const { store, clock, settings } = deps;
    return new Reconciler({
      store,
      scheduler,
      provider,
      clock,
      reports,
      closer,
      observer: deps.observability.observer,
      reconcileSchedule: settings.RECONCILE_SCHEDULE,
      maxRequeues: settings.SWEEP_MAX_REQUEUES,
    });
  });
}

/**
 * The bills function's use case: a day's bill against the records here. Needs the table and the
 * merchant's credentials only (no queue, no notify URL): its repairs are applied, never scheduled. A
 * payment to repair is confirmed by WeChat's query and applied through TradeReports (a notification's
 * path); a refund by GetRefund's sync (the refund query's path).
 */
export function buildReconcileBill(deps: Dependencies): () => Promise<ReconcileBill> {
  return memo(async () => {
    const [payments, refundsAtWechat, bills, settled, store] = await Promise.all([
      wechatPaySide(deps),
      refundSide(deps),
      deps.billSource(),
      deps.settledRecords(),
      deps.reconciliationStore(),
    ]);
    const getRefund = new GetRefund({
      refunds: deps.refundStore,
      provider: refundsAtWechat.provider,
      reports: refundsAtWechat.reports,
    });
    return new ReconcileBill({
      bills,
      settled,
      orders: deps.store,
      refunds: deps.refundStore,
      provider: payments.provider,
      tradeReports: payments.reports,
      syncRefund: (outTradeNo, outRefundNo) =>
        getRefund.execute(outTradeNo, outRefundNo, { sync: true, source: 'bill' }),
      store,
      clock: deps.clock,
    });
  });
}

export function buildSweeper(deps: Dependencies): Sweeper {
  return new Sweeper({
    store: deps.store,
    scheduler: deps.scheduler(),
    clock: deps.clock,
    observer: deps.observability.observer,
    reconcileSchedule: deps.settings.RECONCILE_SCHEDULE,
    graceSeconds: deps.settings.SWEEP_GRACE_SECONDS,
    maxRequeues: deps.settings.SWEEP_MAX_REQUEUES,
    refunds: {
      store: deps.refundStore,
      scheduler: deps.scheduler(),
      checkSchedule: deps.settings.REFUND_CHECK_SCHEDULE,
    },
  });
}

/** The pieces that stand on the merchant's WeChat Pay credentials. */
async function wechatPaySide(deps: Dependencies) {
  const wechatPay = await deps.wechatPay();
  const { store, clock, settings } = deps;
  const observer = deps.observability.observer;
  const reports = new TradeReports({ store, clock, merchant: wechatPay.merchant, observer });
  const closer = new OrderCloser({
    store,
    provider: wechatPay.provider,
    clock,
    reports,
    observer,
    closeMinAgeSeconds: settings.CLOSE_MIN_AGE_SECONDS,
  });
  return { provider: wechatPay.provider, reports, closer };
}

/** The refund side over the merchant's WeChat Pay credentials. */
async function refundSide(deps: Dependencies) {
  const wechatPay = await deps.wechatPay();
  const reports = new RefundReports({
    refunds: deps.refundStore,
    clock: deps.clock,
    merchant: wechatPay.merchant,
    observer: deps.observability.observer,
  });
  return { wechatPay, provider: wechatPay.refunds, reports };
}

/**
 * Where WeChat sends refund results: NOTIFY_URL's /notify/pay replaced by /notify/refund, on the same
 * notify function (see refundNotifyUrlOf). A NOTIFY_URL that does not end in /notify/pay stops the
 * start of the functions that send refunds, since no refund notification could reach us.
 */
function refundNotifyUrlFrom(settings: Settings): string {
  const notifyUrl = required(settings.NOTIFY_URL, 'NOTIFY_URL');
  const refundNotifyUrl = refundNotifyUrlOf(notifyUrl);
  if (refundNotifyUrl === undefined) {
    throw new ConfigurationError(
      `NOTIFY_URL must end in ${NOTIFY_ROUTE.path}: ` +
        `refund notifications go to the same address with ${NOTIFY_REFUND_ROUTE.path}`,
    );
  }
  return refundNotifyUrl;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new ConfigurationError(`${name} is required by this function`);
  return value;
}
