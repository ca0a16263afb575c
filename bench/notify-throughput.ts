import { randomUUID } from 'node:crypto';

import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type DynamoDBClient,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import type { Context, LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

import { createHandlers, type NotifyHandler } from '#shared/app/handlers';
import { NOTIFY_ROUTE } from '#shared/app/routes';
import { createLambdaContext, type LocalFunction } from '#sandbox/local/lambda-context';
import { toFunctionUrlEvent } from '#sandbox/local/lambda-events';
import { ensureTable, localDynamoDbClient } from '#sandbox/local/resources';
import type { LocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { delivered, httpClient, isSuccessReply, type Posted, runPool, timeRequests, type TimedRequests } from './load';
import { type LocalServers, runOnLocalServers, startBenchStack } from './local-servers';
import { runIfEntryPoint } from './script-entry';
import { outTradeNos, paidNotification, pendingOrder, runPrefix } from './seed-orders';
import { ratio, summarizeLatencies, type LatencySummary } from './stats';

/**
 * Part 2: distinct, correctly signed v2 paid notifications handed to the notify handler as deployed
 * (in this process, as Function URL events with a Lambda context: no gateway, as in AWS, where the
 * Function URL is not our code), then the same through the local gateway's /notify/pay, then a storm of
 * duplicates of one, against the floor: conditional UpdateItems on distinct items of the same DynamoDB
 * Local at the same concurrency. The orders are seeded PENDING straight into the table (see
 * seed-orders.ts). CPU time is this process's (process.cpuUsage()), DynamoDB Local's JVM apart.
 */

export interface NotifyOptions {
  orders: number;
  duplicates: number;
  concurrency: number;
  warmup: number;
  progress: (line: string) => void;
  log: (line: string) => void;
}

/** One timed run of distinct notifications. */
export interface NotificationRun {
  perSecond: number;
  latencyMs: LatencySummary;
  failures: number;
  paidAfterwards: number;
  /** Share of the run this process's event loop was busy. */
  eventLoopUtilization: number;
  /** Event-loop milliseconds per notification. */
  busyMsPerNotification: number;
  /** This process's CPU milliseconds (user + system) per notification. */
  cpuMsPerNotification: number;
}

export interface NotifyResult {
  orders: number;
  concurrency: number;
  seededDirectly: true;
  /** The handler as deployed: Function URL events handed to it in process, no gateway. */
  notify: NotificationRun;
  /** The same through the local gateway (HTTP server, event building, load generator in this process). */
  gateway: NotificationRun;
  storm: {
    copies: number;
    perSecond: number;
    latencyMs: LatencySummary;
    failures: number;
    paidTransitions: number;
    notificationsRecorded: number;
  };
  floor: {
    perSecond: number;
    runs: number[];
    refused: number;
    eventLoopUtilization: number;
    /** This process's CPU milliseconds per UpdateItem: the SDK's share of one write. */
    cpuMsPerUpdate: number;
  };
  /** In-process notifications/s ÷ floor UpdateItems/s. */
  notifyRatio: number | null;
  /** Through-the-gateway notifications/s ÷ floor UpdateItems/s. */
  gatewayRatio: number | null;
  signedWith: 'MD5';
}

const FLOOR_KEY = 'pk';

/** CPU milliseconds this process spent since `since`. */
function cpuMsSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
}

async function createFloorTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: FLOOR_KEY, AttributeType: 'S' }],
      KeySchema: [{ AttributeName: FLOOR_KEY, KeyType: 'HASH' }],
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: tableName });
}

interface FloorRun {
  count: number;
  seconds: number;
  refused: number;
  elu: EventLoopUtilization;
  cpuMs: number;
}

