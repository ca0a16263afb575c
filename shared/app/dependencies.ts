import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';

import { DynamoDbOrderStore } from '../adapters/dynamodb-order-store';
import { SqsCheckScheduler } from '../adapters/sqs-check-scheduler';
import { ConfigurationError, type Settings } from '../config/settings';
import { PaymentService } from '../domain/payment-service';
import type { CheckScheduler, Clock, OrderStore } from '../domain/ports';
import { Reconciler } from '../domain/reconciler';
import { Sweeper } from '../domain/sweeper';
import { memo } from './memo';
import { merchantCredentialsLoader } from './merchant-secret';
import { createObservability, type Observability } from './observability';
import { createWechatPay, type WechatPay } from './wechatpay-adapters';

export const systemClock: Clock = { now: () => new Date() };

/** Everything a handler needs, built once per container; the WeChat side waits for the secret. */
export interface Dependencies {
  settings: Settings;
  clock: Clock;
  observability: Observability;
  store: OrderStore;
  scheduler: CheckScheduler;
  wechatPay(): Promise<WechatPay>;
  payments(): Promise<PaymentService>;
  reconciler(): Promise<Reconciler>;
  sweeper: Sweeper;
}

export interface DependencyOverrides {
  clock?: Clock;
  store?: OrderStore;
  scheduler?: CheckScheduler;
}

export function createDependencies(settings: Settings, overrides: DependencyOverrides = {}): Dependencies {
  const clock = overrides.clock ?? systemClock;
  const observability = createObservability(settings);
  const store =
    overrides.store ??
    new DynamoDbOrderStore({
      tableName: settings.TABLE_NAME,
      client: DynamoDBDocumentClient.from(
        new DynamoDBClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_DYNAMODB }),
        { marshallOptions: { removeUndefinedValues: true } },
      ),
    });
  const scheduler = overrides.scheduler ?? lazyScheduler(settings, clock);
  const credentials = merchantCredentialsLoader(settings);
  const wechatPay = memo(async () => createWechatPay(await credentials(), settings, clock));
  const payments = memo(async () => {
    const wp = await wechatPay();
    return new PaymentService({
      store,
      scheduler,
      provider: wp.provider,
      clock,
      merchant: wp.merchant,
      notifyUrl: settings.NOTIFY_URL,
      observer: observability.observer,
      policy: {
        prepayTtlSeconds: settings.PREPAY_TTL_SECONDS,
        closeMinAgeSeconds: settings.CLOSE_MIN_AGE_SECONDS,
        reconcileSchedule: settings.RECONCILE_SCHEDULE,
      },
    });
  });
  const reconciler = memo(async () => {
    const wp = await wechatPay();
    return new Reconciler({
      store,
      scheduler,
      provider: wp.provider,
      clock,
      payments: await payments(),
      reconcileSchedule: settings.RECONCILE_SCHEDULE,
    });
  });
  const sweeper = new Sweeper({
    store,
    scheduler,
    clock,
    reconcileSchedule: settings.RECONCILE_SCHEDULE,
    graceSeconds: settings.SWEEP_GRACE_SECONDS,
  });
  return { settings, clock, observability, store, scheduler, sweeper, wechatPay, payments, reconciler };
}

/** The notify Lambda has no queue; it must not fail at start-up for want of one. */
function lazyScheduler(settings: Settings, clock: Clock): CheckScheduler {
  let scheduler: CheckScheduler | undefined;
  return {
    schedule(check) {
      if (settings.QUEUE_URL === undefined) throw new ConfigurationError('QUEUE_URL is required to schedule checks');
      scheduler ??= new SqsCheckScheduler({
        queueUrl: settings.QUEUE_URL,
        clock,
        client: new SQSClient({ region: settings.AWS_REGION, endpoint: settings.AWS_ENDPOINT_URL_SQS }),
      });
      return scheduler.schedule(check);
    },
  };
}
