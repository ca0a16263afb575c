import { randomBytes } from 'node:crypto';

import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';

import { localDynamoDbClient, localSqsClient } from '#sandbox/local/resources';
import { startLocalStack, webhookQueueNames } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { eventPartition, EVENT_SORT_KEY, ORDER_SORT_KEY, orderPartition } from '#shared/adapters/table-schema';
import { APP_BACKEND_ROUTES, routePath } from '#shared/app/routes';
import { eventIdOf } from '#shared/domain/events';
import { classifyDynamoDb, classifySqs, consumedCapacity, operationOf, withConsumedCapacity } from './aws-classify';
import { lambdaMeter, MEMORY_MB, queueIsEmpty } from './cost-per-payment';
import { type CountingProxy, startCountingProxy } from './counting-proxy';
import { httpClient, runPool } from './load';
import { type LocalServers, runOnLocalServers } from './local-servers';
import { type Cost, costPerMillion, PLATFORM_LOG_BYTES_PER_INVOCATION, type UsagePerOrder } from './prices';
import { createOrderBody, outTradeNos, runPrefix } from './seed-orders';
import { mean, percentile } from './stats';
import { type ReceivedWebhook, startWebhookReceiver } from './verifying-receiver';
import { runIfEntryPoint } from './script-entry';

/**
 * What one event to the app backend costs, and what the other design would have cost.
 *
 * N orders are created and paid through the local stack (their own writes are the payment's, not the
 * event's); each payment's status change reaches the table's stream, the events handler records a
 * `payment.succeeded` (the event item and its events-index entry) and queues it, and the webhooks
 * handler POSTs it to a loopback receiver that verifies it with the `standardwebhooks` library. Counted
 * per event: the DynamoDB writes of the event items (requests and write units as DynamoDB Local reports
 * them with ReturnConsumedCapacity, the index included), the events and webhooks handler invocations,
 * and the delivery latency from the event's created_at (the status change) to the receiver.
 *
 * The outbox comparison (issue 13: "measure the write cost of each"): every real PENDING → PAID
 * UpdateItem the run made is captured at the proxy and replayed on a copy of the order as it stood
 * before it, once alone (today's single conditional write) and once as a TransactWriteItems with a
 * put of a copy of the real event item (the outbox). Both report their consumed capacity.
 *
 * Bench part 8 (`npm run bench -- --parts=event`) runs it and prices it per million events;
 * `npx tsx bench/cost-per-event.ts [orders] [--json]` (default 50 orders) runs it alone.
 */

export interface EventCostResult {
  orders: number;
  events: number;
  seconds: number;
  /** Per event: DynamoDB requests that wrote an event item, and their write units (table + index). */
  eventWriteRequests: number;
  eventWriteUnits: number;
  /** Per event: DynamoDB requests that read event items, and their read units. */
  eventReadRequests: number;
  eventReadUnits: number;
  /** The same units as DynamoDB Local splits them, when it does (undefined otherwise). */
  eventWriteUnitsTable: number | undefined;
  eventWriteUnitsIndexes: number | undefined;
  /** Per event: invocations of the events handler, of the webhooks handler, and both. */
  eventsInvocationsPerEvent: number;
  webhooksInvocationsPerEvent: number;
  invocationsPerEvent: number;
  /** Mean duration of one invocation of each (ms, in process). */
  eventsHandlerMeanMs: number;
  /** Stream records (order and refund changes) per events invocation, and SQS messages per webhooks invocation. */
  recordsPerEventsInvocation: number;
  messagesPerWebhooksInvocation: number;
  webhooksHandlerMeanMs: number;
  /** Per event: billed Lambda milliseconds of the events and webhooks handlers (each invocation rounded up). */
  eventsBilledMsPerEvent: number;
  webhooksBilledMsPerEvent: number;
  /** Per event: WeChat Pay calls the event's delivery made (none: the payment's own are the payment's). */
  wechatCallsPerEvent: number;
  /** What one event used, and its price per million events (part 4's costPerMillion). */
  usage: UsagePerOrder;
  costPerMillion: Cost;
  /** Per event: requests to the webhook queue (send, receive with messages, delete, visibility), and by operation. */
  sqsRequestsPerEvent: number;
  sqsByOpPerEvent: Record<string, number>;
  /** DynamoDB Streams API requests of the whole phase (the local poller; Lambda's own in AWS, not billed). */
  streamRequests: number;
  /** Webhook POSTs the receiver got (one each, unless something failed). */
  webhookAttempts: number;
  /** From the status change (created_at) to the receiver's receipt of the first attempt. */
  latencyMs: Spread;
  /** Its two parts: status change → event recorded (the stream and the events handler) … */
  recordLatencyMs: Spread;
  /** … and recorded → received (the webhook queue and the webhooks handler). */
  queueLatencyMs: Spread;
  outbox: OutboxComparison;
}

