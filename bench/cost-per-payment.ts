import { monitorEventLoopDelay } from 'node:perf_hooks';

import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';

import { localDynamoDbClient, localSqsClient } from '#sandbox/local/resources';
import { startLocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { startSimulator } from '#sandbox/simulator/server';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import type { DependencyOverrides } from '#shared/app/dependencies';
import { createHandlers, type Handlers } from '#shared/app/handlers';
import { APP_BACKEND_ROUTES, routeKey, routePath } from '#shared/app/routes';
import { RECONCILE_BATCH_SIZE } from '#shared/config/reconcile-queue';
import { DEFAULT_RECONCILE_SCHEDULE, type Settings } from '#shared/config/settings';
import type { OrderStatus } from '#shared/domain/order';
import { classifyWechat, DYNAMODB_READS, DYNAMODB_WRITES } from './aws-classify';
import {
  billedUnitsByOp,
  type CountingProxy,
  startCountingProxy,
  startDynamoDbCountingProxy,
  startSqsCountingProxy,
  type Tally,
} from './counting-proxy';
import { checkTimes, compressedSchedule, earlyHops } from './expired-schedule';
import { httpClient, runPool } from './load';
import type { LocalServers } from './local-servers';
import { costPerMillion, type Cost, PLATFORM_LOG_BYTES_PER_INVOCATION, PRICES, type UsagePerOrder } from './prices';
import { createOrderBody, outTradeNos, runPrefix } from './seed-orders';

/**
 * Part 4: paid and expired orders through the whole local stack, with every AWS request counted by
 * proxies in front of DynamoDB Local and fauxqs (the handlers' clients are simply pointed at them),
 * every WeChat Pay call by a proxy in front of the simulator, and every Lambda invocation by a
 * wrapper around the handlers the stack serves. Each phase runs alone, so its counts are its own.
 */

type FunctionName = keyof Handlers;

/** Memory per function as the CDK stack configures it (infra/cdk/wechat-pay-stack.ts). */
export const MEMORY_MB: Record<FunctionName, number> = {
  orders: 512,
  notify: 512,
  reconcile: 512,
  sweep: 256,
  events: 256,
  webhooks: 256,
  bills: 1769,
};

/** A prepay_id lives two hours at WeChat, and an order expires with it (PREPAY_TTL_SECONDS's default). */
export const PRODUCTION_PREPAY_TTL_SECONDS = 7200;
/** The expiry used here: WeChat, and the simulator, refuse a time_expire under a minute. */
const COMPRESSED_PREPAY_TTL_SECONDS = 65;
const DEFAULT_SCHEDULE = DEFAULT_RECONCILE_SCHEDULE.split(',').map(Number);

/**
 * Time compressed for the expired orders: a schedule derived from DEFAULT_RECONCILE_SCHEDULE that asks
 * WeChat as many times over the 65 s expiry used here as the default does over a prepay's 2 hours,
 * the check at expiry included.
 */
export const COST_RUN_ENV = {
  PREPAY_TTL_SECONDS: String(COMPRESSED_PREPAY_TTL_SECONDS),
  RECONCILE_SCHEDULE: compressedSchedule(
    DEFAULT_SCHEDULE,
    PRODUCTION_PREPAY_TTL_SECONDS,
    COMPRESSED_PREPAY_TTL_SECONDS,
  ).join(','),
  CLOSE_MIN_AGE_SECONDS: '15',
} as const;
/** The WeChat queries an expired order gets in production: one per check, the one at expiry included. */
export const PRODUCTION_CHECKS_PER_EXPIRED_ORDER = checkTimes(DEFAULT_SCHEDULE, PRODUCTION_PREPAY_TTL_SECONDS).length;
/** The messages production adds to carry waits beyond SQS's 15 minutes (see expired-schedule.ts). */
export const PRODUCTION_EARLY_HOPS_PER_EXPIRED_ORDER = earlyHops(DEFAULT_SCHEDULE, PRODUCTION_PREPAY_TTL_SECONDS);
/** The simulator's 5-minute close minimum ÷ 20 = 15 s, matching CLOSE_MIN_AGE_SECONDS. */
export const SIMULATOR_TIME_SCALE = 20;

const { createOrder } = APP_BACKEND_ROUTES;
/** In production an order's first check comes after the default schedule's first interval. */
const FIRST_CHECK_SECONDS = DEFAULT_RECONCILE_SCHEDULE.split(',')[0];

export interface CostOptions {
  paid: number;
  expired: number;
  /** Orders created at once in the paid phase. */
  concurrency: number;
  /**
   * Orders created at once in the expired phase: 1, so each create's duration is its own work and
   * I/O, not the wait behind the other creates on this machine's shared event loop.
   */
  expiredConcurrency: number;
  progress: (line: string) => void;
  log: (line: string) => void;
  /** Bytes the handlers have logged so far (the output guard counts them). */
  loggedBytes: () => number;
}

export interface PhaseCounts {
  orders: number;
  /** How many reached the expected final state. */
  completed: number;
  seconds: number;
  /** Per function; `records` are the stream records or SQS messages its invocations were handed. */
  lambda: Record<FunctionName, { invocations: number; billedMs: number; meanMs: number; records?: number }>;
  dynamodb: Tally;
  sqs: Tally;
  wechat: Tally;
  handlerLogBytes: number;
  /** How late this process's event loop ran timers during the phase (ms), when it was watched. */
  eventLoopDelayMs?: { mean: number; p50: number; p99: number; max: number };
  /** Orders created at once. */
  createConcurrency?: number;
}

export interface PerOrder {
  lambdaInvocations: number;
  lambdaByFunction: Record<string, number>;
  dynamodbReads: number;
  dynamodbWrites: number;
  dynamodbReadUnits: number;
  dynamodbWriteUnits: number;
  /** Write units per operation (PutItem, UpdateItem, TransactWriteItems, …); they add up to dynamodbWriteUnits. */
  dynamodbWriteUnitsByOp: Record<string, number>;
  dynamodbReadUnitsByOp: Record<string, number>;
  /** Sends, receives that returned messages, and deletes; idle (empty) polls are listed apart. */
  sqsRequests: number;
  sqsEmptyReceives: number;
  wechatCalls: number;
  wechatByOp: Record<string, number>;
  apiGatewayRequests: number;
}

export interface PhaseResult {
  counts: PhaseCounts;
  perOrder: PerOrder;
  /** What the phase used, the modelled messages included when there are any. */
  usage: UsagePerOrder;
  /** The price of `usage`: what production pays. */
  costPerMillion: Cost;
  /** Production's messages the compressed run cannot show (expired orders only). */
  modelled?: ModelledHops;
  /** The price of what was measured alone, without the modelled messages. */
  measuredCostPerMillion?: Cost;
}

/**
 * The messages an expired order's long waits add in production (earlyHops), priced with the phase's
 * own measured ratios: each is a SendMessage, a share of a receive, a delete and an invocation as
 * the phase's messages had them, and as much Lambda time as the phase's SendMessages took.
 */
export interface ModelledHops {
  hopsPerOrder: number;
  /** Measured in the phase: reconcile messages per invocation, receives and deletes per message. */
  messagesPerInvocation: number;
  receivesPerMessage: number;
  deletesPerMessage: number;
  /** Mean SendMessage round trip in the phase (ms): what a hop awaits. */
  sendMessageMs: number;
  /** Per order. */
  lambdaInvocations: number;
  lambdaBilledMs: number;
  sqsRequests: number;
  costPerMillion: Cost;
}

export interface CostResult {
  paid: PhaseResult;
  expired: PhaseResult | null;
  prices: typeof PRICES;
  assumptions: string[];
}

export interface LambdaMeter {
  wrap(settings: Settings, overrides: DependencyOverrides): Handlers;
  snapshot(): PhaseCounts['lambda'];
  /** Records (stream records, SQS messages) the function's invocations were handed, all together. */
  records(name: FunctionName): number;
  inFlight(): number;
  reset(): void;
}

export function lambdaMeter(): LambdaMeter {
  const fresh = () =>
    Object.fromEntries(
      (Object.keys(MEMORY_MB) as FunctionName[]).map((n) => [
        n,
        { invocations: 0, billedMs: 0, totalMs: 0, records: 0 },
      ]),
    ) as Record<FunctionName, { invocations: number; billedMs: number; totalMs: number; records: number }>;
  let counts = fresh();
  let running = 0;
  const count =
    <E, R>(name: FunctionName, handler: (event: E, context: Context) => Promise<R>) =>
    async (event: E, context: Context): Promise<R> => {
      const started = performance.now();
      running += 1;
      const records = (event as { Records?: unknown } | null)?.Records;
      // Counted when handed over, like the invocation: a phase's snapshot is taken once all are done.
      if (Array.isArray(records)) counts[name].records += records.length;
      try {
        return await handler(event, context);
      } finally {
        running -= 1;
        const ms = performance.now() - started;
        const c = counts[name];
        c.invocations += 1;
        c.totalMs += ms;
        // Lambda bills each invocation in whole milliseconds, rounded up.
        c.billedMs += Math.ceil(ms);
      }
    };
  return {
    wrap(settings, overrides) {
      const h = createHandlers(settings, overrides);
      return {
        orders: count('orders', h.orders),
        notify: count('notify', h.notify),
        reconcile: count('reconcile', h.reconcile),
        sweep: count('sweep', h.sweep),
        events: count('events', h.events),
        webhooks: count('webhooks', h.webhooks),
        // No phase here reconciles a bill (bench part 6 measures that): served as it is, never counted.
        bills: h.bills,
      };
    },
    snapshot() {
      return Object.fromEntries(
        Object.entries(counts).map(([n, c]) => [
          n,
          {
            invocations: c.invocations,
            billedMs: c.billedMs,
            meanMs: c.invocations ? c.totalMs / c.invocations : 0,
            records: c.records,
          },
        ]),
      ) as PhaseCounts['lambda'];
    },
    records: (name) => counts[name].records,
    inFlight: () => running,
    reset() {
      counts = fresh();
    },
  };
}

export async function queueIsEmpty(sqs: SQSClient, queueUrl: string): Promise<boolean> {
  const names = [
    'ApproximateNumberOfMessages',
    'ApproximateNumberOfMessagesNotVisible',
    'ApproximateNumberOfMessagesDelayed',
  ] as const;
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...names] }),
  );
  return names.every((k) => Number(a?.[k] ?? '0') === 0);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function perOrderOf(counts: PhaseCounts): PerOrder {
  const n = Math.max(counts.orders, 1);
  const per = (x: number | undefined) => (x ?? 0) / n;
  const lambdaByFunction = Object.fromEntries(
    Object.entries(counts.lambda).map(([name, c]) => [name, per(c.invocations)]),
  );
  const units = (t: Tally, kind: string) =>
    // A request whose answer reported no capacity (a refused conditional write) is billed at least one unit.
    (t.capacityByKind[kind] ?? 0) + ((t.byKind[kind] ?? 0) - (t.reportedByKind[kind] ?? 0));
  return {
    lambdaInvocations: Object.values(lambdaByFunction).reduce((s, x) => s + x, 0),
    lambdaByFunction,
    dynamodbReads: per(counts.dynamodb.byKind.read),
    dynamodbWrites: per(counts.dynamodb.byKind.write),
    dynamodbReadUnits: per(units(counts.dynamodb, 'read')),
    dynamodbWriteUnits: per(units(counts.dynamodb, 'write')),
    dynamodbWriteUnitsByOp: Object.fromEntries(
      Object.entries(billedUnitsByOp(counts.dynamodb, DYNAMODB_WRITES)).map(([op, u]) => [op, per(u)]),
    ),
    dynamodbReadUnitsByOp: Object.fromEntries(
      Object.entries(billedUnitsByOp(counts.dynamodb, DYNAMODB_READS)).map(([op, u]) => [op, per(u)]),
    ),
    sqsRequests: per(
      (counts.sqs.byKind.send ?? 0) + (counts.sqs.byKind.receive ?? 0) + (counts.sqs.byKind.delete ?? 0),
    ),
    sqsEmptyReceives: per(counts.sqs.byKind['receive-empty']),
    wechatCalls: per(counts.wechat.byKind.call),
    wechatByOp: Object.fromEntries(Object.entries(counts.wechat.byOp).map(([op, c]) => [op, per(c)])),
    apiGatewayRequests: per(counts.lambda.orders.invocations),
  };
}

