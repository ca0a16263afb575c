import { randomUUID } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, ScheduledEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServiceName } from '#infra/cdk/payment-function';
import { type DynamoDbStreamSource, startDynamoDbStreamSource } from '#sandbox/local/dynamodb-stream-source';
import { type Gateway, startGateway } from '#sandbox/local/gateway';
import { handlerEnvironment } from '#sandbox/local/local-settings';
import { ensureQueues, ensureTable, localStreamsClient, type QueueUrls } from '#sandbox/local/resources';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { type RunningSimulator, startSimulator } from '#sandbox/simulator/server';
import { NOTIFY_ROUTE } from '#shared/app/routes';
import { generateWebhookSecret } from '#shared/webhooks/webhook-secret';
import { localEndpoint, type TestQueues, type TestTable, testQueues, testTable, uniqueName } from '#test/helpers/aws';
import { startWebhookReceiver, type WebhookReceiver } from '#test/helpers/webhook-receiver';
import { waitFor } from '#test/helpers/wait-for';
import {
  type BundleOutcome,
  type DeployedFunction,
  deployedFunctions,
  invokeBundle,
  lambdaNode,
  removeTaskRoots,
  type StackFunctions,
  synthesizeWebhooksFunction,
} from './deployed-bundles';

/**
 * The bundles `cdk synth` wrote to cdk.out, not the TypeScript: each one is run by the Lambda's Node
 * major in a process of its own, against DynamoDB Local, the SQS server and the WeChat Pay simulator.
 * An order is created through the HTTP API event, paid by the simulator's notification through the
 * Function URL event, another is found paid by the reconciler from an SQS event, and a third, whose
 * check was lost, is re-enqueued by the sweep from a schedule event. Then the table's stream feeds the
 * events bundle as the event source mapping would, and the webhooks bundle (synthesized as a stack with
 * a webhook URL bundles it) delivers what it queued, signed, to a receiver that verifies it with the
 * standardwebhooks library. Then a mini program login code from the simulator is exchanged through the
 * orders bundle at the simulator's jscode2session, and user data sealed with that session decrypted.
 * Last, the bills bundle reconciles the day's bill (the payments above) through POST /reconciliations
 * and the day before from the daily rule's event.
 */

const REGION = 'us-east-1';
let functions: StackFunctions & { webhooks: DeployedFunction };
let simulator: RunningSimulator;
let gateway: Gateway;
let queues: TestQueues;
let environment: Record<string, string>;
let orderStore: TestTable['store'];
/** The orders table's stream, which the events bundle is fed from. */
let streamArn: string;
const gatewayLog: string[] = [];
const invocations: Array<{ service: ServiceName; outcome: BundleOutcome }> = [];

async function invoke(service: ServiceName, event: unknown, remainingMs?: number): Promise<unknown> {
  const fn = functions[service];
  // The deployed variables that are plain values, then what the stack's references resolve to here.
  const outcome = await invokeBundle(fn, { ...fn.literalEnvironment, ...environment }, event, remainingMs);
  invocations.push({ service, outcome });
  if (!outcome.ok) throw new Error(`${service} bundle failed: ${outcome.error.message}\n${outcome.logs}`);
  return outcome.result;
}

