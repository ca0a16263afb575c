/**
 * `npm start`: the whole backend on this machine. DynamoDB Local keeps its data under DATA_DIR, so a
 * restart keeps every order; the SQS server (fauxqs) keeps its queues in memory, so a restart
 * empties the reconcile queue. Nothing is lost by that: every open order carries its next check
 * time in the table, and the sweep (run at start and then on its interval) re-enqueues the ones
 * that are due. The table's stream is read on from where the last run stopped (the positions are
 * kept under DATA_DIR too), so a restart sends no webhook again.
 */
import { join } from 'node:path';

import { startDynamoDbLocal } from './dynamodb-server';
import { OPENAPI_ROUTE } from './gateway';
import { type LocalStartSettings, parseLocalStartSettings } from './local-settings';
import { startSqsLocal } from './sqs-server';
import type { LocalStack } from './stack';
import { removeRunningStack, writeRunningStack } from './running-stack-file';
import { localWebhookSecret } from './webhook-secret-file';

const STOP_TIMEOUT_MS = 20_000;
const DUPLICATE_SIGNAL_MS = 1_000;

type Stop = { name: string; stop: () => Promise<void> };

function message(error: unknown): string {
  if (error instanceof AggregateError) return error.errors.map(message).join('; ');
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  let settings: LocalStartSettings;
  /** Where the generated webhook secret is kept (on the ready line); absent with MERCHANT_WEBHOOK_SECRET set. */
  let webhookSecretFile: string | undefined;
  let webhookSecret: string;
  try {
    settings = parseLocalStartSettings(process.env);
    if (settings.webhookSecret !== undefined) {
      webhookSecret = settings.webhookSecret;
    } else {
      const generated = localWebhookSecret(settings.dataDir);
      webhookSecret = generated.secret;
      webhookSecretFile = generated.path;
    }
  } catch (error) {
    console.error(`start failed: ${message(error)}`);
    process.exit(1);
  }

  const running: Stop[] = [];
  let ready = false;
  let signalled: NodeJS.Signals | undefined;
  let stopping: Promise<void> | undefined;

  const stopEverything = (): Promise<void> => {
    stopping ??= (async () => {
      const force = setTimeout(() => {
        console.error(`stop: still stopping after ${STOP_TIMEOUT_MS} ms; exiting anyway`);
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      force.unref();
      let failed = false;
      for (const { name, stop } of running.splice(0).reverse()) {
        try {
          await stop();
        } catch (error) {
          failed = true;
          console.error(`stop: ${name}: ${message(error)}`);
        }
      }
      clearTimeout(force);
      if (failed) process.exitCode = 1;
    })();
    return stopping;
  };

  let signalledAt = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled !== undefined) {
      // One Ctrl-C can arrive twice: from the terminal to the whole process group, and relayed by
      // tsx. Only a later one means "stop waiting".
      if (Date.now() - signalledAt < DUPLICATE_SIGNAL_MS) return;
      console.error(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    signalled = signal;
    signalledAt = Date.now();
    console.log(`${signal}: stopping (the data in ${settings.dataDir} is kept)`);
    // During start-up the steps below notice the signal and stop what they started.
    if (ready) void stopEverything().then(() => process.exit());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  /** Runs one start-up step, unless a signal came in first. */
  const step = async <T>(run: () => Promise<T>): Promise<T> => {
    if (signalled !== undefined) throw new Error(`interrupted by ${signalled}`);
    return run();
  };

  let stack: LocalStack;
  let dynamodbEndpoint: string;
  let sqsEndpoint: string;
  try {
    // The JVM behind DynamoDB Local is the slow part; the SQS server and loading the handlers'
    // modules (the AWS SDK, Powertools) happen meanwhile.
    const stackModule = import('./stack');
    // Awaited below; until then a failed import must not count as unhandled.
    stackModule.catch(() => undefined);
    const [dynamodb, sqs] = await step(() =>
      Promise.allSettled([
        startDynamoDbLocal({ port: settings.dynamodbPort || undefined, dataDir: join(settings.dataDir, 'dynamodb') }),
        startSqsLocal({ port: settings.sqsPort || undefined, host: '127.0.0.1' }),
      ]),
    );
    if (dynamodb.status === 'fulfilled') running.push({ name: 'DynamoDB Local', stop: dynamodb.value.stop });
    if (sqs.status === 'fulfilled') running.push({ name: 'SQS server', stop: sqs.value.stop });
    if (dynamodb.status === 'rejected') throw dynamodb.reason;
    if (sqs.status === 'rejected') throw sqs.reason;
    dynamodbEndpoint = dynamodb.value.endpoint;
    sqsEndpoint = sqs.value.endpoint;
    const { startLocalStack } = await stackModule;

    stack = await step(() =>
      startLocalStack({
        dynamodbEndpoint,
        sqsEndpoint,
        tableName: settings.tableName,
        queueName: settings.queueName,
        port: settings.port,
        simulatorPort: settings.simulatorPort,
        dataDir: settings.dataDir,
        simulatorDataDir: join(settings.dataDir, 'simulator'),
        sandboxKeysDir: settings.dataDir,
        wechatpayBaseUrl: settings.wechatpayBaseUrl,
        wechatApiBaseUrl: settings.wechatApiBaseUrl,
        miniProgram:
          settings.miniProgramAppSecret === undefined ? undefined : { appSecret: settings.miniProgramAppSecret },
        simulatorPlatformPrivateKey: settings.simulatorPlatformPrivateKey,
        simulatorSignWith: settings.simulatorSignWith,
        timeScale: settings.simulatorTimeScale,
        merchant: settings.merchant,
        sweepIntervalMs: settings.sweepIntervalMs,
        webhookUrl: settings.webhookUrl,
        webhookSecret,
        env: settings.handlerEnv,
        localIam: settings.localIam,
      }),
    );
    running.push({ name: 'local stack', stop: stack.stop });
    if (signalled !== undefined) throw new Error(`interrupted by ${signalled}`);
  } catch (error) {
    if (signalled === undefined) console.error(`start failed: ${message(error)}`);
    await stopEverything();
    process.exit(signalled === undefined ? 1 : 0);
  }

  ready = true;
  const urls = [
    `gateway=${stack.gatewayUrl}`,
    `notify=${stack.notifyUrl}`,
    `simulator=${stack.simulatorUrl ?? 'none'}`,
    // The simulator's pages: recent orders and refunds, each order's cashier.
    `sandbox=${stack.simulatorUrl === undefined ? 'none' : `${stack.simulatorUrl}/sandbox`}`,
    `openapi=${stack.gatewayUrl}${OPENAPI_ROUTE.path}`,
    `wechatpay=${stack.settings.WECHATPAY_BASE_URL}`,
    // The mini program login's address; its AppSecret is never printed.
    `wechat_api=${stack.settings.WECHAT_API_BASE_URL}`,
    `dynamodb=${dynamodbEndpoint}`,
    `sqs=${sqsEndpoint}`,
    `webhooks=${stack.settings.MERCHANT_WEBHOOK_URL ?? 'none'}`,
    // The path only: the secret stays in the file, for the merchant's receiver to read.
    ...(webhookSecretFile === undefined ? [] : [`webhook_secret_file=${webhookSecretFile}`]),
  ];
  // For `npm run redrive-webhooks` and `npm run orders`: the servers' addresses change each start.
  writeRunningStack(settings.dataDir, {
    pid: process.pid,
    region: stack.region,
    sqsEndpoint,
    dynamodbEndpoint,
    tableName: stack.tableName,
    webhookQueueUrl: stack.webhookQueueUrl,
    webhookDlqUrl: stack.webhookDlqUrl,
  });
  running.push({ name: 'running-stack file', stop: async () => removeRunningStack(settings.dataDir) });
  console.log(`ready ${urls.join(' ')}`);
}

await main();
