import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

import {
  CUSTOM_METRIC_NAMES,
  METRIC_LATE_PAYMENTS,
  METRIC_NOTIFICATIONS_NOT_STORED,
  METRIC_PAID_AT_EXPIRY,
  METRIC_REJECTED_NOTIFICATIONS,
  METRIC_UNVERIFIED_NOTIFICATIONS,
  METRICS_NAMESPACE,
} from '#shared/config/metric-names';
import { type OrdersApi, routeOrders } from '#shared/app/orders-api';
import {
  APP_BACKEND_ROUTES,
  HEALTH_ROUTE,
  NOTIFY_REFUND_ROUTE,
  NOTIFY_ROUTE,
  type Route,
  routeKey,
  routePath,
} from '#shared/app/routes';
import { RECONCILE_BATCH_SIZE, RECONCILE_MAX_RECEIVE_COUNT } from '#shared/config/reconcile-queue';
import { DEFAULT_RECONCILE_SCHEDULE, WECHATPAY_PRODUCTION_URL } from '#shared/config/settings';

/*
 * Every name the CDK stack, the local stack, the handlers and the bench share has one module. These
 * tests pin the public values (a change to one is a change of contract, never an accident), check
 * that the orders router dispatches from the route table, and scan the source for copies.
 */

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

describe('the shared values', () => {
  it('are the public contract', () => {
    expect(Object.values(APP_BACKEND_ROUTES).map(routeKey)).toEqual([
      'POST /orders',
      'GET /orders/{out_trade_no}',
      'POST /orders/{out_trade_no}/close',
      'POST /orders/{out_trade_no}/refunds',
      'GET /orders/{out_trade_no}/refunds',
      'GET /orders/{out_trade_no}/refunds/{out_refund_no}',
      'GET /events',
      'POST /miniprogram/sessions',
      'POST /miniprogram/decrypt',
    ]);
    expect(routeKey(NOTIFY_ROUTE)).toBe('POST /notify/pay');
    expect(routeKey(NOTIFY_REFUND_ROUTE)).toBe('POST /notify/refund');
    expect(routeKey(HEALTH_ROUTE)).toBe('GET /health');
    expect(METRICS_NAMESPACE).toBe('WechatPayBackend');
    expect([
      METRIC_REJECTED_NOTIFICATIONS,
      METRIC_PAID_AT_EXPIRY,
      METRIC_LATE_PAYMENTS,
      METRIC_NOTIFICATIONS_NOT_STORED,
      METRIC_UNVERIFIED_NOTIFICATIONS,
    ]).toEqual([
      'RejectedNotifications',
      'PaidAtExpiryRace',
      'LatePayments',
      'NotificationsNotStored',
      'UnverifiedNotifications',
    ]);
    for (const name of [
      METRIC_REJECTED_NOTIFICATIONS,
      METRIC_PAID_AT_EXPIRY,
      METRIC_LATE_PAYMENTS,
      METRIC_NOTIFICATIONS_NOT_STORED,
      METRIC_UNVERIFIED_NOTIFICATIONS,
    ]) {
      expect(CUSTOM_METRIC_NAMES).toContain(name);
    }
    expect(new Set(CUSTOM_METRIC_NAMES).size).toBe(CUSTOM_METRIC_NAMES.length);
    expect(WECHATPAY_PRODUCTION_URL).toBe('https://api.mch.weixin.qq.com');
    expect(DEFAULT_RECONCILE_SCHEDULE).toBe('30,60,120,600,1800');
    expect([RECONCILE_MAX_RECEIVE_COUNT, RECONCILE_BATCH_SIZE]).toEqual([5, 10]);
  });

  it('build concrete paths with each parameter as one encoded segment', () => {
    const { getOrder, closeOrder, createOrder } = APP_BACKEND_ROUTES;
    expect(routePath(createOrder)).toBe('/orders');
    expect(routePath(getOrder, { out_trade_no: 'A|1' })).toBe('/orders/A%7C1');
    expect(routePath(closeOrder, { out_trade_no: 'a/b' })).toBe('/orders/a%2Fb/close');
    expect(() => routePath(getOrder)).toThrow(/out_trade_no/);
  });
});