beforeAll(async () => {
  functions = { ...deployedFunctions(), webhooks: synthesizeWebhooksFunction() };
  const table = await testTable();
  orderStore = table.store;
  // Made with the table: ensureTable, run again, only answers its stream.
  ({ streamArn } = await ensureTable(table.client, table.tableName));
  queues = await testQueues();
  simulator = await startSimulator({ host: '127.0.0.1', port: 0, merchant: SANDBOX_MERCHANT });
  gateway = await startGateway({
    port: 0,
    log: (line) => gatewayLog.push(line),
    ordersFunction: { timeoutMs: functions.orders.timeoutMs },
    notifyFunction: { timeoutMs: functions.notify.timeoutMs },
    billsFunction: { timeoutMs: functions.bills.timeoutMs, memoryMb: functions.bills.memoryMb },
    handlers: {
      orders: async (event, context) => invoke('orders', event, context.getRemainingTimeInMillis()) as never,
      notify: async (event, context) => invoke('notify', event, context.getRemainingTimeInMillis()) as never,
      bills: async (event, context) => invoke('bills', event, context.getRemainingTimeInMillis()),
    },
  });
  environment = {
    ...handlerEnvironment({
      tableName: table.tableName,
      queueUrl: queues.queueUrl,
      notifyUrl: `${gateway.url}${NOTIFY_ROUTE.path}`,
      dynamodbEndpoint: localEndpoint('dynamodbEndpoint'),
      sqsEndpoint: localEndpoint('sqsEndpoint'),
      region: REGION,
      merchant: SANDBOX_MERCHANT,
      wechatpayBaseUrl: simulator.url,
    }),
    // A deployment's own choices, short so the test does not wait: first check after 1 s, and an
    // order counts as lost 1 s after its check was due.
    // The mini program login goes to the same simulator, with the AppSecret it made for the merchant
    // (in AWS the merchant secret's appSecret field).
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_APPSECRET: simulator.miniProgramAppSecret,
    RECONCILE_SCHEDULE: '1',
    SWEEP_GRACE_SECONDS: '1',
    LOG_LEVEL: 'WARN',
  };
}, 60_000);

afterAll(async () => {
  await gateway?.close();
  await simulator?.close();
  queues?.client.destroy();
  if (functions !== undefined) removeTaskRoots(Object.values(functions));
});

async function api(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const res = await fetch(`${gateway.url}${path}`, init);
  const text = await res.text();
  return { status: res.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

function newOrder(outTradeNo: string): Record<string, unknown> {
  return {
    out_trade_no: outTradeNo,
    description: 'bundle test',
    amount: { total: 101 },
    trade_type: 'NATIVE',
    product_id: 'sku1',
    scene_info: { payer_client_ip: '203.0.113.9' },
  };
}

async function createOrder(): Promise<string> {
  const no = `B${Date.now()}${randomUUID().slice(0, 6)}`.slice(0, 32);
  const created = await api('POST', '/orders', newOrder(no));
  expect(created.status, JSON.stringify(created.json)).toBe(201);
  expect(created.json).toMatchObject({ out_trade_no: no, status: 'PENDING' });
  return no;
}

async function statusOf(no: string): Promise<unknown> {
  const view = await api('GET', `/orders/${no}`);
  expect(view.status).toBe(200);
  return view.json.status;
}

async function simulatorCall(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${simulator.url}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  const text = await res.text();
  expect(res.status, text).toBeLessThan(300);
  return text === '' ? {} : (JSON.parse(text) as Record<string, unknown>);
}

/** Receives (and deletes, as the event source mapping does after success) the checks for these orders. */
async function receiveChecks(outTradeNos: string[]): Promise<Message[]> {
  const wanted = new Set(outTradeNos);
  const got: Message[] = [];
  const deadline = Date.now() + 15_000;
  while (got.length < wanted.size && Date.now() < deadline) {
    const { Messages = [] } = await queues.client.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    for (const message of Messages) {
      await queues.client.send(
        new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      if ([...wanted].some((no) => message.Body?.includes(no))) got.push(message);
    }
  }
  return got;
}

/** The event Lambda's SQS event source mapping hands the function (FIFO attributes when the queue is FIFO). */
function sqsEvent(messages: Message[], queueUrl = queues.queueUrl): SQSEvent {
  const queueName = queueUrl.split('/').pop() ?? 'queue';
  const attributes = (m: Message) => m.Attributes ?? {};
  const fifo = (m: Message) =>
    attributes(m).MessageGroupId === undefined
      ? {}
      : {
          MessageGroupId: attributes(m).MessageGroupId,
          MessageDeduplicationId: attributes(m).MessageDeduplicationId,
          SequenceNumber: attributes(m).SequenceNumber,
        };
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId ?? randomUUID(),
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ApproximateReceiveCount: attributes(m).ApproximateReceiveCount ?? '1',
        SentTimestamp: attributes(m).SentTimestamp ?? String(Date.now()),
        SenderId: attributes(m).SenderId ?? 'AROALOCAL',
        ApproximateFirstReceiveTimestamp: attributes(m).ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...fifo(m),
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: `arn:aws:sqs:${REGION}:000000000000:${queueName}`,
      awsRegion: REGION,
    })),
  };
}