/** Seeds PENDING items (BatchWriteItem, untimed), then times one conditional UpdateItem per item. */
async function floorRun(
  client: DynamoDBClient,
  tableName: string,
  keys: string[],
  concurrency: number,
): Promise<FloorRun> {
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += 25) batches.push(keys.slice(i, i + 25));
  await runPool(batches, 8, async (batch) => {
    let items = batch.map((k) => ({ PutRequest: { Item: { [FLOOR_KEY]: { S: k }, status: { S: 'PENDING' } } } }));
    while (items.length > 0) {
      const out = await client.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items } }));
      items = (out.UnprocessedItems?.[tableName] ?? []) as typeof items;
    }
  });
  let refused = 0;
  const started = performance.now();
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  await runPool(keys, concurrency, async (key) => {
    try {
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { [FLOOR_KEY]: { S: key } },
          UpdateExpression: 'SET #s = :paid, paidAt = :at',
          ConditionExpression: '#s = :pending',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':paid': { S: 'PAID' },
            ':pending': { S: 'PENDING' },
            ':at': { S: new Date().toISOString() },
          },
        }),
      );
    } catch (error) {
      if ((error as Error).name !== 'ConditionalCheckFailedException') throw error;
      refused += 1;
    }
  });
  return {
    count: keys.length,
    seconds: (performance.now() - started) / 1000,
    refused,
    elu: performance.eventLoopUtilization(elu),
    cpuMs: cpuMsSince(cpu),
  };
}

/**
 * The part 2 stack (startBenchStack's), with its notify handler kept for in-process invocations. The
 * table's stream is not read: in AWS the events function that reads it runs in containers of its own,
 * and here its work (a write per paid order) would be charged to the notify handler's process.
 */
export async function startNotifyStack(
  servers: LocalServers,
  name: string,
  log: (line: string) => void,
): Promise<{ stack: LocalStack; notify: NotifyHandler }> {
  const dynamodb = localDynamoDbClient(servers.dynamodbEndpoint);
  try {
    await ensureTable(dynamodb, name);
  } finally {
    dynamodb.destroy();
  }
  let notify: NotifyHandler | undefined;
  const stack = await startBenchStack(servers, name, log, {
    skipTableCreation: true,
    // The very handlers the gateway serves, so both runs share one container's state (its warm clients).
    createHandlers: (settings, overrides) => {
      const handlers = createHandlers(settings, overrides);
      notify = handlers.notify;
      return handlers;
    },
  });
  if (notify === undefined) throw new Error('the local stack did not build its handlers');
  return { stack, notify };
}

/**
 * Invokes the notify handler as the Lambda runtime would a Function URL's: the event (built as the
 * local gateway builds it, from the request WeChat's POST would be) and a context of one container (one
 * log stream; a request id and a deadline per invocation). Events are built before the timed run: they
 * are the Lambda service's work, not the function's.
 */
export function inProcessNotifier(notify: NotifyHandler, region: string, notifyUrl: string) {
  const fn: LocalFunction = { functionName: 'notify', timeoutMs: 10_000, region };
  const container = createLambdaContext(fn);
  const contextNow = (): Context => {
    const deadline = Date.now() + fn.timeoutMs;
    return {
      ...container,
      awsRequestId: randomUUID(),
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    };
  };
  const url = new URL(notifyUrl);
  const eventOf = (body: string): LambdaFunctionURLEvent => {
    const bytes = Buffer.from(body, 'utf8');
    return toFunctionUrlEvent(
      {
        method: NOTIFY_ROUTE.method,
        target: NOTIFY_ROUTE.path,
        rawHeaders: ['host', url.host, 'content-type', 'text/xml', 'content-length', String(bytes.length)],
        body: bytes,
        sourceIp: '127.0.0.1',
        protocol: 'HTTP/1.1',
        localPort: Number(url.port),
      },
      { region },
    );
  };
  const send = async (event: LambdaFunctionURLEvent): Promise<Posted> => {
    const started = performance.now();
    let result: LambdaFunctionURLResult;
    try {
      result = await notify(event, contextNow());
    } catch (error) {
      return { status: 500, text: String(error), ms: performance.now() - started };
    }
    const ms = performance.now() - started;
    return typeof result === 'string'
      ? { status: 200, text: result, ms }
      : { status: result.statusCode ?? 200, text: result.body ?? '', ms };
  };
  return { eventOf, send };
}

/** Times `send` over `items`, with the event loop's and the CPU's share. */
async function timedRun<T>(
  items: readonly T[],
  concurrency: number,
  send: (item: T) => Promise<Posted>,
): Promise<{ timed: TimedRequests; elu: EventLoopUtilization; cpuMs: number }> {
  const elu = performance.eventLoopUtilization();
  const cpu = process.cpuUsage();
  const timed = await timeRequests(items, concurrency, send, (answer) => isSuccessReply(answer.status, answer.text));
  return { timed, elu: performance.eventLoopUtilization(elu), cpuMs: cpuMsSince(cpu) };
}