export function usageOf(counts: PhaseCounts, perOrder: PerOrder): UsagePerOrder {
  const n = Math.max(counts.orders, 1);
  const functions = (Object.keys(MEMORY_MB) as FunctionName[]).map((name) => ({
    name,
    invocations: counts.lambda[name].invocations / n,
    billedMs: counts.lambda[name].billedMs / n,
    memoryMb: MEMORY_MB[name],
  }));
  return {
    functions,
    apiGatewayRequests: perOrder.apiGatewayRequests,
    dynamodbReadUnits: perOrder.dynamodbReadUnits,
    dynamodbWriteUnits: perOrder.dynamodbWriteUnits,
    sqsRequests: perOrder.sqsRequests,
    logBytes: counts.handlerLogBytes / n + perOrder.lambdaInvocations * PLATFORM_LOG_BYTES_PER_INVOCATION,
  };
}

/** Prices `hopsPerOrder` early messages per order with the phase's measured per-message ratios. */
export function modelHops(counts: PhaseCounts, hopsPerOrder: number): ModelledHops {
  const reconcile = counts.lambda.reconcile;
  const messages = reconcile.records ?? 0;
  // A phase with no reconcile messages has no ratios of its own: one of each per message, then.
  const ratio = (x: number | undefined, fallback: number) => (messages > 0 ? (x ?? 0) / messages : fallback);
  const messagesPerInvocation = reconcile.invocations > 0 && messages > 0 ? messages / reconcile.invocations : 1;
  const receivesPerMessage = ratio(counts.sqs.byKind.receive, 1);
  const deletesPerMessage = ratio(counts.sqs.byKind.delete, 1);
  const sends = counts.sqs.byOp.SendMessage ?? 0;
  const sendMessageMs = sends > 0 ? (counts.sqs.msByOp.SendMessage ?? 0) / sends : 0;
  const lambdaInvocations = hopsPerOrder / messagesPerInvocation;
  const lambdaBilledMs = hopsPerOrder * sendMessageMs;
  const sqsRequests = hopsPerOrder * (1 + receivesPerMessage + deletesPerMessage);
  const usage: UsagePerOrder = {
    functions: [
      { name: 'reconcile', invocations: lambdaInvocations, billedMs: lambdaBilledMs, memoryMb: MEMORY_MB.reconcile },
    ],
    apiGatewayRequests: 0,
    dynamodbReadUnits: 0,
    dynamodbWriteUnits: 0,
    sqsRequests,
    logBytes: lambdaInvocations * PLATFORM_LOG_BYTES_PER_INVOCATION,
  };
  return {
    hopsPerOrder,
    messagesPerInvocation,
    receivesPerMessage,
    deletesPerMessage,
    sendMessageMs,
    lambdaInvocations,
    lambdaBilledMs,
    sqsRequests,
    costPerMillion: costPerMillion(usage),
  };
}

