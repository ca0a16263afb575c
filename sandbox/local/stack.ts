import { createPublicKey, randomUUID, X509Certificate } from 'node:crypto';
import { join } from 'node:path';

import type { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ScheduledEvent } from 'aws-lambda';

import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { DynamoDbRefundStore } from '#shared/adapters/dynamodb-refund-store';
import type { DependencyOverrides } from '#shared/app/dependencies';
import { createHandlers, type Handlers } from '#shared/app/handlers';
import { NOTIFY_ROUTE } from '#shared/app/routes';
import { matchesStreamFilter } from '#shared/adapters/stream-filter';
import { EVENTS_FUNCTION_TIMEOUT_SECONDS } from '#shared/config/event-relay';
import { RECONCILE_BATCH_SIZE, RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';
import {
  WEBHOOK_BATCH_SIZE,
  WEBHOOK_QUEUE_VISIBILITY_SECONDS,
  webhookMaxReceiveCount,
  WEBHOOKS_FUNCTION_TIMEOUT_SECONDS,
} from '#shared/config/webhook-queue';
import { loadSettings, type Settings } from '#shared/config/settings';
import type { OrderStore } from '#shared/domain/ports';
import { sandboxAppSecret } from '../simulator/sandbox-appsecret';
import { type Merchant, SANDBOX_MERCHANT, sandboxV3Merchant } from '../simulator/sandbox-merchant';
import { type RunningSimulator, startSimulator } from '../simulator/server';
import { BILLS_FUNCTION_LIMITS, type Gateway, startGateway } from './gateway';
import { describeFunctionError, invoke, LOCAL_ACCOUNT_ID, type LocalFunction } from './lambda-context';
import { checkSimulatorKeys, handlerEnvironment, LocalSettingsError } from './local-settings';
import { type DynamoDbStreamSource, startDynamoDbStreamSource } from './dynamodb-stream-source';
import {
  ensureQueues,
  ensureTable,
  localDynamoDbClient,
  localSqsClient,
  localStreamsClient,
  type QueueUrls,
} from './resources';
import { type SqsEventSource, startSqsEventSource } from './sqs-event-source';
import { STREAM_POSITIONS_FILE, streamPositionsFile } from './stream-positions-file';

export interface LocalStackOptions {
  /** A running DynamoDB-API server. */
  dynamodbEndpoint: string;
  /** A running SQS-API server. */
  sqsEndpoint: string;
  region?: string;
  tableName?: string;
  /** The reconcile queue; its dead-letter queue is `<queueName>-dlq`. */
  queueName?: string;
  /** The gateway's port; 0 (the default) picks a free one. */
  port?: number;
  simulatorPort?: number;
  /** Where the simulator keeps its state; absent: in memory. */
  simulatorDataDir?: string;
  /**
   * Where the stack keeps what must outlive it: how far the table's stream was read
   * (STREAM_POSITIONS_FILE), so a restart does not hand the last 24 hours of events (and webhooks) over
   * again. Absent: in memory, each start reads the stream from its trim horizon.
   */
  dataDir?: string;
  /** Where generated sandbox v3 merchant keys are kept; absent: for the life of the process. */
  sandboxKeysDir?: string;
  /** Which key the simulator's v3 answers name in Wechatpay-Serial (default its public key id). */
  simulatorSignWith?: 'certificate' | 'public_key';
  /** WeChat's own v3 signing key (PEM) for the simulator; absent: it generates one. */
  simulatorPlatformPrivateKey?: string;
  /** The simulator's certificate authority (PEM); absent: it makes one (kept in simulatorDataDir when given). */
  simulatorCa?: { caCertPem: string; caKeyPem: string };
  /** WeChat Pay's address; absent: a simulator is started and used. */
  wechatpayBaseUrl?: string;
  /**
   * WeChat's mini program API (sns/jscode2session); `env.WECHAT_API_BASE_URL` wins. Absent: the
   * simulator, which serves it beside WeChat Pay's paths; with wechatpayBaseUrl set (no simulator),
   * the handlers' default, api.weixin.qq.com.
   */
  wechatApiBaseUrl?: string;
  /**
   * The mini program as the simulator knows it: its AppSecret (the handlers get the same one unless
   * `env.WECHAT_APPSECRET` says otherwise) and its per-user login quota. Without an AppSecret anywhere
   * and the simulator as the login API, both share the sandbox one (kept in sandboxKeysDir).
   */
  miniProgram?: { appSecret?: string; loginRateLimitPerMinute?: number };
  /** The simulator's time scale (WeChat's durations divided by it). */
  timeScale?: number;
  merchant?: Merchant;
  /** More handler settings (WECHATPAY_API_VERSION, RECONCILE_SCHEDULE, …); they win over the stack's. */
  env?: Record<string, string>;
  /** How often the sweep runs (an EventBridge schedule in AWS); 0 turns the timer off. */
  sweepIntervalMs?: number;
  /** Receives before a reconcile message goes to the DLQ; by default the same as in AWS. */
  maxReceiveCount?: number;
  visibilityTimeoutSeconds?: number;
  /** How long the reconcile poller long-polls; short so a stop is quick. */
  pollWaitSeconds?: number;
  /**
   * Where events are POSTed (MERCHANT_WEBHOOK_URL); absent: no webhook queue, events only in the log
   * (GET /events). `env.MERCHANT_WEBHOOK_URL` wins over it, as env wins over every stack setting.
   */
  webhookUrl?: string;
  /** The `whsec_…` secret (MERCHANT_WEBHOOK_SECRET); `env` wins. */
  webhookSecret?: string;
  /** WEBHOOK_RETRY_SCHEDULE (e.g. '1,1' in tests); `env` wins. */
  webhookRetrySchedule?: string;
  /** How often the table's stream is polled when it had nothing new; by default as Lambda (STREAM_SOURCE_DEFAULTS). */
  streamPollIntervalMs?: number;
  /** Leave the table alone, and read no stream (a test of what happens when it is missing). */
  skipTableCreation?: boolean;
  /**
   * LOCAL_IAM: the gateway checks SigV4 on the app-backend and bill routes against this key pair, as
   * API Gateway's IAM authorization would; absent: not checked.
   */
  localIam?: { accessKeyId: string; secretAccessKey: string };
  /** The handlers to serve; the real ones by default. */
  createHandlers?: (settings: Settings, overrides: DependencyOverrides) => Handlers;
  log?: (line: string) => void;
}

/** The simulator's certificate authority and the merchant's API client certificate it issued (PEM). */
export type SimulatorTls = RunningSimulator['tls'];

export interface LocalStack {
  gatewayUrl: string;
  notifyUrl: string;
  /** The simulator's plain HTTP address (its control API); undefined when the stack talks to a WeChat Pay elsewhere. */
  simulatorUrl: string | undefined;
  /** The same port over HTTPS, as the handlers call it (WeChat Pay's paths and the mini program login). */
  simulatorHttpsUrl: string | undefined;
  /** The AppSecret the simulator holds for the mini program; undefined without a simulator. */
  simulatorAppSecret: string | undefined;
  /** What the handlers were given to trust the simulator and to present on /secapi/ (unless the developer's own). */
  simulatorTls: SimulatorTls | undefined;
  region: string;
  tableName: string;
  queueName: string;
  queueUrl: string;
  dlqUrl: string;
  /** The FIFO queue events wait in for delivery and its dead-letter queue; absent without a webhook URL. */
  webhookQueueUrl: string | undefined;
  webhookDlqUrl: string | undefined;
  settings: Settings;
  /** The order store the handlers use, for looking at what they did. */
  store: OrderStore;
  /** The refund store the handlers use (refunds and the notifications that moved them). */
  refundStore: DynamoDbRefundStore;
  /** The stack's SQS client (local endpoint, dummy credentials); destroyed by stop(). */
  sqs: SQSClient;
  /** Runs the sweep now, as the schedule would. */
  sweep(): Promise<{ enqueued: number }>;
  /**
   * Hands the bills function the event the daily rule sends in AWS, as if it fired at `at` (default
   * now): it reconciles the Beijing day before, unless that day has a report. There is no schedule
   * locally; POST /reconciliations is the way to run a day.
   */
  runBillSchedule(at?: Date): Promise<unknown>;
  /** Stops everything this call started, in reverse order; the servers passed in stay up. */
  stop(): Promise<void>;
}

export const DEFAULTS = {
  region: 'us-east-1',
  tableName: 'wechatpay-orders',
  queueName: 'wechatpay-reconcile',
  sweepIntervalMs: 60_000,
  maxReceiveCount: RECONCILE_MAX_RECEIVE_COUNT,
  // Lambda needs the visibility timeout to be at least the function's timeout.
  visibilityTimeoutSeconds: 30,
  reconcileTimeoutMs: 25_000,
  sweepTimeoutMs: 60_000,
  /** As the events Lambda's in AWS (shared/config/event-relay.ts). */
  eventsTimeoutMs: EVENTS_FUNCTION_TIMEOUT_SECONDS * 1000,
  /** As the webhooks Lambda's in AWS (shared/config/webhook-queue.ts). */
  webhooksTimeoutMs: WEBHOOKS_FUNCTION_TIMEOUT_SECONDS * 1000,
} as const;

/** The webhook queue's names: FIFO, beside the reconcile queue. */
export function webhookQueueNames(queueName: string): { queueName: string; dlqName: string } {
  return { queueName: `${queueName}-webhooks.fifo`, dlqName: `${queueName}-webhooks-dlq.fifo` };
}

/**
 * The merchant's v3 keys: the developer's own (WECHATPAY_* settings; checkSimulatorKeys has made sure
 * all three are there) or the generated sandbox ones, which the simulator is then told to trust.
 */
function v3Merchant(options: LocalStackOptions): {
  apiV3Key: string;
  certSerial: string;
  privateKeyPem: string;
  publicKeyPem: string;
} {
  const env = options.env ?? {};
  const {
    WECHATPAY_PRIVATE_KEY: privateKeyPem,
    WECHATPAY_CERT_SERIAL: certSerial,
    WECHATPAY_APIV3_KEY: apiV3Key,
  } = env;
  if (privateKeyPem && certSerial && apiV3Key) {
    return {
      apiV3Key,
      certSerial,
      privateKeyPem,
      publicKeyPem: createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
    };
  }
  return sandboxV3Merchant(options.sandboxKeysDir);
}

/**
 * A developer's own API client certificate cannot work with the simulator, which, like WeChat, accepts
 * on /secapi/ only a certificate its own CA issued: the start stops naming the variables to unset,
 * rather than every v2 refund failing later.
 */
function checkOwnClientCertificate(env: Record<string, string>, simulatorCaPem: string): void {
  const own = env.WECHATPAY_API_CLIENT_CERT;
  if (own === undefined) return;
  let issued = false;
  try {
    const ca = new X509Certificate(simulatorCaPem);
    const cert = new X509Certificate(own);
    issued = cert.checkIssued(ca) && cert.verify(ca.publicKey);
  } catch {
    // Not a certificate at all: refused below like a foreign one.
  }
  if (!issued) {
    throw new LocalSettingsError(
      "invalid settings: WECHATPAY_API_CLIENT_CERT is not issued by the simulator's CA, so the simulator would " +
        'refuse every v2 refund (as WeChat refuses a certificate it did not issue): unset WECHATPAY_API_CLIENT_CERT ' +
        "and WECHATPAY_API_CLIENT_KEY to use the simulator's, or set WECHATPAY_BASE_URL to WeChat's address",
    );
  }
}

/** The event an EventBridge schedule rule sends its target (the sweep, the bills function). */
function scheduledEvent(region: string, ruleName: string, at = new Date()): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: LOCAL_ACCOUNT_ID,
    time: at.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:${LOCAL_ACCOUNT_ID}:rule/${ruleName}`],
    detail: {},
  };
}

/**
 * The whole backend on this machine: the table and queues on the given servers, the WeChat Pay
 * simulator, the handlers behind a gateway that builds AWS's events, the reconcile queue fed to its
 * handler like Lambda's SQS event source, the sweep on a timer, and the bills function behind the
 * gateway's /reconciliations (no daily schedule locally: runBillSchedule hands it the rule's event).
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const region = options.region ?? DEFAULTS.region;
  const tableName = options.tableName ?? DEFAULTS.tableName;
  const queueName = options.queueName ?? DEFAULTS.queueName;
  const merchant = options.merchant ?? SANDBOX_MERCHANT;
  const log = options.log ?? ((line: string) => console.log(line));
  const fn = (name: string, timeoutMs: number): LocalFunction => ({ functionName: `local-${name}`, timeoutMs, region });

  // What has started, to stop in reverse order on stop() or when a later step fails.
  const started: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    const errors: unknown[] = [];
    for (const stop of started.splice(0).reverse()) {
      try {
        await stop();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, 'the local stack did not stop cleanly');
  };

  const externalWechatPay = options.wechatpayBaseUrl ?? options.env?.WECHATPAY_BASE_URL;
  const externalWechatApi = options.wechatApiBaseUrl ?? options.env?.WECHAT_API_BASE_URL;
  // The simulator answers the mini program login only when it runs and no other login API is named;
  // a generated AppSecret is of use only then (WeChat's own would refuse it).
  const simulatorServesLogin = externalWechatPay === undefined && externalWechatApi === undefined;
  const appSecret =
    options.miniProgram?.appSecret ??
    options.env?.WECHAT_APPSECRET ??
    (simulatorServesLogin ? sandboxAppSecret(options.sandboxKeysDir) : undefined);
  // Before anything starts: keys that cannot verify end to end stop the start by the variable's name.
  checkSimulatorKeys(options.env ?? {}, options.simulatorPlatformPrivateKey, externalWechatPay);

  try {
    const dynamodb = localDynamoDbClient(options.dynamodbEndpoint);
    const sqs = localSqsClient(options.sqsEndpoint);
    started.push(async () => {
      dynamodb.destroy();
      sqs.destroy();
    });
    const streamArn =
      options.skipTableCreation === true ? undefined : (await ensureTable(dynamodb, tableName)).streamArn;
    const queues = await ensureQueues(sqs, {
      queueName,
      dlqName: `${queueName}-dlq`,
      maxReceiveCount: options.maxReceiveCount ?? DEFAULTS.maxReceiveCount,
      visibilityTimeoutSeconds: options.visibilityTimeoutSeconds ?? DEFAULTS.visibilityTimeoutSeconds,
    });

    const v3 = options.env?.WECHATPAY_API_VERSION === 'v3' ? v3Merchant(options) : undefined;
    let simulatorUrl: string | undefined;
    let simulatorHttpsUrl: string | undefined;
    let simulatorTls: SimulatorTls | undefined;
    let simulatorAppSecret: string | undefined;
    // The merchant's v3 keys and WeChat's public key, as the handlers would read them from the secret.
    let v3Env: Record<string, string> = {};
    // How the handlers reach the simulator over HTTPS and present the merchant's certificate on /secapi/.
    let tlsEnv: Record<string, string> = {};
    // Where an order's sandbox_cashier_url points: only a simulator of this stack has the page.
    let cashierEnv: Record<string, string> = {};
    if (externalWechatPay === undefined) {
      const simulator = await startSimulator({
        host: '127.0.0.1',
        port: options.simulatorPort ?? 0,
        merchant: v3
          ? { ...merchant, apiV3Key: v3.apiV3Key, certSerial: v3.certSerial, merchantPublicKey: v3.publicKeyPem }
          : merchant,
        timeScale: options.timeScale,
        dataDir: options.simulatorDataDir,
        miniProgram: {
          ...(appSecret === undefined ? {} : { appSecret }),
          ...(options.miniProgram?.loginRateLimitPerMinute === undefined
            ? {}
            : { loginRateLimitPerMinute: options.miniProgram.loginRateLimitPerMinute }),
        },
        ...(options.simulatorCa ? { tls: options.simulatorCa } : {}),
        log,
        ...(v3
          ? {
              apiVersion: 'v3' as const,
              signWith: options.simulatorSignWith,
              platformPrivateKey: options.simulatorPlatformPrivateKey,
              // The developer's own public key id, so the simulator names the key as the handlers expect.
              platformPublicKeyId: options.env?.WECHATPAY_PUBLIC_KEY_ID,
            }
          : {}),
      });
      started.push(() => simulator.close());
      simulatorUrl = simulator.url;
      simulatorHttpsUrl = simulator.httpsUrl;
      simulatorTls = simulator.tls;
      simulatorAppSecret = simulator.miniProgramAppSecret;
      checkOwnClientCertificate(options.env ?? {}, simulator.tls.caCertPem);
      cashierEnv = { SANDBOX_CASHIER_BASE_URL: `${simulator.url}/sandbox/cashier/` };
      tlsEnv = {
        WECHATPAY_TRUSTED_CA: simulator.tls.caCertPem,
        WECHATPAY_API_CLIENT_CERT: simulator.tls.clientCertPem,
        WECHATPAY_API_CLIENT_KEY: simulator.tls.clientKeyPem,
      };
      if (v3 && simulator.platform) {
        v3Env = {
          WECHATPAY_PRIVATE_KEY: v3.privateKeyPem,
          WECHATPAY_CERT_SERIAL: v3.certSerial,
          WECHATPAY_APIV3_KEY: v3.apiV3Key,
          WECHATPAY_PUBLIC_KEY: simulator.platform.publicKeyPem,
          WECHATPAY_PUBLIC_KEY_ID: simulator.platform.publicKeyId,
        };
      }
    }

    // The gateway listens first: the handlers' NOTIFY_URL is its address.
    const gateway: Gateway = await startGateway({
      port: options.port ?? 0,
      region,
      ordersFunction: { functionName: 'local-orders' },
      notifyFunction: { functionName: 'local-notify' },
      billsFunction: { functionName: 'local-bills' },
      ...(options.localIam === undefined ? {} : { iam: options.localIam }),
      health: () => ({ tableName, queueName, simulator: simulatorUrl ?? null }),
      log,
    });
    started.push(() => gateway.close());
    const notifyUrl = `${gateway.url}${NOTIFY_ROUTE.path}`;

    const webhookEnv: Record<string, string> = {};
    if (options.webhookUrl !== undefined) webhookEnv.MERCHANT_WEBHOOK_URL = options.webhookUrl;
    if (options.webhookSecret !== undefined) webhookEnv.MERCHANT_WEBHOOK_SECRET = options.webhookSecret;
    if (options.webhookRetrySchedule !== undefined) webhookEnv.WEBHOOK_RETRY_SCHEDULE = options.webhookRetrySchedule;
    const environment = (extra: Record<string, string>) =>
      handlerEnvironment({
        tableName,
        queueUrl: queues.queueUrl,
        notifyUrl,
        dynamodbEndpoint: options.dynamodbEndpoint,
        sqsEndpoint: options.sqsEndpoint,
        region,
        merchant,
        wechatpayBaseUrl: externalWechatPay ?? (simulatorHttpsUrl as string),
        wechatApiBaseUrl: externalWechatApi ?? simulatorHttpsUrl,
        miniProgramAppSecret: appSecret,
        timeScale: options.timeScale,
        // The developer's own settings (a client certificate of their own among them) win.
        extra: { ...v3Env, ...tlsEnv, ...cashierEnv, ...webhookEnv, ...extra, ...options.env },
      });
    // Read once before the webhook queue exists: its redrive follows the retry schedule.
    let settings = loadSettings(environment({}));
    let webhookQueues: QueueUrls | undefined;
    if (settings.MERCHANT_WEBHOOK_URL !== undefined) {
      webhookQueues = await ensureQueues(sqs, {
        ...webhookQueueNames(queueName),
        fifo: true,
        maxReceiveCount: webhookMaxReceiveCount(settings.WEBHOOK_RETRY_SCHEDULE),
        // As in AWS: it only matters when an invocation dies.
        visibilityTimeoutSeconds: WEBHOOK_QUEUE_VISIBILITY_SECONDS,
      });
      settings = loadSettings(environment({ WEBHOOK_QUEUE_URL: webhookQueues.queueUrl }));
    }
    // The same adapters the Lambdas build, over clients with the local servers' dummy credentials:
    // the handlers' own clients would look for real AWS credentials, which a developer may not have.
    const documentClient = DynamoDBDocumentClient.from(dynamodb, { marshallOptions: { removeUndefinedValues: true } });
    const store = new DynamoDbOrderStore({ tableName, client: documentClient });
    const refundStore = new DynamoDbRefundStore({
      tableName,
      client: documentClient,
      dueIndexShards: settings.DUE_INDEX_SHARDS,
    });
    const handlers = (options.createHandlers ?? createHandlers)(settings, { store, refundStore, documentClient, sqs });
    gateway.attach(handlers);

    const poller: SqsEventSource = startSqsEventSource({
      sqs,
      queueUrl: queues.queueUrl,
      queueArn: queues.queueArn,
      handler: handlers.reconcile,
      function: fn('reconcile', DEFAULTS.reconcileTimeoutMs),
      batchSize: RECONCILE_BATCH_SIZE,
      waitTimeSeconds: options.pollWaitSeconds ?? 1,
      log,
    });
    started.push(() => poller.stop());

    // The events function reads the table's stream (the stream is made with the table), as Lambda's
    // DynamoDB event source does in AWS. Without the table there is no stream to read.
    if (streamArn !== undefined) {
      const streams = localStreamsClient(options.dynamodbEndpoint);
      started.push(async () => streams.destroy());
      const streamSource: DynamoDbStreamSource = startDynamoDbStreamSource({
        client: streams,
        streamArn,
        handler: handlers.events,
        function: fn('events', DEFAULTS.eventsTimeoutMs),
        // The event source mapping's filter criteria in AWS, so local invocations per event match AWS's.
        filter: matchesStreamFilter,
        ...(options.dataDir === undefined
          ? {}
          : { checkpoint: streamPositionsFile(join(options.dataDir, STREAM_POSITIONS_FILE)) }),
        pollIntervalMs: options.streamPollIntervalMs,
        log,
      });
      started.push(() => streamSource.stop());
    }

    if (webhookQueues !== undefined) {
      const webhookPoller = startSqsEventSource({
        sqs,
        queueUrl: webhookQueues.queueUrl,
        queueArn: webhookQueues.queueArn,
        handler: handlers.webhooks,
        function: fn('webhooks', DEFAULTS.webhooksTimeoutMs),
        batchSize: WEBHOOK_BATCH_SIZE,
        waitTimeSeconds: options.pollWaitSeconds ?? 1,
        log,
      });
      started.push(() => webhookPoller.stop());
    }

    const sweepFunction = fn('sweep', DEFAULTS.sweepTimeoutMs);
    let sweeping: Promise<unknown> | undefined;
    const sweep = async (): Promise<{ enqueued: number }> => {
      const outcome = await invoke(sweepFunction, handlers.sweep, scheduledEvent(region, `${queueName}-sweep`));
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    };
    const interval = options.sweepIntervalMs ?? DEFAULTS.sweepIntervalMs;
    if (interval > 0) {
      const tick = () => {
        // Like a schedule with concurrency 1: a sweep still running makes the next tick a no-op.
        if (sweeping !== undefined) return;
        sweeping = sweep()
          .then(({ enqueued }) => {
            if (enqueued > 0) log(`[${sweepFunction.functionName}] re-enqueued ${enqueued} due order(s)`);
          })
          .catch((error: unknown) => log(describeFunctionError(sweepFunction, { error })))
          .finally(() => {
            sweeping = undefined;
          });
      };
      const timer = setInterval(tick, interval);
      // The first sweep runs at start: checks that were waiting in a queue that did not survive a
      // restart are found again at once.
      tick();
      started.push(async () => {
        clearInterval(timer);
        await sweeping;
      });
    }

    // The bills function in-process, as the gateway runs it for POST /reconciliations.
    const billsFunction = fn('bills', BILLS_FUNCTION_LIMITS.timeoutMs);
    const runBillSchedule = async (at?: Date): Promise<unknown> => {
      const outcome = await invoke(
        { ...billsFunction, memoryMb: BILLS_FUNCTION_LIMITS.memoryMb },
        handlers.bills,
        scheduledEvent(region, `${queueName}-bills`, at),
      );
      if (!outcome.ok) throw outcome.error;
      return outcome.result;
    };

    return {
      gatewayUrl: gateway.url,
      notifyUrl,
      simulatorUrl,
      simulatorHttpsUrl,
      simulatorTls,
      simulatorAppSecret,
      region,
      tableName,
      queueName,
      queueUrl: queues.queueUrl,
      dlqUrl: queues.dlqUrl,
      webhookQueueUrl: webhookQueues?.queueUrl,
      webhookDlqUrl: webhookQueues?.dlqUrl,
      settings,
      store,
      refundStore,
      sqs,
      sweep,
      runBillSchedule,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}
