import type { APIGatewayProxyEventV2, Context, LambdaFunctionURLEvent, SQSEvent } from 'aws-lambda';
import { describe, expect, it, vi } from 'vitest';

import { createDependencies } from '#shared/app/dependencies';
import {
  createNotifyHandler,
  createOrdersHandler,
  createReconcileHandler,
  createSweepHandler,
} from '#shared/app/handlers';
import { APP_BACKEND_ROUTES, routeKey } from '#shared/app/routes';
import { createWechatPay } from '#shared/app/wechatpay-adapters';
import { RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';
import { METRIC_CHECKS_EXHAUSTED } from '#shared/config/metric-names';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';
import { paidOrder } from '#test/helpers/refund-harness';
import { TestClock } from '#test/helpers/test-clock';

// Nothing here reaches a server: the handlers are only built, or fail before any I/O.
const BASE = {
  TABLE_NAME: 'orders',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'SILENT',
  WECHATPAY_APPID: 'wx0123456789abcdef',
  WECHATPAY_MCHID: '1900000109',
  WECHATPAY_API_KEY: '0123456789abcdef0123456789abcdef',
};

describe('each handler takes at start-up only what its function needs', () => {
  it('the notify and sweep functions start without NOTIFY_URL, and notify without QUEUE_URL', () => {
    expect(() => createNotifyHandler(createDependencies(loadSettings(BASE)))).not.toThrow();
    const withQueue = { ...BASE, QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks' };
    expect(() => createSweepHandler(createDependencies(loadSettings(withQueue)))).not.toThrow();
  });

  it('the orders function refuses to start without NOTIFY_URL or QUEUE_URL, naming the setting', () => {
    const withQueue = { ...BASE, QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks' };
    expect(() => createOrdersHandler(createDependencies(loadSettings(withQueue)))).toThrow(/NOTIFY_URL/);
    const withNotify = { ...BASE, NOTIFY_URL: 'https://example.com/notify/pay' };
    expect(() => createOrdersHandler(createDependencies(loadSettings(withNotify)))).toThrow(ConfigurationError);
  });

  it('the orders and reconcile functions refuse a NOTIFY_URL not ending in /notify/pay', () => {
    const settings = loadSettings({
      ...BASE,
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
      NOTIFY_URL: 'https://example.com/wechat/callback',
    });
    expect(() => createOrdersHandler(createDependencies(settings))).toThrow(/NOTIFY_URL must end in \/notify\/pay/);
    expect(() => createReconcileHandler(createDependencies(settings))).toThrow(/NOTIFY_URL/);
  });

  it('the reconcile function needs NOTIFY_URL: it sends again a refund WeChat never received', () => {
    const withQueue = { ...BASE, QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks' };
    expect(() => createReconcileHandler(createDependencies(loadSettings(withQueue)))).toThrow(/NOTIFY_URL/);
  });

  it('the notify function answers a wrong path with the protocol failure reply, without storage', async () => {
    const notify = createNotifyHandler(createDependencies(loadSettings(BASE)));
    const event = {
      rawPath: '/elsewhere',
      headers: {},
      body: '<xml></xml>',
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    } as unknown as LambdaFunctionURLEvent;
    const reply = await notify(event, { getRemainingTimeInMillis: () => 10_000 } as unknown as Context);
    expect(typeof reply === 'object' && reply.body).toContain('FAIL');
  });
});

describe("a merchant's broken keys are the deployment's fault", () => {
  it('a v3 private key that is not a key is a ConfigurationError, not a validation error for the caller', async () => {
    const settings = loadSettings({ ...BASE, WECHATPAY_BASE_URL: 'http://127.0.0.1:9' });
    const credentials = {
      appid: BASE.WECHATPAY_APPID,
      mchid: BASE.WECHATPAY_MCHID,
      apiVersion: 'v3' as const,
      privateKey: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n',
      certSerial: '0123456789ABCDEF',
      apiV3Key: '0123456789abcdef0123456789abcdef',
    };
    const attempt = createWechatPay(credentials, settings, { now: () => new Date() });
    await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    await expect(attempt).rejects.toThrow(/privateKey/);
    await expect(attempt).rejects.not.toThrow(/bm90IGEga2V5/);
  });
});

describe('the sweep function', () => {
  it('publishes ChecksExhausted when it gives up on an order, so the alarm can see it', async () => {
    const store = new InMemoryOrderStore();
    const stuck = orderFixture({ status: 'PENDING', nextCheckAt: at(0) });
    await store.create(stuck);
    // Re-enqueued once already, and the bound is one.
    await store.requeueCheck(stuck.outTradeNo, at(10), 1);
    const settings = loadSettings({
      ...BASE,
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
      SWEEP_MAX_REQUEUES: '1',
    });
    const scheduler = new RecordingCheckScheduler();
    const refundStore = new InMemoryRefundStore(store);
    const deps = createDependencies(settings, { store, refundStore, scheduler, clock: new TestClock(T0 + 1_000_000) });
    const added = vi.spyOn(deps.observability.metrics, 'addMetric');
    const published = vi
      .spyOn(deps.observability.metrics, 'publishStoredMetrics')
      .mockImplementation(() => deps.observability.metrics);

    const sweep = createSweepHandler(deps);
    await expect(sweep({}, { functionName: 'sweep' } as unknown as Context)).resolves.toEqual({ enqueued: 0 });
    expect(added).toHaveBeenCalledWith(METRIC_CHECKS_EXHAUSTED, 'Count', 1);
    expect(published).toHaveBeenCalledTimes(1);
    expect(scheduler.attempts).toEqual([]);
  });
});

describe('the reconcile function', () => {
  it('gives up on an order whose checks keep running out of time at the bound; publishes ChecksExhausted', async () => {
    const store = new InMemoryOrderStore();
    const stuck = orderFixture({ status: 'PENDING', nextCheckAt: at(0) });
    await store.create(stuck);
    const settings = loadSettings({
      ...BASE,
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
      NOTIFY_URL: 'https://example.com/notify/pay',
      WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
      SWEEP_MAX_REQUEUES: '1',
    });
    const scheduler = new RecordingCheckScheduler();
    const clock = new TestClock(T0);
    const deps = createDependencies(settings, { store, scheduler, clock });
    const added = vi.spyOn(deps.observability.metrics, 'addMetric');
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    const reconcile = createReconcileHandler(deps);
    // Less time left than the margin kept for recording: every WeChat call runs out of time at once.
    const context = () => ({ functionName: 'reconcile', getRemainingTimeInMillis: () => 2_000 }) as unknown as Context;
    const event = (dueAt: string) =>
      ({
        Records: [{ messageId: dueAt, body: JSON.stringify({ outTradeNo: stuck.outTradeNo, attempt: 0, dueAt }) }],
      }) as unknown as SQSEvent;

    await expect(reconcile(event(at(0)), context())).resolves.toEqual({ batchItemFailures: [] });
    // Put back with its due time as the order's watch bound, which the message carries.
    expect(scheduler.scheduled).toEqual([{ outTradeNo: stuck.outTradeNo, attempt: 0, dueAt: at(10), bound: at(10) }]);
    clock.set(at(10));
    await expect(reconcile(event(at(10)), context())).resolves.toEqual({ batchItemFailures: [] });
    expect(scheduler.scheduled).toHaveLength(1);
    expect(added).toHaveBeenCalledWith(METRIC_CHECKS_EXHAUSTED, 'Count', 1);
    expect(await store.get(stuck.outTradeNo)).toMatchObject({ status: 'PENDING', checksExhaustedAt: at(10) });
  });

  it('hands a check that failed its last receive to the sweep, bringing its bound to now', async () => {
    const store = new InMemoryOrderStore();
    const open = orderFixture({ status: 'PENDING', nextCheckAt: at(7200) });
    await store.create(open);
    const settings = loadSettings({
      ...BASE,
      QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
      NOTIFY_URL: 'https://example.com/notify/pay',
      // Nothing listens there: every query fails, as a WeChat that is down does.
      WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
    });
    const clock = new TestClock(T0);
    const deps = createDependencies(settings, { store, scheduler: new RecordingCheckScheduler(), clock });
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    const reconcile = createReconcileHandler(deps);
    const context = () => ({ functionName: 'reconcile', getRemainingTimeInMillis: () => 20_000 }) as unknown as Context;
    const event = (receiveCount: number) =>
      ({
        Records: [
          {
            messageId: `m${receiveCount}`,
            attributes: { ApproximateReceiveCount: String(receiveCount) },
            body: JSON.stringify({ outTradeNo: open.outTradeNo, attempt: 1, dueAt: at(0), bound: at(7200) }),
          },
        ],
      }) as unknown as SQSEvent;

    // An earlier receive: the queue will deliver it again, nothing is handed over. (A batch whose every
    // record failed fails the invocation as a whole.)
    await expect(reconcile(event(RECONCILE_MAX_RECEIVE_COUNT - 1), context())).rejects.toThrow(/All records failed/);
    expect((await store.get(open.outTradeNo))?.nextCheckAt).toBe(at(7200));

    // The last one: the dead-letter queue is next, so the sweep gets the order after its grace.
    await expect(reconcile(event(RECONCILE_MAX_RECEIVE_COUNT), context())).rejects.toThrow(/All records failed/);
    expect(await store.get(open.outTradeNo)).toMatchObject({ nextCheckAt: at(0), requeues: 1 });
  });
});

describe('refunds through the handlers', () => {
  const settings = loadSettings({
    ...BASE,
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
    NOTIFY_URL: 'https://example.com/notify/pay',
    WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
  });
  const context = () => ({ functionName: 'fn', getRemainingTimeInMillis: () => 20_000 }) as unknown as Context;

  it('a v2 merchant without its API client certificate: the refund is refused before anything is stored', async () => {
    const store = new InMemoryOrderStore();
    const refundStore = new InMemoryRefundStore(store);
    const order = paidOrder();
    await store.create(order);
    const deps = createDependencies(settings, { store, refundStore, scheduler: new RecordingCheckScheduler() });
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    const orders = createOrdersHandler(deps);
    const event = {
      routeKey: routeKey(APP_BACKEND_ROUTES.createRefund),
      rawPath: `/orders/${order.outTradeNo}/refunds`,
      pathParameters: { out_trade_no: order.outTradeNo },
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ out_refund_no: 'R1', amount: { refund: 100 } }),
      isBase64Encoded: false,
      requestContext: { http: { method: 'POST' } },
    } as unknown as APIGatewayProxyEventV2;
    // A broken deployment fails the invocation (API Gateway answers 500, the error alarm fires).
    await expect(orders(event, context())).rejects.toThrow(/apiClientCert/);
    expect(await refundStore.listRefunds(order.outTradeNo)).toEqual([]);
    expect((await store.get(order.outTradeNo))?.refunds?.pending ?? 0).toBe(0);
  });

  it('the reconcile function hands each check to the reconciler of its kind', async () => {
    const store = new InMemoryOrderStore();
    const refundStore = new InMemoryRefundStore(store);
    const scheduler = new RecordingCheckScheduler();
    const clock = new TestClock(T0 + 3_600_000);
    const deps = createDependencies(settings, { store, refundStore, scheduler, clock });
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    const reconcile = createReconcileHandler(deps);
    const dueLater = new Date(T0 + 3_600_000 + 3_600_000).toISOString();
    const records = [
      {
        messageId: 'refund',
        body: JSON.stringify({ kind: 'refund', outTradeNo: 'T000123', outRefundNo: 'R1', attempt: 2, dueAt: dueLater }),
      },
      { messageId: 'payment', body: JSON.stringify({ outTradeNo: 'T000123', attempt: 1, dueAt: dueLater }) },
      { messageId: 'garbage', body: JSON.stringify({ kind: 'refund', outTradeNo: 'T000123', attempt: 0 }) },
    ];
    const result = await reconcile({ Records: records } as unknown as SQSEvent, context());
    // A check that is not yet due is put back as it came, by the reconciler of its own kind.
    expect(scheduler.scheduledRefunds).toEqual([
      { outTradeNo: 'T000123', outRefundNo: 'R1', attempt: 2, dueAt: dueLater },
    ]);
    expect(scheduler.scheduled).toEqual([{ outTradeNo: 'T000123', attempt: 1, dueAt: dueLater }]);
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'garbage' }] });
  });

  it('the sweep function re-enqueues an overdue refund check too, marked as a refund check', async () => {
    const store = new InMemoryOrderStore();
    const refundStore = new InMemoryRefundStore(store);
    const order = paidOrder();
    await store.create(order);
    const created = await refundStore.createRefund({
      outTradeNo: order.outTradeNo,
      outRefundNo: 'R1',
      status: 'PROCESSING',
      amount: { refund: 100, total: 1999, currency: 'CNY' },
      requestHash: 'r'.repeat(64),
      createdAt: at(60),
      updatedAt: at(60),
      nextCheckAt: at(120),
      history: [{ at: at(60), from: null, to: 'PROCESSING', source: 'api' }],
    });
    expect(created.kind).toBe('created');
    const scheduler = new RecordingCheckScheduler();
    const clock = new TestClock(T0 + 1_000_000);
    const deps = createDependencies(settings, { store, refundStore, scheduler, clock });
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    await expect(createSweepHandler(deps)({}, context())).resolves.toEqual({ enqueued: 1 });
    expect(scheduler.scheduledRefunds).toMatchObject([{ outTradeNo: order.outTradeNo, outRefundNo: 'R1' }]);
    expect(scheduler.scheduled).toEqual([]);
  });
});