/** The measured usage with the modelled messages added to the reconcile function and SQS. */
export function withHops(usage: UsagePerOrder, hops: ModelledHops): UsagePerOrder {
  return {
    ...usage,
    functions: usage.functions.map((f) =>
      f.name === 'reconcile'
        ? { ...f, invocations: f.invocations + hops.lambdaInvocations, billedMs: f.billedMs + hops.lambdaBilledMs }
        : f,
    ),
    sqsRequests: usage.sqsRequests + hops.sqsRequests,
    logBytes: usage.logBytes + hops.lambdaInvocations * PLATFORM_LOG_BYTES_PER_INVOCATION,
  };
}

export async function runCostPerPayment(servers: LocalServers, options: CostOptions): Promise<CostResult> {
  const prefix = runPrefix('BC');
  const merchant = SANDBOX_MERCHANT;
  const proxies: CountingProxy[] = [];
  const simulator = await startSimulator({
    host: '127.0.0.1',
    port: 0,
    merchant,
    timeScale: SIMULATOR_TIME_SCALE,
    log: options.log,
  });
  const meter = lambdaMeter();
  const directDynamoDb = localDynamoDbClient(servers.dynamodbEndpoint);
  const directSqs = localSqsClient(servers.sqsEndpoint);
  const http = httpClient(options.concurrency);
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    const dynamodbProxy = await startDynamoDbCountingProxy(servers.dynamodbEndpoint);
    const sqsProxy = await startSqsCountingProxy(servers.sqsEndpoint);
    const wechatProxy = await startCountingProxy({ upstream: simulator.url, classify: (e) => classifyWechat(e.path) });
    proxies.push(dynamodbProxy, sqsProxy, wechatProxy);

    stack = await startLocalStack({
      dynamodbEndpoint: dynamodbProxy.url,
      sqsEndpoint: sqsProxy.url,
      wechatpayBaseUrl: wechatProxy.url,
      tableName: `bench-cost-${prefix.toLowerCase()}`,
      queueName: `bench-cost-${prefix.toLowerCase()}`,
      port: 0,
      merchant,
      // The sweep runs on a schedule whatever the traffic (a fixed cost, not a payment's).
      sweepIntervalMs: 0,
      env: { ...COST_RUN_ENV },
      createHandlers: (settings, overrides) => meter.wrap(settings, overrides),
      log: options.log,
    });
    const running = stack;
    // The bench's own look at the table goes straight to DynamoDB Local, past the counters.
    const store = new DynamoDbOrderStore({
      tableName: running.tableName,
      client: DynamoDBDocumentClient.from(directDynamoDb, { marshallOptions: { removeUndefinedValues: true } }),
    });

    const runPhase = async (
      label: string,
      count: number,
      pay: boolean,
      want: OrderStatus,
      timeoutMs: number,
      createConcurrency: number,
    ): Promise<PhaseCounts> => {
      const nos = outTradeNos(`${prefix}${pay ? 'P' : 'E'}`, count);
      await sleep(300);
      meter.reset();
      for (const p of proxies) p.reset();
      const logBytesBefore = options.loggedBytes();
      const loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
      const started = performance.now();
      const paying = pay ? ' and paying each at the simulator' : '';
      options.progress(
        `part 4: ${label}: creating ${count} orders through ${routeKey(createOrder)}${paying}, ` +
          `${createConcurrency} at once`,
      );
      await runPool(nos, createConcurrency, async (no) => {
        const created = await http.send(
          `${running.gatewayUrl}${routePath(createOrder)}`,
          createOrder.method,
          JSON.stringify(createOrderBody(no)),
          'application/json',
        );
        if (created.status !== 201)
          throw new Error(`${routeKey(createOrder)} answered ${created.status}: ${created.text.slice(0, 300)}`);
        if (pay) {
          // The payer, not the merchant: straight to the simulator, past the WeChat counter.
          const paid = await http.send(
            `${simulator.url}/sandbox/orders/${no}/pay`,
            'POST',
            JSON.stringify({ result: 'SUCCESS' }),
            'application/json',
          );
          if (paid.status !== 200)
            throw new Error(`the simulator refused to pay ${no}: ${paid.status} ${paid.text.slice(0, 300)}`);
        }
      });
      options.progress(
        `part 4: ${label}: waiting for ${count} orders to be ${want} and for the reconcile queue to drain`,
      );
      const deadline = Date.now() + timeoutMs;
      let completed = 0;
      let quietSince: number | undefined;
      for (;;) {
        completed = 0;
        await runPool(nos, 16, async (no) => {
          if ((await store.get(no))?.status === want) completed += 1;
        });
        const idle = completed === count && meter.inFlight() === 0 && (await queueIsEmpty(directSqs, running.queueUrl));
        if (idle) {
          quietSince ??= Date.now();
          // A batch's delete follows its invocation; a quiet second lets the last one land.
          if (Date.now() - quietSince >= 1500) break;
        } else quietSince = undefined;
        if (Date.now() > deadline) {
          options.progress(`part 4: ${label}: gave up waiting: ${completed}/${count} ${want}`);
          break;
        }
        await sleep(500);
      }
      loopDelay.disable();
      const ms = (ns: number) => ns / 1e6;
      return {
        orders: count,
        completed,
        seconds: (performance.now() - started) / 1000,
        lambda: meter.snapshot(),
        dynamodb: dynamodbProxy.tally(),
        sqs: sqsProxy.tally(),
        wechat: wechatProxy.tally(),
        handlerLogBytes: options.loggedBytes() - logBytesBefore,
        eventLoopDelayMs: {
          mean: ms(loopDelay.mean),
          p50: ms(loopDelay.percentile(50)),
          p99: ms(loopDelay.percentile(99)),
          max: ms(loopDelay.max),
        },
        createConcurrency,
      };
    };

    const phase = (counts: PhaseCounts): PhaseResult => {
      const perOrder = perOrderOf(counts);
      const usage = usageOf(counts, perOrder);
      return { counts, perOrder, usage, costPerMillion: costPerMillion(usage) };
    };
    const expiredPhase = (counts: PhaseCounts): PhaseResult => {
      const measured = phase(counts);
      const modelled = modelHops(counts, PRODUCTION_EARLY_HOPS_PER_EXPIRED_ORDER);
      const usage = withHops(measured.usage, modelled);
      return {
        ...measured,
        usage,
        costPerMillion: costPerMillion(usage),
        modelled,
        measuredCostPerMillion: measured.costPerMillion,
      };
    };
    const paid = phase(await runPhase('paid', options.paid, true, 'PAID', 60_000, options.concurrency));
    const expired =
      options.expired > 0
        ? expiredPhase(await runPhase('expired', options.expired, false, 'CLOSED', 180_000, options.expiredConcurrency))
        : null;
    return {
      paid,
      expired,
      prices: PRICES,
      assumptions: [
        `prices: ${PRICES.region} list prices as of ${PRICES.asOf}, on-demand, beyond the free tiers`,
        `memory as the stack configures it: ${Object.entries(MEMORY_MB)
          .map(([n, mb]) => `${n} ${mb} MB`)
          .join(', ')}`,
        'duration: each handler invocation as timed here (loopback DynamoDB Local and simulator), ' +
          'rounded up to 1 ms; warm containers, no cold starts',
        'Lambda invocations counted as the stack serves them: one per API request, one per notification, ' +
          `one per SQS batch (up to ${RECONCILE_BATCH_SIZE} checks)`,
        'API Gateway (HTTP API) bills the orders API only; ' +
          'the notify endpoint is a Lambda Function URL (no extra charge)',
        'DynamoDB units as DynamoDB Local reports them (ReturnConsumedCapacity TOTAL, index writes included); ' +
          'reads are strongly consistent',
        'SQS: sends, receives that returned messages, and deletes; ' +
          "the event source's empty long polls are a fixed cost per queue and are not counted per order",
        `logs: what the handlers wrote, plus ${PLATFORM_LOG_BYTES_PER_INVOCATION} bytes ` +
          'of START/END/REPORT per invocation',
        'paid orders: the payer pays at once, before the first check ' +
          `(due 1 s after creation here, ${FIRST_CHECK_SECONDS} s in production)`,
        `expired orders: PREPAY_TTL_SECONDS=${COST_RUN_ENV.PREPAY_TTL_SECONDS}, ` +
          `RECONCILE_SCHEDULE=${COST_RUN_ENV.RECONCILE_SCHEDULE} (derived from ${DEFAULT_RECONCILE_SCHEDULE}: ` +
          `the ${PRODUCTION_CHECKS_PER_EXPIRED_ORDER} queries it makes over ${PRODUCTION_PREPAY_TTL_SECONDS} s, ` +
          'the one at expiry included), ' +
          `CLOSE_MIN_AGE_SECONDS=${COST_RUN_ENV.CLOSE_MIN_AGE_SECONDS}, simulator time scale ${SIMULATOR_TIME_SCALE}`,
        `expired orders, modelled: production's waits beyond SQS's 15-minute delay add ` +
          `${PRODUCTION_EARLY_HOPS_PER_EXPIRED_ORDER} messages per order that arrive early and are sent round ` +
          '(no read, no query); each is priced as a SendMessage, the phase’s receives, deletes and invocations ' +
          'per message, and the Lambda time of the phase’s mean SendMessage, and is included in its cost',
        `expired orders are created ${options.expiredConcurrency} at a time ` +
          `(paid ones ${options.concurrency}), so a create's duration is its own work and I/O ` +
          "rather than its wait behind the others' on this process's one event loop and DynamoDB Local " +
          '(which also made checks late, fewer than the schedule makes); it spreads the checks, so batches ' +
          'are smaller: more invocations and SQS requests, not fewer',
        'not counted: the sweep (every 5 minutes whatever the traffic), Secrets Manager (one read per cold start), ' +
          'CloudWatch alarms, storage, data transfer',
      ],
    };
  } finally {
    http.close();
    await stack?.stop().catch((error: unknown) => options.log(`stack stop: ${(error as Error).message}`));
    for (const p of proxies) await p.close();
    await simulator.close();
    directDynamoDb.destroy();
    directSqs.destroy();
  }
}