export interface Spread {
  p50: number;
  p99: number;
  max: number;
}

function spread(samples: readonly number[]): Spread {
  if (samples.length === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN };
  return { p50: percentile(samples, 50), p99: percentile(samples, 99), max: Math.max(...samples) };
}

export interface OutboxComparison {
  samples: number;
  /** Mean write units of today's transition (one conditional UpdateItem). */
  updateUnits: number;
  /** Mean write units of the same update and the event put in one TransactWriteItems. */
  transactionUnits: number;
  /** What the outbox adds to the transition: transactionUnits − updateUnits. */
  outboxExtraUnits: number;
  /** What the stream design adds instead: the event item's own put (measured above). */
  streamExtraUnits: number;
  /** Whether DynamoDB Local reported capacity for the transactions at all. */
  transactionCapacityReported: boolean;
}

/** What the proxy learns about event items and transitions beyond the counting proxy's tally. */
interface EventWrites {
  requests: number;
  units: number;
  readRequests: number;
  readUnits: number;
  unitsTable?: number;
  unitsIndexes?: number;
  streamRequests: number;
  webhookQueueRequests: number;
  webhookQueueByOp: Record<string, number>;
  /** Real PENDING → PAID UpdateItem requests, as sent (DynamoDB JSON), for the outbox replay. */
  transitions: UpdateItemCommandInput[];
}

const isEventItem = (body: string) => body.includes(`"pk":{"S":"${eventPartition('')}`);

function isEventPut(op: string | undefined, body: string): boolean {
  return op === 'PutItem' && isEventItem(body);
}

/** A read of event items (the events list, a cursor's page); the payment's order reads are not the event's. */
function isEventRead(op: string | undefined, body: string): boolean {
  return (op === 'GetItem' || op === 'Query' || op === 'BatchGetItem') && isEventItem(body);
}

function isPaidTransition(op: string | undefined, body: string): UpdateItemCommandInput | undefined {
  if (op !== 'UpdateItem') return undefined;
  const request = JSON.parse(body) as UpdateItemCommandInput;
  const sk = request.Key?.sk?.S;
  const values = JSON.stringify(request.ExpressionAttributeValues ?? {});
  return sk === ORDER_SORT_KEY && values.includes('{"S":"PAID"}') ? request : undefined;
}

const webhookIdOf = (attempt: ReceivedWebhook) => attempt.headers['webhook-id'] ?? '';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A copy of an item under another partition key (and, for an event, another index position). */
function copyItem(item: Record<string, AttributeValue>, pk: string): Record<string, AttributeValue> {
  const copy: Record<string, AttributeValue> = { ...item, pk: { S: pk } };
  const sortKey = item.eventsSortKey?.S;
  if (sortKey !== undefined) copy.eventsSortKey = { S: `${sortKey}#${pk}` };
  return copy;
}

/**
 * Replays each captured transition on a copy of the order as it stood before it: alone, then in one
 * transaction with a copy of the real event item; both with ReturnConsumedCapacity TOTAL.
 */
