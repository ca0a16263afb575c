import {
  BatchWriteItemCommand,
  CreateTableCommand,
  type DynamoDBClient,
  UpdateItemCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

import { localDynamoDbClient } from '#sandbox/local/resources';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { delivered, httpClient, runPool, timeRequests } from './load';
import { type LocalServers, startBenchStack } from './local-servers';
import { outTradeNos, paidNotification, pendingOrder, runPrefix } from './seed-orders';
import { mean, ratio, summarizeLatencies, type LatencySummary } from './stats';

/**
 * Part 2: distinct, correctly signed v2 paid notifications POSTed to the local gateway's
 * /notify/pay (the notify Lambda's handler, on DynamoDB Local), then a storm of duplicates of one,
 * against the floor: conditional UpdateItems on distinct items of the same server at the same
 * concurrency. The orders are seeded PENDING straight into the table (see seed-orders.ts).
 */

export interface NotifyOptions {
  orders: number;
  duplicates: number;
  concurrency: number;
  warmup: number;
  progress: (line: string) => void;
  log: (line: string) => void;
}

export interface NotifyResult {
  orders: number;
  concurrency: number;
  seededDirectly: true;
  notify: {
    perSecond: number;
    latencyMs: LatencySummary;
    failures: number;
    paidAfterwards: number;
    /** Share of the run this process's event loop was busy (gateway, handler, SDK and load generator share it). */
    eventLoopUtilization: number;
    /** Event-loop milliseconds per notification: the Node side's CPU cost of one. */
    busyMsPerNotification: number;
  };
  storm: {
    copies: number;
    perSecond: number;
    latencyMs: LatencySummary;
    failures: number;
    paidTransitions: number;
    notificationsRecorded: number;
  };
  floor: { perSecond: number; runs: number[]; refused: number; eventLoopUtilization: number };
  notifyRatio: number | null;
  signedWith: 'MD5';
}

const FLOOR_KEY = 'pk';

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

/** Seeds PENDING items (BatchWriteItem, untimed), then times one conditional UpdateItem per item. */
async function floorRun(
  client: DynamoDBClient,
  tableName: string,
  keys: string[],
  concurrency: number,
): Promise<{ perSecond: number; refused: number; eventLoopUtilization: number }> {
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
    perSecond: keys.length / ((performance.now() - started) / 1000),
    refused,
    eventLoopUtilization: performance.eventLoopUtilization(elu).utilization,
  };
}

export async function runNotifyThroughput(servers: LocalServers, options: NotifyOptions): Promise<NotifyResult> {
  const merchant = SANDBOX_MERCHANT;
  const prefix = runPrefix('BN');
  const stack = await startBenchStack(servers, `bench-notify-${prefix.toLowerCase()}`, options.log);
  const dynamodb = localDynamoDbClient(servers.dynamodbEndpoint);
  const http = httpClient(options.concurrency);
  try {
    const total = options.warmup + options.orders + 1;
    const nos = outTradeNos(prefix, total);
    options.progress(`part 2: seeding ${total} PENDING orders straight into the table`);
    const now = new Date();
    await runPool(nos, options.concurrency, async (no) => {
      const created = await stack.store.create(pendingOrder(no, now));
      if (created.kind !== 'created') throw new Error(`order ${no} already existed`);
    });
    const bodies = nos.map((no, i) => paidNotification(merchant, no, i));
    const post = (body: string) => http.send(stack.notifyUrl, 'POST', body, 'text/xml');

    const floorTable = `bench-floor-${prefix.toLowerCase()}`;
    await createFloorTable(dynamodb, floorTable);
    // Warm both paths (the JVM's JIT, our handler's first-call set-up) before anything is timed.
    options.progress(`part 2: warming up (${options.warmup} notifications, ${options.warmup} floor updates)`);
    await runPool(bodies.slice(0, options.warmup), options.concurrency, async (body) => void (await post(body)));
    await floorRun(dynamodb, floorTable, outTradeNos(`${prefix}W`, options.warmup), options.concurrency);

    // The floor is measured before and after the notifications, so a drift of the machine's load
    // during the run weighs on both sides alike.
    const half = Math.ceil(options.orders / 2);
    options.progress(`part 2: floor, ${half} conditional UpdateItems at concurrency ${options.concurrency}`);
    const floorBefore = await floorRun(dynamodb, floorTable, outTradeNos(`${prefix}A`, half), options.concurrency);

    options.progress(`part 2: ${options.orders} distinct notifications at concurrency ${options.concurrency}`);
    const timed = bodies.slice(options.warmup, options.warmup + options.orders);
    const elu = performance.eventLoopUtilization();
    const notified = await timeRequests(timed, options.concurrency, post, delivered);
    const notifyElu = performance.eventLoopUtilization(elu);

    options.progress(`part 2: floor again, ${half} conditional UpdateItems`);
    const floorAfter = await floorRun(dynamodb, floorTable, outTradeNos(`${prefix}B`, half), options.concurrency);

    let paidAfterwards = 0;
    await runPool(nos.slice(options.warmup, options.warmup + options.orders), options.concurrency, async (no) => {
      if ((await stack.store.get(no))?.status === 'PAID') paidAfterwards += 1;
    });

    options.progress(`part 2: a storm of ${options.duplicates} copies of one notification`);
    const stormNo = nos[total - 1] as string;
    const stormBody = bodies[total - 1] as string;
    const storm = await timeRequests(
      Array.from({ length: options.duplicates }, () => stormBody),
      options.concurrency,
      post,
      delivered,
    );
    const stormOrder = await stack.store.get(stormNo);
    const paidTransitions = stormOrder?.history.filter((h) => h.to === 'PAID').length ?? 0;
    const notificationsRecorded = (await stack.store.listNotifications(stormNo)).length;

    const notifyPerSecond = options.orders / notified.seconds;
    const floorPerSecond = mean([floorBefore.perSecond, floorAfter.perSecond]);
    return {
      orders: options.orders,
      concurrency: options.concurrency,
      seededDirectly: true,
      notify: {
        perSecond: notifyPerSecond,
        latencyMs: summarizeLatencies(notified.latencies),
        failures: notified.failures,
        paidAfterwards,
        eventLoopUtilization: notifyElu.utilization,
        busyMsPerNotification: notifyElu.active / options.orders,
      },
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
        runs: [floorBefore.perSecond, floorAfter.perSecond],
        refused: floorBefore.refused + floorAfter.refused,
        eventLoopUtilization: mean([floorBefore.eventLoopUtilization, floorAfter.eventLoopUtilization]),
      },
      notifyRatio: ratio(notifyPerSecond, floorPerSecond),
      signedWith: 'MD5',
    };
  } finally {
    http.close();
    dynamodb.destroy();
    await stack.stop();
  }
}