type EventLoopUtilization = ReturnType<typeof performance.eventLoopUtilization>;

async function paidCount(stack: LocalStack, nos: readonly string[], concurrency: number): Promise<number> {
  let paid = 0;
  await runPool(nos, concurrency, async (no) => {
    if ((await stack.store.get(no))?.status === 'PAID') paid += 1;
  });
  return paid;
}

/** Several timed chunks of one kind of notification as one run. */
function notificationRun(
  chunks: ReadonlyArray<{ timed: TimedRequests; elu: EventLoopUtilization; cpuMs: number }>,
  count: number,
  paidAfterwards: number,
): NotificationRun {
  const seconds = chunks.reduce((sum, c) => sum + c.timed.seconds, 0);
  const active = chunks.reduce((sum, c) => sum + c.elu.active, 0);
  const idle = chunks.reduce((sum, c) => sum + c.elu.idle, 0);
  return {
    perSecond: count / seconds,
    latencyMs: summarizeLatencies(chunks.flatMap((c) => c.timed.latencies)),
    failures: chunks.reduce((sum, c) => sum + c.timed.failures, 0),
    paidAfterwards,
    eventLoopUtilization: active / (active + idle),
    busyMsPerNotification: active / count,
    cpuMsPerNotification: chunks.reduce((sum, c) => sum + c.cpuMs, 0) / count,
  };
}

/** `items` in `parts` chunks of (nearly) equal size. */
function chunked<T>(items: readonly T[], parts: number): T[][] {
  return Array.from({ length: parts }, (_, i) =>
    items.slice(Math.floor((i * items.length) / parts), Math.floor(((i + 1) * items.length) / parts)),
  );
}

/**
 * The in-process notifications are timed in this many chunks, each between two chunks of the floor, so
 * a drift of the machine's load (other processes share it) weighs on both sides alike.
 */
const ROUNDS = 4;