async function compareWithOutbox(
  dynamodb: DynamoDBClient,
  tableName: string,
  samples: Array<{
    before: Record<string, AttributeValue>;
    update: UpdateItemCommandInput;
    event: Record<string, AttributeValue>;
  }>,
  streamExtraUnits: number,
): Promise<OutboxComparison> {
  const updateUnits: number[] = [];
  const transactionUnits: number[] = [];
  let transactionCapacityReported = true;
  for (const [i, sample] of samples.entries()) {
    const tag = `OUTBOX${Date.now().toString(36)}${i}`;
    // The transition as the store wrote it, on the copy: its expressions and values, nothing else.
    const asUpdate = (pk: string) => ({
      TableName: tableName,
      Key: { ...sample.update.Key, pk: { S: pk } },
      UpdateExpression: sample.update.UpdateExpression,
      ConditionExpression: sample.update.ConditionExpression,
      ExpressionAttributeNames: sample.update.ExpressionAttributeNames,
      ExpressionAttributeValues: sample.update.ExpressionAttributeValues,
    });
    const single = orderPartition(`${tag}A`);
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: copyItem(sample.before, single) }));
    const alone = await dynamodb.send(new UpdateItemCommand({ ...asUpdate(single), ReturnConsumedCapacity: 'TOTAL' }));
    updateUnits.push(alone.ConsumedCapacity?.CapacityUnits ?? 1);

    const outboxed = orderPartition(`${tag}B`);
    await dynamodb.send(new PutItemCommand({ TableName: tableName, Item: copyItem(sample.before, outboxed) }));
    const eventCopy = copyItem(sample.event, eventPartition(`evt_${randomBytes(16).toString('hex')}`));
    const both = await dynamodb.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Update: asUpdate(outboxed) },
          {
            Put: {
              TableName: tableName,
              Item: eventCopy,
              ConditionExpression: 'attribute_not_exists(pk)',
            },
          },
        ],
        ReturnConsumedCapacity: 'TOTAL',
      }),
    );
    const reported = (both.ConsumedCapacity ?? []).reduce((s, c) => s + (c.CapacityUnits ?? 0), 0);
    if ((both.ConsumedCapacity ?? []).length === 0) transactionCapacityReported = false;
    transactionUnits.push(reported);
  }
  // No transition captured (a failed run): nothing to compare, reported as 0.
  const update = samples.length === 0 ? 0 : mean(updateUnits);
  const transaction = samples.length === 0 ? 0 : mean(transactionUnits);
  return {
    samples: samples.length,
    updateUnits: update,
    transactionUnits: transaction,
    outboxExtraUnits: transaction - update,
    streamExtraUnits,
    transactionCapacityReported,
  };
}

