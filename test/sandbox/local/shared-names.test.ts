import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';

import { type Gateway, GATEWAY_ROUTES, type GatewayHandlers, startGateway } from '#sandbox/local/gateway';
import { handlerEnvironment } from '#sandbox/local/local-settings';
import { DEFAULTS } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { CUSTOM_METRIC_NAMES, METRIC_NOTIFICATIONS_NOT_STORED, METRICS_NAMESPACE } from '#shared/config/metric-names';
import { createObservability } from '#shared/app/observability';
import {
  APP_BACKEND_ROUTES,
  BILL_ROUTES,
  NOTIFY_ROUTE,
  NOTIFY_ROUTES,
  type Route,
  routeKey,
  routePath,
} from '#shared/app/routes';
import { RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';
import { loadSettings } from '#shared/config/settings';

/*
 * The local stack reads the same tables as the CDK stack (test/infra/cdk/stack.test.ts checks the
 * template against them): the gateway serves exactly the shared routes, and the handlers it runs emit
 * the shared metric names in the shared namespace, which the alarms in AWS watch.
 */

const PARAMETERS: Readonly<Record<string, string>> = {
  out_trade_no: 'T|20240101-1',
  out_refund_no: 'RF|1@a-b',
  bill_date: '2026-01-01',
};
const ORDERS_ROUTES: readonly Route[] = Object.values(APP_BACKEND_ROUTES);
/** The HTTP API's routes, each table on its own function. */
const TABLE_ROUTES: readonly Route[] = [...ORDERS_ROUTES, ...Object.values(BILL_ROUTES)];
const targetOf = (route: Route) => (ORDERS_ROUTES.includes(route) ? 'orders' : 'bills');

let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

async function recordingGateway() {
  const calls: Array<{ target: 'orders' | 'notify' | 'bills'; event: APIGatewayProxyEventV2 }> = [];
  const handlers: GatewayHandlers = {
    orders: async (event) => {
      calls.push({ target: 'orders', event });
      return { statusCode: 200, body: '{}' };
    },
    notify: async (event) => {
      calls.push({ target: 'notify', event });
      return { statusCode: 200, body: '' };
    },
    bills: async (event) => {
      calls.push({ target: 'bills', event });
      return { statusCode: 200, body: '{}' };
    },
  };
  gateway = await startGateway({ port: 0, handlers, log: () => undefined });
  return { url: gateway.url, calls };
}

describe('the local gateway and the shared route table', () => {
  it('declares the app-backend and bill routes of the tables and the notify routes, nothing else', () => {
    expect(GATEWAY_ROUTES.map((r) => routeKey(r)).sort()).toEqual(
      [...TABLE_ROUTES.map(routeKey), ...NOTIFY_ROUTES.map(routeKey)].sort(),
    );
  });

  it('serves every table route with the routeKey and path parameters API Gateway would give', async () => {
    const { url, calls } = await recordingGateway();
    for (const route of TABLE_ROUTES) {
      const res = await fetch(`${url}${routePath(route, PARAMETERS)}`, { method: route.method });
      expect(res.status, routeKey(route)).toBe(200);
    }
    expect(calls.map((c) => c.target)).toEqual(TABLE_ROUTES.map(targetOf));
    expect(new Set(calls.map((c) => c.target))).toEqual(new Set(['orders', 'bills']));
    expect(calls.map((c) => c.event.routeKey)).toEqual(TABLE_ROUTES.map(routeKey));
    for (const [i, route] of TABLE_ROUTES.entries()) {
      const names = [...route.path.matchAll(/\{([^/{}]+)\}/g)].map((m) => m[1] ?? '');
      const expected = names.length === 0 ? undefined : Object.fromEntries(names.map((n) => [n, PARAMETERS[n]]));
      expect(calls[i]?.event.pathParameters, routeKey(route)).toEqual(expected);
    }
  });

  it('serves the payment and refund notify routes as the Function URL does', async () => {
    const { url, calls } = await recordingGateway();
    for (const route of NOTIFY_ROUTES) {
      const res = await fetch(`${url}${route.path}`, { method: route.method, body: '<xml/>' });
      expect(res.status, route.path).toBe(200);
    }
    expect(calls.map((c) => [c.target, c.event.routeKey, c.event.rawPath])).toEqual([
      ['notify', '$default', '/notify/pay'],
      ['notify', '$default', '/notify/refund'],
    ]);
  });

  it('refuses every other method on the same paths', async () => {
    const { url, calls } = await recordingGateway();
    const served = new Set(GATEWAY_ROUTES.map((r) => routeKey(r)));
    for (const route of [...TABLE_ROUTES, ...NOTIFY_ROUTES]) {
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE']) {
        if (served.has(`${method} ${route.path}`)) continue;
        const res = await fetch(`${url}${routePath(route, PARAMETERS)}`, { method });
        expect(res.status, `${method} ${route.path}`).toBe(404);
      }
    }
    expect(calls).toEqual([]);
  });
});

describe('the local stack and the shared names', () => {
  it('runs the handlers with the metrics namespace the alarms watch, and they emit the shared metric names', () => {
    const settings = loadSettings({
      ...handlerEnvironment({
        tableName: 'orders-t',
        queueUrl: 'http://127.0.0.1:9324/000000000000/q',
        notifyUrl: `http://127.0.0.1:3000${NOTIFY_ROUTE.path}`,
        dynamodbEndpoint: 'http://127.0.0.1:8000',
        sqsEndpoint: 'http://127.0.0.1:9324',
        region: 'us-east-1',
        merchant: SANDBOX_MERCHANT,
        wechatpayBaseUrl: 'http://127.0.0.1:3100',
      }),
      LOG_LEVEL: 'SILENT',
    });
    expect(settings.POWERTOOLS_METRICS_NAMESPACE).toBe(METRICS_NAMESPACE);

    const { metrics, observer } = createObservability(settings);
    observer.rejected('AMOUNT_MISMATCH', { source: 'notify' });
    observer.paidAtExpiry('T1');
    observer.latePayment('T1', { transactionId: '4200001234567890123456789012', amountTotal: 1, source: 'notify' });
    observer.unverified('BAD_SIGNATURE', { apiVersion: 'v2', bodyBytes: 1, bodySha256: 'ab', recorded: true });
    // The notify endpoint counts a notification it could not store itself, under the shared name.
    metrics.addMetric(METRIC_NOTIFICATIONS_NOT_STORED, MetricUnit.Count, 1);
    const emf = metrics.serializeMetrics();
    const directives = emf._aws.CloudWatchMetrics;
    expect(directives.map((d) => d.Namespace)).toEqual([METRICS_NAMESPACE]);
    const emitted = directives.flatMap((d) => d.Metrics.map((m) => m.Name));
    for (const name of emitted) expect(CUSTOM_METRIC_NAMES).toContain(name);
    expect(emitted).toHaveLength(5);
    metrics.clearMetrics();
  });

  it('redrives reconcile checks after the same number of receives as in AWS', () => {
    expect(DEFAULTS.maxReceiveCount).toBe(RECONCILE_MAX_RECEIVE_COUNT);
  });
});
