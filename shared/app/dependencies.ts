import { randomUUID } from 'node:crypto';

import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { SqsCheckScheduler } from '../adapters/sqs-check-scheduler';
import type { Settings } from '../config/settings';
import { ClosePayment } from '../domain/close-payment';
import { CreatePayment } from '../domain/create-payment';
import { ConfigurationError } from '../domain/errors';
import { GetPayment } from '../domain/get-payment';
import { OrderCloser } from '../domain/order-closer';
import { systemClock, type CheckScheduler, type Clock, type OrderStore } from '../domain/ports';
import { Reconciler } from '../domain/reconciler';
import { ReceiveNotification } from '../domain/receive-notification';
import { Sweeper } from '../domain/sweeper';
import type { Refund, RefundRequest } from '../domain/refund';
import { TradeReports } from '../domain/trade-reports';
import { memo } from './memo';
import { merchantCredentialsSource, type SecretReader } from './merchant-secret';
import { createObservability, type Observability } from './observability';
import { createRotatingWechatPay } from './rotating-wechatpay';
import type { WechatPay } from './wechatpay-adapters';

/**
 * What every handler shares, built once per container. Each handler takes from it only what it uses
 * (see the builders below), so the notify Lambda needs no queue and the sweep no WeChat credentials.
 */
export interface Dependencies {
  settings: Settings;
  clock: Clock;
  observability: Observability;
  store: OrderStore;
  /** The merchant's WeChat Pay side; waits for the secret on first use. */
  wechatPay(): Promise<WechatPay>;
  /** The check queue; a missing QUEUE_URL is a ConfigurationError when a handler that needs it is built. */
  scheduler(): CheckScheduler;
}

export interface DependencyOverrides {
  clock?: Clock;
  store?: OrderStore;
  scheduler?: CheckScheduler;
  /** Where the merchant secret is read (Secrets Manager by default). */
  readSecret?: SecretReader;
}

export function createDependencies(settings: Settings, overrides: DependencyOverrides = {}): Dependencies {
  const clock = overrides.clock ?? systemClock;
  const observability = createObservability(settings);
  const store =
    overrides.store ??
    new DynamoDbOrderStore({
      tableName: settings.TABLE_NAME,
      notifyAuditShards: settings.NOTIFY_AUDIT_SHARDS,
      dueIndexShards: settings.DUE_INDEX_SHARDS,
      client: DynamoDBDocumentClient.from(
        new DynamoDBClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB }),
        { marshallOptions: { removeUndefinedValues: true } },
      ),
    });
  let scheduler = overrides.scheduler;
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
  return {
    settings,
    clock,
    observability,
    store,
    wechatPay,
    scheduler() {
      scheduler ??= new SqsCheckScheduler({
        queueUrl: required(settings.QUEUE_URL, 'QUEUE_URL'),
        clock,
        client: new SQSClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_SQS }),
      });
      return scheduler;
    },
  };
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
  createRefund: { execute(request: RefundRequest): Promise<{ refund: Refund; created: boolean }> };
  getRefund: { execute(outTradeNo: string, outRefundNo: string, options: { sync: boolean }): Promise<Refund> };
  listRefunds: { execute(outTradeNo: string): Promise<Refund[]> };
}

export function buildRefundUseCases(deps: Dependencies): () => Promise<RefundUseCases> {
  deps.scheduler();
  required(deps.settings.NOTIFY_URL, 'NOTIFY_URL');
  // Wired to the domain's refund use cases as they land (issue 12).
  return async () => {
    throw new ConfigurationError('refunds are not wired in this build');
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

export function buildSweeper(deps: Dependencies): Sweeper {
  return new Sweeper({
    store: deps.store,
    scheduler: deps.scheduler(),
    clock: deps.clock,
    observer: deps.observability.observer,
    reconcileSchedule: deps.settings.RECONCILE_SCHEDULE,
    graceSeconds: deps.settings.SWEEP_GRACE_SECONDS,
    maxRequeues: deps.settings.SWEEP_MAX_REQUEUES,
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

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw new ConfigurationError(`${name} is required by this function`);
  return value;
}
