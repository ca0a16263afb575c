import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';

import { buildEventRecorder, createDependencies } from '#shared/app/dependencies';
import { createOrdersHandler } from '#shared/app/handlers';
import { APP_BACKEND_ROUTES, routeKey } from '#shared/app/routes';
import { loadSettings } from '#shared/config/settings';
import { InMemoryEventLog } from '#test/helpers/in-memory-event-log';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';
import { TestClock } from '#test/helpers/test-clock';

// SANDBOX_CASHIER_BASE_URL reaches both places an order is shown: the API's answer and the event's data.
// Nothing here reaches a server: the order is read from storage, WeChat is never asked.
const BASE = {
  TABLE_NAME: 'orders',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'SILENT',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
  NOTIFY_URL: 'https://example.com/notify/pay',
  WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
  WECHATPAY_APPID: 'wx0123456789abcdef',
  WECHATPAY_MCHID: '1900000109',
  WECHATPAY_API_KEY: '0123456789abcdef0123456789abcdef',
};
const CASHIER = 'http://127.0.0.1:3100/sandbox/cashier/';

function world(env: Record<string, string>) {
  const store = new InMemoryOrderStore();
  const clock = new TestClock(T0 + 60_000);
  const deps = createDependencies(loadSettings({ ...BASE, ...env }), {
    store,
    refundStore: new InMemoryRefundStore(store),
    scheduler: new RecordingCheckScheduler(),
    eventLog: new InMemoryEventLog({ clock }),
    eventOutlets: [],
    clock,
  });
  const order = orderFixture({
    prepay: { prepayId: 'wx2030', client: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' }, validUntil: at(7200) },
  });
  return { deps, store, order };
}

async function getOrder(env: Record<string, string>): Promise<Record<string, unknown>> {
  const { deps, store, order } = world(env);
  await store.create(order);
  const handler = createOrdersHandler(deps);
  const route = APP_BACKEND_ROUTES.getOrder;
  const event = {
    routeKey: routeKey(route),
    rawPath: `/orders/${order.outTradeNo}`,
    pathParameters: { out_trade_no: order.outTradeNo },
    headers: {},
    isBase64Encoded: false,
    requestContext: { http: { method: route.method } },
  } as unknown as APIGatewayProxyEventV2;
  const context = { getRemainingTimeInMillis: () => 10_000, functionName: 'orders' } as unknown as Context;
  const answer = (await handler(event, context)) as APIGatewayProxyStructuredResultV2;
  expect(answer.statusCode).toBe(200);
  return JSON.parse(answer.body ?? '{}') as Record<string, unknown>;
}

describe("an order's sandbox cashier link", () => {
  it('is in GET /orders/{out_trade_no} when SANDBOX_CASHIER_BASE_URL is set', async () => {
    const body = await getOrder({ SANDBOX_CASHIER_BASE_URL: CASHIER });
    expect(body.sandbox_cashier_url).toBe(`${CASHIER}${String(body.out_trade_no)}`);
    expect(body.client).toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=abc' });
  });

  it('is not there without it (AWS)', async () => {
    const body = await getOrder({});
    expect(body).not.toHaveProperty('sandbox_cashier_url');
    expect(body.client).toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=abc' });
  });

  it("is in the event's data too, which is the order as the API answers it", async () => {
    const { deps, order } = world({ SANDBOX_CASHIER_BASE_URL: CASHIER });
    const paid = { ...order, status: 'PAID' as const, nextCheckAt: undefined };
    const event = await buildEventRecorder(deps).record({ kind: 'payment', before: order, after: paid });
    expect(event?.data.sandbox_cashier_url).toBe(`${CASHIER}${order.outTradeNo}`);
  });
});