function scheduledEvent(rule = 'sweep'): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: REGION,
    resources: [`arn:aws:events:${REGION}:000000000000:rule/WechatPayStack-${rule}`],
    detail: {},
  };
}

describe('the deployed bundles, on the Lambda runtime’s Node', () => {
  it('are the synthesized assets, run by the runtime’s Node major', () => {
    for (const fn of Object.values(functions)) {
      expect(fn.handler).toBe('index.handler');
      expect(fn.assetHash).toMatch(/^[0-9a-f]{64}$/);
    }
    const node = lambdaNode(functions.orders.runtime);
    expect(node).toBeTruthy();
  });

  it('create an order, take its payment notification, reconcile a lost one and sweep a lost check', async () => {
    // orders: POST /orders as an HTTP API (payload 2.0) event.
    const paidByNotification = await createOrder();
    const paidWithoutNotification = await createOrder();
    const checkLost = await createOrder();

    // notify: the simulator pays and posts its signed notification to the notify URL, which the
    // gateway hands to the notify bundle as a Function URL event.
    await simulatorCall('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: paidWithoutNotification });
    await simulatorCall('POST', `/sandbox/orders/${paidByNotification}/pay`, { result: 'SUCCESS' });
    await simulatorCall('POST', `/sandbox/orders/${paidWithoutNotification}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(paidByNotification),
      (status) => status === 'PAID',
      { timeoutMs: 20_000 },
    );
    // The bundle runs in a process of its own: its write can be seen before its outcome is handed back.
    const notified = await waitFor(
      async () => invocations.some((i) => i.service === 'notify' && i.outcome.ok),
      (seen) => seen,
      { timeoutMs: 10_000 },
    );
    expect(notified).toBe(true);
    expect(await statusOf(paidWithoutNotification)).toBe('PENDING');

    // reconcile: the checks the orders bundle scheduled, as an SQS event; the one whose notification
    // never came is found paid by a query.
    const checks = await receiveChecks([paidByNotification, paidWithoutNotification, checkLost]);
    expect(checks).toHaveLength(3);
    const forReconcile = checks.filter((m) => !m.Body?.includes(checkLost));
    const batch = (await invoke('reconcile', sqsEvent(forReconcile))) as { batchItemFailures: unknown[] };
    expect(batch.batchItemFailures).toEqual([]);
    expect(await statusOf(paidWithoutNotification)).toBe('PAID');

    // sweep: the third order's check was lost (received and deleted above, never run). The sweep looks
    // for chains whose watch bound has passed; this one's is the order's expiry, two hours away, so it
    // is moved to now, as time would move it. Once overdue by the grace, the scheduled sweep puts the
    // check back on the queue.
    const bound = (await orderStore.get(checkLost))?.nextCheckAt ?? '';
    expect(await orderStore.extendWatch(checkLost, bound, new Date().toISOString())).toEqual({ kind: 'extended' });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const swept = (await invoke('sweep', scheduledEvent())) as { enqueued: number };
    expect(swept.enqueued).toBeGreaterThanOrEqual(1);
    expect(await receiveChecks([checkLost])).toHaveLength(1);

    // Every invocation ran on the runtime's Node major, whatever Node runs this test.
    const major = /^nodejs(\d+)\.x$/.exec(functions.orders.runtime)?.[1];
    expect(new Set(invocations.map((i) => i.service))).toEqual(new Set(['orders', 'notify', 'reconcile', 'sweep']));
    for (const { outcome } of invocations) expect(outcome.node).toMatch(new RegExp(`^v${major}\\.`));
  }, 120_000);

  it('record a payment’s event from the table stream and deliver it as a signed webhook', async () => {
    const secret = generateWebhookSecret();
    const receiver: WebhookReceiver = await startWebhookReceiver({ secret });
    const sqs = queues.client;
    const name = uniqueName('webhooks');
    const webhookQueue: QueueUrls = await ensureQueues(sqs, {
      queueName: `${name}.fifo`,
      dlqName: `${name}-dlq.fifo`,
      maxReceiveCount: 8,
      visibilityTimeoutSeconds: 360,
      fifo: true,
    });
    const region = REGION;
    let source: DynamoDbStreamSource | undefined;
    try {
      const paid = await createOrder();
      await simulatorCall('POST', `/sandbox/orders/${paid}/pay`, { result: 'SUCCESS' });
      await waitFor(
        () => statusOf(paid),
        (status) => status === 'PAID',
        { timeoutMs: 20_000 },
      );

      // events: the stream records, handed over in batches as the event source mapping does; no bus here.
      const eventsEnvironment = { ...environment, WEBHOOK_QUEUE_URL: webhookQueue.queueUrl };
      source = startDynamoDbStreamSource({
        client: localStreamsClient(localEndpoint('dynamodbEndpoint')),
        streamArn,
        function: { functionName: 'WechatPayStack-events', timeoutMs: functions.events.timeoutMs, region },
        handler: async (event, context) => {
          const fn = functions.events;
          const outcome = await invokeBundle(
            fn,
            { ...fn.literalEnvironment, ...eventsEnvironment },
            event,
            context.getRemainingTimeInMillis(),
          );
          invocations.push({ service: 'events', outcome });
          if (!outcome.ok) throw new Error(`events bundle failed: ${outcome.error.message}\n${outcome.logs}`);
          return outcome.result as never;
        },
      });

      // The payment's event, queued in its order's group with the event id as deduplication id.
      const queued = await waitFor(
        async () => {
          const { Messages = [] } = await sqs.send(
            new ReceiveMessageCommand({
              QueueUrl: webhookQueue.queueUrl,
              MaxNumberOfMessages: 10,
              WaitTimeSeconds: 1,
              MessageSystemAttributeNames: ['All'],
            }),
          );
          return Messages.filter((m) => m.Attributes?.MessageGroupId === paid);
        },
        (messages) => messages.length > 0,
        { timeoutMs: 30_000 },
      );
      expect(queued).toHaveLength(1);
      const message = queued[0]!;
      const event = JSON.parse(message.Body ?? '{}') as { id: string; type: string; data: Record<string, unknown> };
      expect(event).toMatchObject({ type: 'payment.succeeded', data: { out_trade_no: paid, status: 'PAID' } });
      expect(message.Attributes?.MessageDeduplicationId).toBe(event.id);

      // webhooks: the message as the FIFO event source mapping hands it over.
      const webhooks = functions.webhooks;
      const delivered = await invokeBundle(
        webhooks,
        {
          ...webhooks.literalEnvironment,
          ...environment,
          MERCHANT_WEBHOOK_URL: receiver.url,
          MERCHANT_WEBHOOK_SECRET: secret,
          WEBHOOK_QUEUE_URL: webhookQueue.queueUrl,
        },
        sqsEvent([message], webhookQueue.queueUrl),
      );
      invocations.push({ service: 'webhooks', outcome: delivered });
      if (!delivered.ok) throw new Error(`webhooks bundle failed: ${delivered.error.message}\n${delivered.logs}`);
      expect(delivered.result).toEqual({ batchItemFailures: [] });
      expect(receiver.attempts).toHaveLength(1);
      const attempt = receiver.attempts[0]!;
      expect(attempt.verified, attempt.verifyError).toBe(true);
      expect(attempt.headers['webhook-id']).toBe(event.id);
      expect(attempt.body).toBe(message.Body);

      const major = /^nodejs(\d+)\.x$/.exec(webhooks.runtime)?.[1];
      for (const { service, outcome } of invocations.filter(
        (i) => i.service === 'events' || i.service === 'webhooks',
      )) {
        expect(outcome.node, service).toMatch(new RegExp(`^v${major}\\.`));
      }
    } finally {
      await source?.stop();
      await receiver.close();
    }
  }, 120_000);

  it('exchange a mini program login code and decrypt user data, never showing the session key', async () => {
    const first = invocations.length;
    // The code wx.login() would give the mini program.
    const { code, openid } = (await simulatorCall('POST', '/sandbox/miniprogram/login', {})) as {
      code: string;
      openid: string;
    };
    const session = await api('POST', '/miniprogram/sessions', { code });
    expect(session.status, JSON.stringify(session.json)).toBe(201);
    expect(session.json).toEqual({ openid });
    // Single-use at WeChat: the second exchange is the caller's mistake, with WeChat's code.
    const reused = await api('POST', '/miniprogram/sessions', { code });
    expect(reused.status).toBe(400);
    expect(reused.json).toMatchObject({ error: { code: 'CODE_USED', field: 'code', wechat_errcode: 40163 } });

    // Sealed by the simulator with the session key WeChat gave the orders bundle, which kept it.
    const profile = { nickName: 'bundle test', gender: 0 };
    const userData = await simulatorCall('POST', '/sandbox/miniprogram/user-data', { openid, data: profile });
    const opened = await api('POST', '/miniprogram/decrypt', {
      openid,
      encrypted_data: userData.encrypted_data,
      iv: userData.iv,
    });
    expect(opened.status, JSON.stringify(opened.json)).toBe(200);
    expect(opened.json).toMatchObject({ ...profile, watermark: { appid: SANDBOX_MERCHANT.appid } });

    const { session_key: sessionKey } = await simulatorCall('GET', `/sandbox/miniprogram/sessions/${openid}`);
    expect(sessionKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    const ours = invocations.slice(first);
    expect(new Set(ours.map((i) => i.service))).toEqual(new Set(['orders']));
    const shown = [
      JSON.stringify([session, reused, opened]),
      ...gatewayLog,
      ...ours.map(({ outcome }) => JSON.stringify(outcome)),
    ];
    for (const text of shown) expect(text).not.toContain(sessionKey as string);
  }, 60_000);

  it('reconcile the day’s bill through POST /reconciliations and the day before from the daily rule', async () => {
    const first = invocations.length;
    // Every order this file paid is today's (Beijing), and the simulator bills it: they all match.
    const paid = await createOrder();
    await simulatorCall('POST', `/sandbox/orders/${paid}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(paid),
      (status) => status === 'PAID',
      { timeoutMs: 20_000 },
    );
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const created = await api('POST', '/reconciliations', { bill_date: today });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json).toMatchObject({ bill_date: today, status: 'MATCHED', bill_found: true, api_version: 'v2' });
    const counts = created.json.counts as { wechat: number; here: number; matched: number; discrepancies: number };
    expect(counts.wechat).toBeGreaterThanOrEqual(1);
    expect(counts).toMatchObject({ here: counts.wechat, matched: counts.wechat, discrepancies: 0 });
    const stored = await api('GET', `/reconciliations/${today}`);
    expect(stored.status).toBe(200);
    expect(stored.json).toEqual(created.json);

    // The rule's event: the Beijing day before it fired, on which the simulator saw no trade.
    const yesterday = new Date(Date.now() - 16 * 3_600_000).toISOString().slice(0, 10);
    const scheduled = await invoke('bills', scheduledEvent('bills'));
    expect(scheduled).toEqual({
      billDate: yesterday,
      outcome: 'reconciled',
      status: 'MATCHED',
      discrepancies: 0,
    });

    const ours = invocations.slice(first).filter((i) => i.service === 'bills');
    expect(ours).toHaveLength(3);
    const major = /^nodejs(\d+)\.x$/.exec(functions.bills.runtime)?.[1];
    for (const { outcome } of ours) expect(outcome.node).toMatch(new RegExp(`^v${major}\\.`));
  }, 120_000);
});