describe('the orders router', () => {
  const ORDER_BODY = JSON.stringify({
    description: 'coffee',
    amount: { total: 1 },
    trade_type: 'NATIVE',
    product_id: 'sku1',
    scene_info: { payer_client_ip: '127.0.0.1' },
  });
  /** A valid body for the routes that take another than an order's (the others ignore the body). */
  const BODY_OF: Readonly<Record<string, string>> = {
    [routeKey(APP_BACKEND_ROUTES.createMiniProgramSession)]: JSON.stringify({ code: '0a1b2c3d' }),
    [routeKey(APP_BACKEND_ROUTES.decryptMiniProgramData)]: JSON.stringify({
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      encrypted_data: 'AAAAAAAAAAAAAAAAAAAAAA==',
      iv: 'AAAAAAAAAAAAAAAAAAAAAA==',
    }),
  };

  function event(method: string, key: string, route?: Route): APIGatewayProxyEventV2 {
    const parameters = { out_trade_no: 'ORDER0001', out_refund_no: 'REFUND0001' };
    const used = Object.fromEntries(
      Object.entries(parameters).filter(([name]) => route?.path.includes(`{${name}}`) === true),
    );
    const path = route === undefined ? '/elsewhere' : routePath(route, used);
    return {
      version: '2.0',
      routeKey: key,
      rawPath: path,
      rawQueryString: '',
      headers: { 'content-type': 'application/json' },
      ...(Object.keys(used).length > 0 ? { pathParameters: used } : {}),
      body: BODY_OF[key] ?? ORDER_BODY,
      isBase64Encoded: false,
      requestContext: {
        accountId: '000000000000',
        apiId: 'test',
        domainName: 'test',
        domainPrefix: 'test',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
        requestId: 'test',
        routeKey: key,
        stage: '$default',
        time: '01/Jan/2024:00:00:00 +0000',
        timeEpoch: 0,
      },
    };
  }

  /** Counts how often a route reached for the payment or the refund use cases. */
  function dependencies() {
    const reached = { count: 0 };
    const reach = () => {
      reached.count += 1;
      return Promise.reject(new Error('reached the use cases'));
    };
    const deps: OrdersApi = {
      clock: { now: () => new Date('2024-01-01T00:00:00Z') },
      orderViewOptions: {},
      useCases: reach,
      refunds: reach,
      events: reach,
      miniProgram: reach,
    };
    return { deps, reached };
  }

  it('hands every route of the table to a handler', async () => {
    for (const route of Object.values(APP_BACKEND_ROUTES)) {
      const { deps, reached } = dependencies();
      await routeOrders(event(route.method, routeKey(route), route), deps).catch(() => undefined);
      expect(reached.count, routeKey(route)).toBe(1);
    }
  });

  it('answers 404 for a route key not in the table, or with another method, without touching anything', async () => {
    const cases: Array<[string, string, Route | undefined]> = [
      ['GET', 'GET /nope', undefined],
      ['POST', '$default', undefined],
      ...Object.values(APP_BACKEND_ROUTES).map((route): [string, string, Route] => [
        route.method === 'GET' ? 'POST' : 'GET',
        routeKey(route),
        route,
      ]),
    ];
    for (const [method, key, route] of cases) {
      const { deps, reached } = dependencies();
      const res = await routeOrders(event(method, key, route), deps);
      expect(res.statusCode, `${method} ${key}`).toBe(404);
      expect(JSON.parse(res.body ?? '')).toEqual({ error: { code: 'NOT_FOUND', message: `no route ${key}` } });
      expect(reached.count).toBe(0);
    }
  });
});

describe('no copy of a shared value', () => {
  /** Each value, where it lives, and how a copy of it looks inside a string, template or regex literal. */
  const HOMES: ReadonlyArray<{ home: string; copy: RegExp }> = [
    { home: 'shared/config/metric-names.ts', copy: /RejectedNotifications|PaidAtExpiryRace|WechatPayBackend/ },
    {
      home: 'shared/app/routes.ts',
      copy: /\b(GET|POST) \/(orders|notify)|(^|[^\w/])\/orders([/?]|$)|notify\/(pay|refund)/,
    },
    { home: 'shared/app/routes.ts', copy: /^\/health$/ },
    { home: 'shared/config/settings.ts', copy: /api\.mch\.weixin\.qq\.com|30,60,120,600,1800/ },
  ];
  /** Properties that carry the reconcile queue's numbers (shared/config/reconcile-queue.ts). */
  const QUEUE_PROPERTIES = /^(maxReceiveCount|batchSize)$/i;

  /**
   * The code that ships or drives a stack. Tests pin values on purpose; the simulator plays WeChat, is
   * kept apart from shared/app and shared/config by the lint boundary, and its /health is its own.
   */
  const SCANNED = ['shared', 'functions', 'infra', 'sandbox/local', 'bench'];

  /**
   * Copies in files owned elsewhere, waiting for their owners to import the shared value. Each entry
   * must still be needed: the test fails when the copy is gone, so the list only shrinks.
   */
  const KNOWN_COPIES: Readonly<Record<string, readonly string[]>> = {};

  function sourceFiles(dir: string): string[] {
    return readdirSync(join(REPO_ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return entry.name.startsWith('.') ? [] : sourceFiles(path);
      return entry.name.endsWith('.ts') ? [path] : [];
    });
  }

  /** The text of every string, template and regex literal, and each numeric value of a queue property. */
  function literals(file: string): Array<{ text: string; property?: string }> {
    const source = ts.createSourceFile(file, readFileSync(join(REPO_ROOT, file), 'utf8'), ts.ScriptTarget.Latest);
    const found: Array<{ text: string; property?: string }> = [];
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) found.push({ text: node.text });
      if (ts.isRegularExpressionLiteral(node)) found.push({ text: node.text.replace(/\\\//g, '/') });
      if (
        ts.isPropertyAssignment(node) &&
        QUEUE_PROPERTIES.test(node.name.getText(source)) &&
        ts.isNumericLiteral(node.initializer)
      ) {
        found.push({ text: node.initializer.text, property: node.name.getText(source) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
  }

  it('appears outside its module', () => {
    const copies: string[] = [];
    const files = SCANNED.flatMap(sourceFiles);
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      for (const { text, property } of literals(file)) {
        if (property !== undefined && file !== 'shared/config/reconcile-queue.ts') {
          copies.push(`${file}: ${property}: ${text}`);
        }
        for (const { home, copy } of HOMES) {
          if (file !== home && copy.test(text)) copies.push(`${file}: '${text}'`);
        }
      }
    }
    const known = Object.entries(KNOWN_COPIES).flatMap(([file, texts]) => texts.map((t) => `${file}: '${t}'`));
    expect(copies.filter((c) => !known.includes(c))).toEqual([]);
    expect(
      known.filter((k) => !copies.includes(k)),
      'copies gone: drop them from KNOWN_COPIES',
    ).toEqual([]);
  });
});