export async function runCostPerEvent(
  servers: LocalServers,
  count: number,
  log: (line: string) => void,
): Promise<EventCostResult> {
  const prefix = runPrefix('EV');
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const receiver = await startWebhookReceiver({ secret });
  const meter = lambdaMeter();
  const directDynamoDb = localDynamoDbClient(servers.dynamodbEndpoint);
  const directSqs = localSqsClient(servers.sqsEndpoint);
  const http = httpClient(16);
  const proxies: CountingProxy[] = [];
  const writes: EventWrites = {
    requests: 0,
    units: 0,
    readRequests: 0,
    readUnits: 0,
    streamRequests: 0,
    webhookQueueRequests: 0,
    webhookQueueByOp: {},
    transitions: [],
  };
  let counting = false;
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    const dynamodbProxy = await startCountingProxy({
      upstream: servers.dynamodbEndpoint,
      classify: (e) => {
        const target = e.headers['x-amz-target'] as string | undefined;
        const op = operationOf(target);
        if (counting) {
          if (target?.startsWith('DynamoDBStreams_')) writes.streamRequests += 1;
          if (isEventPut(op, e.requestBody) && e.status === 200) {
            const c = consumedCapacity(e.responseBody);
            writes.requests += 1;
            // A put refused by its condition reports nothing, yet is billed a unit.
            writes.units += c.total ?? 1;
            if (c.table !== undefined) writes.unitsTable = (writes.unitsTable ?? 0) + c.table;
            if (c.indexes !== undefined) writes.unitsIndexes = (writes.unitsIndexes ?? 0) + c.indexes;
          }
          if (isEventRead(op, e.requestBody) && e.status === 200) {
            writes.readRequests += 1;
            writes.readUnits += consumedCapacity(e.responseBody).total ?? 0;
          }
          const transition = e.status === 200 ? isPaidTransition(op, e.requestBody) : undefined;
          if (transition !== undefined) writes.transitions.push(transition);
        }
        return classifyDynamoDb(target, e.responseBody);
      },
      // INDEXES: the total as TOTAL gives it, and its split between the table and each index.
      rewriteBody: (headers, body) =>
        withConsumedCapacity(headers['x-amz-target'] as string | undefined, body, 'INDEXES'),
    });
    const name = `bench-event-${prefix.toLowerCase()}`;
    const webhookQueueName = webhookQueueNames(name).queueName;
    const sqsProxy = await startCountingProxy({
      upstream: servers.sqsEndpoint,
      classify: (e) => {
        const c = classifySqs(e.headers['x-amz-target'] as string | undefined, e.responseBody);
        // The webhook queue's own traffic (its idle long polls apart); the reconcile queue's is the payment's.
        if (counting && e.requestBody.includes(webhookQueueName) && c.kind !== 'receive-empty') {
          writes.webhookQueueRequests += 1;
          writes.webhookQueueByOp[c.op] = (writes.webhookQueueByOp[c.op] ?? 0) + 1;
        }
        return c;
      },
    });
    proxies.push(dynamodbProxy, sqsProxy);
    stack = await startLocalStack({
      dynamodbEndpoint: dynamodbProxy.url,
      sqsEndpoint: sqsProxy.url,
      tableName: name,
      queueName: name,
      port: 0,
      simulatorPort: 0,
      merchant: SANDBOX_MERCHANT,
      sweepIntervalMs: 0,
      env: {
        LOG_LEVEL: 'WARN',
        MERCHANT_WEBHOOK_URL: receiver.url,
        MERCHANT_WEBHOOK_SECRET: secret,
        WEBHOOK_RETRY_SCHEDULE: '1,1,1',
      },
      createHandlers: (settings, overrides) => meter.wrap(settings, overrides),
      log: () => undefined,
    });
    const running = stack;
    const simulatorUrl = running.simulatorUrl;
    if (simulatorUrl === undefined) throw new Error('the bench stack has no simulator');
    const post = async (url: string, body: unknown, want: number): Promise<void> => {
      const answer = await http.send(url, 'POST', JSON.stringify(body), 'application/json');
      if (answer.status !== want)
        throw new Error(`POST ${url} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
    };

    const nos = outTradeNos(prefix, count);
    // Counted from the orders' creation: the events handler reads every change of an order (its creation
    // too, which makes no event), so what it costs per event is over the order's whole life.
    meter.reset();
    for (const p of proxies) p.reset();
    counting = true;
    log(`event bench: creating ${count} orders`);
    await runPool(nos, 8, async (no) => {
      await post(`${running.gatewayUrl}${routePath(APP_BACKEND_ROUTES.createOrder)}`, createOrderBody(no), 201);
    });
    // Each order as it stands before its payment: the outbox replay starts from these.
    const before = new Map<string, Record<string, AttributeValue>>();
    await runPool(nos, 8, async (no) => {
      const { Item } = await directDynamoDb.send(
        new GetItemCommand({
          TableName: running.tableName,
          Key: { pk: { S: orderPartition(no) }, sk: { S: ORDER_SORT_KEY } },
          ConsistentRead: true,
        }),
      );
      if (Item === undefined) throw new Error(`order ${no} is not in the table`);
      before.set(no, Item);
    });
    const started = performance.now();
    log(`event bench: paying ${count} orders; each payment.succeeded goes to the receiver`);
    await runPool(nos, 8, async (no) => {
      await post(`${simulatorUrl}/sandbox/orders/${no}/pay`, { result: 'SUCCESS' }, 200);
    });
    const ids = new Map(nos.map((no) => [eventIdOf({ outTradeNo: no }, 'payment.succeeded'), no]));
    const ours = () => receiver.attempts.filter((a) => a.verified && ids.has(webhookIdOf(a)));
    const deliveredIds = () => new Set(ours().map(webhookIdOf));
    try {
      await receiver.waitFor(() => deliveredIds().size >= count, 120_000);
    } catch (error) {
      log(`event bench: ${(error as Error).message.split('\n')[0] ?? ''}`);
    }
    // Let the queue drain and the handlers finish, so what they do after the POST is counted too.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const webhookQueue = running.webhookQueueUrl;
      if (meter.inFlight() === 0 && (webhookQueue === undefined || (await queueIsEmpty(directSqs, webhookQueue))))
        break;
      await sleep(250);
    }
    await sleep(1_500);
    counting = false;
    const seconds = (performance.now() - started) / 1000;

    // The first verified receipt of each of the run's events: every verified request is answered 204.
    const firstReceipt = new Map<string, { at: number; createdAt: string }>();
    for (const a of ours()) {
      if (firstReceipt.has(webhookIdOf(a))) continue;
      // A verified body is the event's JSON; created_at is its status change.
      const { created_at: createdAt } = JSON.parse(a.body) as { created_at?: unknown };
      firstReceipt.set(webhookIdOf(a), { at: a.at, createdAt: typeof createdAt === 'string' ? createdAt : '' });
    }
    const latencies = [...firstReceipt.values()].map((e) => e.at - Date.parse(e.createdAt));
    const events = firstReceipt.size;
    const per = (x: number) => x / Math.max(events, 1);

    log(`event bench: replaying ${writes.transitions.length} transitions alone and as an outbox transaction`);
    // The event items as recorded: the outbox replay puts copies of them, and their recordedAt splits
    // the latency into the stream's part and the queue's.
    const eventItems = new Map<string, Record<string, AttributeValue>>();
    await runPool(nos, 8, async (no) => {
      const { Item } = await directDynamoDb.send(
        new GetItemCommand({
          TableName: running.tableName,
          Key: {
            pk: { S: eventPartition(eventIdOf({ outTradeNo: no }, 'payment.succeeded')) },
            sk: { S: EVENT_SORT_KEY },
          },
        }),
      );
      if (Item !== undefined) eventItems.set(no, Item);
    });
    const recordLags: number[] = [];
    const queueLags: number[] = [];
    for (const item of eventItems.values()) {
      const id = item.pk?.S?.slice(eventPartition('').length) ?? '';
      const recordedAt = Date.parse(item.recordedAt?.S ?? '');
      const createdAt = Date.parse(item.createdAt?.S ?? '');
      const receipt = firstReceipt.get(id)?.at;
      if (Number.isNaN(recordedAt) || Number.isNaN(createdAt) || receipt === undefined) continue;
      recordLags.push(recordedAt - createdAt);
      queueLags.push(receipt - recordedAt);
    }
    const samples: Parameters<typeof compareWithOutbox>[2] = [];
    for (const update of writes.transitions) {
      const no = nos.find((candidate) => orderPartition(candidate) === update.Key?.pk?.S);
      const prior = no === undefined ? undefined : before.get(no);
      const event = no === undefined ? undefined : eventItems.get(no);
      if (prior !== undefined && event !== undefined) samples.push({ before: prior, update, event });
    }
    const eventWriteUnits = per(writes.units);
    const outbox = await compareWithOutbox(directDynamoDb, running.tableName, samples, eventWriteUnits);
    const invoked = meter.snapshot();
    const functions = (['events', 'webhooks'] as const).map((fn) => ({
      name: fn,
      invocations: per(invoked[fn].invocations),
      billedMs: per(invoked[fn].billedMs),
      memoryMb: MEMORY_MB[fn],
    }));
    const invocationsPerEvent = per(invoked.events.invocations + invoked.webhooks.invocations);
    const usage: UsagePerOrder = {
      functions,
      apiGatewayRequests: 0,
      dynamodbReadUnits: per(writes.readUnits),
      dynamodbWriteUnits: eventWriteUnits,
      sqsRequests: per(writes.webhookQueueRequests),
      // The handlers log at WARN here, and their lines cannot be told from the payment's: Lambda's own only.
      logBytes: invocationsPerEvent * PLATFORM_LOG_BYTES_PER_INVOCATION,
    };

    return {
      orders: count,
      events,
      seconds,
      eventWriteRequests: per(writes.requests),
      eventWriteUnits,
      eventReadRequests: per(writes.readRequests),
      eventReadUnits: per(writes.readUnits),
      eventWriteUnitsTable: writes.unitsTable === undefined ? undefined : per(writes.unitsTable),
      eventWriteUnitsIndexes: writes.unitsIndexes === undefined ? undefined : per(writes.unitsIndexes),
      eventsInvocationsPerEvent: per(invoked.events.invocations),
      webhooksInvocationsPerEvent: per(invoked.webhooks.invocations),
      invocationsPerEvent,
      eventsBilledMsPerEvent: per(invoked.events.billedMs),
      webhooksBilledMsPerEvent: per(invoked.webhooks.billedMs),
      wechatCallsPerEvent: 0,
      usage,
      costPerMillion: costPerMillion(usage),
      eventsHandlerMeanMs: invoked.events.meanMs,
      recordsPerEventsInvocation: meter.records('events') / Math.max(invoked.events.invocations, 1),
      messagesPerWebhooksInvocation: meter.records('webhooks') / Math.max(invoked.webhooks.invocations, 1),
      webhooksHandlerMeanMs: invoked.webhooks.meanMs,
      sqsRequestsPerEvent: per(writes.webhookQueueRequests),
      sqsByOpPerEvent: Object.fromEntries(Object.entries(writes.webhookQueueByOp).map(([op, k]) => [op, per(k)])),
      streamRequests: writes.streamRequests,
      webhookAttempts: receiver.attempts.length,
      latencyMs: spread(latencies),
      recordLatencyMs: spread(recordLags),
      queueLatencyMs: spread(queueLags),
      outbox,
    };
  } finally {
    http.close();
    await stack?.stop().catch((error: unknown) => log(`stack stop: ${(error as Error).message}`));
    for (const p of proxies) await p.close();
    await receiver.close();
    directDynamoDb.destroy();
    directSqs.destroy();
  }
}

const round = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? null : Math.round(x * 100) / 100);

/** The JSON form: snake_case keys, stable from run to run. */
export function eventCostJson(r: EventCostResult): Record<string, unknown> {
  return {
    event_write_units: round(r.eventWriteUnits),
    event_write_requests: round(r.eventWriteRequests),
    invocations_per_event: round(r.invocationsPerEvent),
    delivery_latency_p50_ms: round(r.latencyMs.p50),
    delivery_latency_p99_ms: round(r.latencyMs.p99),
    outbox_extra_write_units: round(r.outbox.outboxExtraUnits),
    stream_extra_write_units: round(r.outbox.streamExtraUnits),
    cost_per_million_events_usd: round(r.costPerMillion.total),
    detail: {
      orders: r.orders,
      events: r.events,
      seconds: round(r.seconds),
      event_write_units_table: round(r.eventWriteUnitsTable),
      event_write_units_indexes: round(r.eventWriteUnitsIndexes),
      event_read_requests: round(r.eventReadRequests),
      event_read_units: round(r.eventReadUnits),
      wechat_calls_per_event: r.wechatCallsPerEvent,
      lambda_billed_ms_per_event: {
        events: round(r.eventsBilledMsPerEvent),
        webhooks: round(r.webhooksBilledMsPerEvent),
      },
      cost_breakdown_usd: Object.fromEntries(
        Object.entries(r.costPerMillion.byService).map(([k, v]) => [k, Math.round(v * 1000) / 1000]),
      ),
      events_invocations_per_event: round(r.eventsInvocationsPerEvent),
      webhooks_invocations_per_event: round(r.webhooksInvocationsPerEvent),
      events_handler_mean_ms: round(r.eventsHandlerMeanMs),
      records_per_events_invocation: round(r.recordsPerEventsInvocation),
      messages_per_webhooks_invocation: round(r.messagesPerWebhooksInvocation),
      webhooks_handler_mean_ms: round(r.webhooksHandlerMeanMs),
      sqs_requests_per_event: round(r.sqsRequestsPerEvent),
      stream_requests: r.streamRequests,
      webhook_attempts: r.webhookAttempts,
      delivery_latency_max_ms: round(r.latencyMs.max),
      record_latency_p50_ms: round(r.recordLatencyMs.p50),
      record_latency_p99_ms: round(r.recordLatencyMs.p99),
      queue_latency_p50_ms: round(r.queueLatencyMs.p50),
      queue_latency_p99_ms: round(r.queueLatencyMs.p99),
      outbox_samples: r.outbox.samples,
      transition_update_write_units: round(r.outbox.updateUnits),
      outbox_transaction_write_units: round(r.outbox.transactionUnits),
      outbox_transaction_capacity_reported: r.outbox.transactionCapacityReported,
    },
  };
}

const costLine = (cost: Cost) =>
  Object.entries(cost.byService)
    .map(([k, v]) => `${k} $${(Math.round(v * 100) / 100).toFixed(2)}`)
    .join(', ');

export function renderEventCost(r: EventCostResult): string {
  const n = (x: number | undefined) => String(round(x) ?? 'n/a');
  const byOp = (ops: Record<string, number>) =>
    Object.entries(ops)
      .map(([op, k]) => `${op} ${n(k)}`)
      .join(', ');
  const split =
    r.eventWriteUnitsTable === undefined
      ? ''
      : ` (table ${n(r.eventWriteUnitsTable)}, index ${n(r.eventWriteUnitsIndexes ?? 0)})`;
  const ms = (x: Spread) => `p50 ${n(x.p50)} ms, p99 ${n(x.p99)} ms, max ${n(x.max)} ms`;
  const invocations =
    `events ${n(r.eventsInvocationsPerEvent)}: ${n(r.recordsPerEventsInvocation)} records ` +
    `in ${n(r.eventsHandlerMeanMs)} ms; webhooks ${n(r.webhooksInvocationsPerEvent)}: ` +
    `${n(r.messagesPerWebhooksInvocation)} messages in ${n(r.webhooksHandlerMeanMs)} ms`;
  const unreported = r.outbox.transactionCapacityReported ? '' : ' (not reported by DynamoDB Local)';
  const extra = `outbox ${n(r.outbox.outboxExtraUnits)} WCU, stream (event put) ${n(r.outbox.streamExtraUnits)} WCU`;
  return [
    `events: ${r.events} of ${r.orders} paid orders delivered ${n(r.seconds)} s after the first payment; per event:`,
    `  DynamoDB writes        ${n(r.eventWriteRequests)} requests, ${n(r.eventWriteUnits)} WCU${split}`,
    `  Lambda invocations     ${n(r.invocationsPerEvent)} (${invocations})`,
    `  DynamoDB reads         ${n(r.eventReadRequests)} requests of event items, ${n(r.eventReadUnits)} RCU`,
    `  SQS requests           ${n(r.sqsRequestsPerEvent)} to the webhook queue (${byOp(r.sqsByOpPerEvent)})`,
    `  WeChat Pay calls       ${r.wechatCallsPerEvent}`,
    `  cost per million       $${n(r.costPerMillion.total)} (${costLine(r.costPerMillion)})`,
    `  delivery latency       ${ms(r.latencyMs)} (status change → receiver)`,
    `    status change → event recorded   ${ms(r.recordLatencyMs)} (stream poll, events handler)`,
    `    recorded → received              ${ms(r.queueLatencyMs)} (webhook queue, webhooks handler)`,
    `  stream API requests    ${r.streamRequests} in the phase (the local poller; free to Lambda in AWS)`,
    `outbox comparison over ${r.outbox.samples} real transitions:`,
    `  today: one conditional UpdateItem            ${n(r.outbox.updateUnits)} WCU`,
    `  outbox: TransactWriteItems(update + event)   ${n(r.outbox.transactionUnits)} WCU${unreported}`,
    `  extra per transition: ${extra}`,
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const json = args.includes('--json');
  const positional = args.filter((a) => !a.startsWith('--'));
  const count = Number(positional[0] ?? 50);
  if (!Number.isInteger(count) || count < 1) throw new Error('usage: cost-per-event.ts [orders] [--json]');
  await runOnLocalServers(async (servers, progress) => {
    const result = await runCostPerEvent(servers, count, progress);
    return json ? JSON.stringify(eventCostJson(result)) : renderEventCost(result);
  });
}

runIfEntryPoint(import.meta.url, main);