export async function runNotifyThroughput(servers: LocalServers, options: NotifyOptions): Promise<NotifyResult> {
  const merchant = SANDBOX_MERCHANT;
  const prefix = runPrefix('BN');
  const { stack, notify } = await startNotifyStack(servers, `bench-notify-${prefix.toLowerCase()}`, options.log);
  const dynamodb = localDynamoDbClient(servers.dynamodbEndpoint);
  const http = httpClient(options.concurrency);
  const { orders, warmup, concurrency } = options;
  try {
    // Warm-up of each path, the in-process run's orders, the gateway run's, and the storm's one.
    const total = 2 * warmup + 2 * orders + 1;
    const nos = outTradeNos(prefix, total);
    options.progress(`part 2: seeding ${total} PENDING orders straight into the table`);
    const now = new Date();
    await runPool(nos, concurrency, async (no) => {
      const created = await stack.store.create(pendingOrder(no, now));
      if (created.kind !== 'created') throw new Error(`order ${no} already existed`);
    });
    const bodies = nos.map((no, i) => paidNotification(merchant, no, i));
    const slice = (start: number, count: number) => ({
      nos: nos.slice(start, start + count),
      bodies: bodies.slice(start, start + count),
    });
    const warmInProcess = slice(0, warmup);
    const warmGateway = slice(warmup, warmup);
    const inProcess = slice(2 * warmup, orders);
    const viaGateway = slice(2 * warmup + orders, orders);
    const stormNo = nos[total - 1] as string;
    const stormBody = bodies[total - 1] as string;

    const direct = inProcessNotifier(notify, stack.region, stack.notifyUrl);
    const post = (body: string) => http.send(stack.notifyUrl, 'POST', body, 'text/xml');

    const floorTable = `bench-floor-${prefix.toLowerCase()}`;
    await createFloorTable(dynamodb, floorTable);
    // Warm every path (the JVM's JIT, our handler's first-call set-up) before anything is timed.
    options.progress(`part 2: warming up (${warmup} notifications each way, ${warmup} floor updates)`);
    await runPool(warmInProcess.bodies.map(direct.eventOf), concurrency, async (e) => void (await direct.send(e)));
    await runPool(warmGateway.bodies, concurrency, async (body) => void (await post(body)));
    await floorRun(dynamodb, floorTable, outTradeNos(`${prefix}W`, warmup), concurrency);

    options.progress(
      `part 2: ${orders} distinct notifications to the handler in process and ${orders} conditional ` +
        `UpdateItems (the floor), in ${ROUNDS} alternating rounds at concurrency ${concurrency}`,
    );
    const floorChunks = chunked(outTradeNos(`${prefix}F`, orders), ROUNDS + 1);
    const eventChunks = chunked(inProcess.bodies.map(direct.eventOf), ROUNDS);
    const floorRuns: FloorRun[] = [];
    const directRuns: Array<Awaited<ReturnType<typeof timedRun>>> = [];
    for (let round = 0; round <= ROUNDS; round += 1) {
      floorRuns.push(await floorRun(dynamodb, floorTable, floorChunks[round] as string[], concurrency));
      const events = eventChunks[round];
      if (events !== undefined) directRuns.push(await timedRun(events, concurrency, direct.send));
    }

    options.progress(`part 2: ${orders} distinct notifications through the local gateway`);
    const gatewayRun = await timedRun(viaGateway.bodies, concurrency, post);

    const directPaid = await paidCount(stack, inProcess.nos, concurrency);
    const gatewayPaid = await paidCount(stack, viaGateway.nos, concurrency);

    options.progress(`part 2: a storm of ${options.duplicates} copies of one notification (gateway)`);
    const storm = await timeRequests(
      Array.from({ length: options.duplicates }, () => stormBody),
      concurrency,
      post,
      delivered,
    );
    const stormOrder = await stack.store.get(stormNo);
    const paidTransitions = stormOrder?.history.filter((h) => h.to === 'PAID').length ?? 0;
    const notificationsRecorded = (await stack.store.listNotifications(stormNo)).length;

    const notifyResult = notificationRun(directRuns, orders, directPaid);
    const gatewayResult = notificationRun([gatewayRun], orders, gatewayPaid);
    const floorCount = floorRuns.reduce((sum, r) => sum + r.count, 0);
    const floorActive = floorRuns.reduce((sum, r) => sum + r.elu.active, 0);
    const floorIdle = floorRuns.reduce((sum, r) => sum + r.elu.idle, 0);
    const floorPerSecond = floorCount / floorRuns.reduce((sum, r) => sum + r.seconds, 0);
    return {
      orders,
      concurrency,
      seededDirectly: true,
      notify: notifyResult,
      gateway: gatewayResult,
      storm: {
        copies: options.duplicates,
        perSecond: options.duplicates / storm.seconds,
        latencyMs: summarizeLatencies(storm.latencies),
        failures: storm.failures,
        paidTransitions,
        notificationsRecorded,
      },
      floor: {
        perSecond: floorPerSecond,
        runs: floorRuns.map((r) => r.count / r.seconds),
        refused: floorRuns.reduce((sum, r) => sum + r.refused, 0),
        eventLoopUtilization: floorActive / (floorActive + floorIdle),
        cpuMsPerUpdate: floorRuns.reduce((sum, r) => sum + r.cpuMs, 0) / floorCount,
      },
      notifyRatio: ratio(notifyResult.perSecond, floorPerSecond),
      gatewayRatio: ratio(gatewayResult.perSecond, floorPerSecond),
      signedWith: 'MD5',
    };
  } finally {
    http.close();
    dynamodb.destroy();
    await stack.stop();
  }
}

/** `tsx bench/notify-throughput.ts [orders]`: part 2 alone, its whole result as JSON. */
runIfEntryPoint(import.meta.url, () =>
  runOnLocalServers(async (servers, progress) => {
    const orders = Number(process.argv[2] ?? 2000);
    const result = await runNotifyThroughput(servers, {
      orders,
      duplicates: Math.ceil(orders / 4),
      concurrency: 32,
      warmup: Math.ceil(orders / 10),
      progress,
      log: () => {},
    });
    return JSON.stringify(result);
  }),
);
