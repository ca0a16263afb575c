import { request as httpRequest } from 'node:http';

import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithIAMAuthorizer, Context } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';

import { type Gateway, type GatewayHandlers, IAM_NOTICE, startGateway } from '#sandbox/local/gateway';

interface Call {
  target: 'orders' | 'notify' | 'bills';
  event: APIGatewayProxyEventV2;
  context: Context;
  remainingMs: number;
}

/** Simple handlers that record what they were given and answer what the test says. */
function recordingHandlers(
  answer: (event: APIGatewayProxyEventV2) => Promise<unknown> | unknown = () => ({
    statusCode: 200,
    body: '{}',
  }),
) {
  const calls: Call[] = [];
  const handlers: GatewayHandlers = {
    orders: async (event, context) => {
      calls.push({ target: 'orders', event, context, remainingMs: context.getRemainingTimeInMillis() });
      return (await answer(event)) as never;
    },
    notify: async (event, context) => {
      calls.push({ target: 'notify', event, context, remainingMs: context.getRemainingTimeInMillis() });
      return (await answer(event)) as never;
    },
    bills: async (event, context) => {
      calls.push({ target: 'bills', event, context, remainingMs: context.getRemainingTimeInMillis() });
      return (await answer(event)) as never;
    },
  };
  return { calls, handlers };
}

let gateway: Gateway | undefined;
const logs: string[] = [];

async function start(handlers?: GatewayHandlers, extra: Parameters<typeof startGateway>[0] = {}) {
  logs.length = 0;
  gateway = await startGateway({ port: 0, handlers, log: (l) => logs.push(l), region: 'ap-east-1', ...extra });
  return gateway;
}

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

describe('local gateway', () => {
  it('listens on 127.0.0.1 only and says once that IAM auth is skipped', async () => {
    const gw = await start(recordingHandlers().handlers);
    expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`);
    expect(logs.filter((l) => l === IAM_NOTICE)).toHaveLength(1);
    await fetch(`${gw.url}/health`);
    await fetch(`${gw.url}/orders/1`);
    expect(logs.filter((l) => l === IAM_NOTICE)).toHaveLength(1);
  });

  it('routes POST /orders to the orders handler as an HTTP API event and writes the result back', async () => {
    const { calls, handlers } = recordingHandlers(() => ({
      statusCode: 201,
      headers: { 'content-type': 'application/json', 'x-order': 'A1' },
      cookies: ['a=1; Path=/', 'b=2'],
      body: JSON.stringify({ out_trade_no: 'A1', status: 'PENDING' }),
    }));
    const gw = await start(handlers, { ordersFunction: { functionName: 'wechatpay-orders', timeoutMs: 5_000 } });
    const body = JSON.stringify({ description: 'Tea', amount: { total: 1 } });
    const res = await fetch(`${gw.url}/orders?trace=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'X-Request-Tag': 'abc', cookie: 'sid=9' },
      body,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-order')).toBe('A1');
    expect(res.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2']);
    expect(await res.json()).toEqual({ out_trade_no: 'A1', status: 'PENDING' });

    expect(calls).toHaveLength(1);
    const { event, context, remainingMs } = calls[0] as Call;
    const iamEvent = event as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(calls[0]?.target).toBe('orders');
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'POST /orders',
      rawPath: '/orders',
      rawQueryString: 'trace=1',
      queryStringParameters: { trace: '1' },
      cookies: ['sid=9'],
      body,
      isBase64Encoded: false,
      requestContext: {
        http: { method: 'POST', path: '/orders', sourceIp: '127.0.0.1', protocol: 'HTTP/1.1' },
        routeKey: 'POST /orders',
        stage: '$default',
      },
    });
    expect(event.headers['x-request-tag']).toBe('abc');
    expect(event.headers['content-type']).toBe('application/json');
    expect(iamEvent.requestContext.authorizer.iam.callerId).toContain('iam-auth-skipped');
    expect(context.functionName).toBe('wechatpay-orders');
    expect(context.invokedFunctionArn).toBe('arn:aws:lambda:ap-east-1:000000000000:function:wechatpay-orders');
    expect(context.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(remainingMs).toBeGreaterThan(4_000);
    expect(remainingMs).toBeLessThanOrEqual(5_000);
  });

  it('passes out_trade_no as a decoded path parameter, keeping rawPath as sent', async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers);
    await fetch(`${gw.url}/orders/007%7Cx-1?sync=1&f=a&f=b`);
    await fetch(`${gw.url}/orders/007/close`, { method: 'POST' });
    expect(calls.map((c) => c.event.routeKey)).toEqual([
      'GET /orders/{out_trade_no}',
      'POST /orders/{out_trade_no}/close',
    ]);
    expect(calls[0]?.event).toMatchObject({
      rawPath: '/orders/007%7Cx-1',
      pathParameters: { out_trade_no: '007|x-1' },
      queryStringParameters: { sync: '1', f: 'a,b' },
    });
    expect(calls[0]?.event.body).toBeUndefined();
    expect(calls[1]?.event.pathParameters).toEqual({ out_trade_no: '007' });
  });

  it('routes POST /notify/pay to the notify handler as a Function URL event', async () => {
    const { calls, handlers } = recordingHandlers(() => ({
      statusCode: 200,
      headers: { 'content-type': 'text/xml' },
      body: '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>',
    }));
    const gw = await start(handlers);
    const xml = '<xml><out_trade_no><![CDATA[0042]]></out_trade_no></xml>';
    const res = await fetch(`${gw.url}/notify/pay`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: xml,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/xml');
    expect(await res.text()).toContain('SUCCESS');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.target).toBe('notify');
    expect(calls[0]?.event).toMatchObject({
      routeKey: '$default',
      rawPath: '/notify/pay',
      body: xml,
      isBase64Encoded: false,
      requestContext: { accountId: 'anonymous', routeKey: '$default' },
    });
    expect(calls[0]?.event.pathParameters).toBeUndefined();
    expect('authorizer' in (calls[0]?.event.requestContext ?? {})).toBe(false);
    expect(calls[0]?.context.functionName).toBe('notify');
  });

  it('routes the reconciliation routes to the bills handler, a 15-minute, 1,769 MB function as in AWS', async () => {
    const { calls, handlers } = recordingHandlers(() => ({ statusCode: 201, body: '{"status":"MATCHED"}' }));
    const gw = await start(handlers);
    const body = JSON.stringify({ bill_date: '2026-01-01' });
    const created = await fetch(`${gw.url}/reconciliations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ status: 'MATCHED' });
    await fetch(`${gw.url}/reconciliations/2026-01-01`);

    expect(calls.map((c) => [c.target, c.event.routeKey])).toEqual([
      ['bills', 'POST /reconciliations'],
      ['bills', 'GET /reconciliations/{bill_date}'],
    ]);
    expect(calls[0]?.event).toMatchObject({ version: '2.0', rawPath: '/reconciliations', body });
    expect(calls[0]?.event.pathParameters).toBeUndefined();
    expect(calls[1]?.event.pathParameters).toEqual({ bill_date: '2026-01-01' });
    // An HTTP API event with the IAM caller, like the orders routes'.
    const iam = calls[1]?.event as APIGatewayProxyEventV2WithIAMAuthorizer;
    expect(iam.requestContext.authorizer.iam.callerId).toContain('iam-auth-skipped');
    expect(calls[0]?.context.functionName).toBe('bills');
    expect(calls[0]?.context.memoryLimitInMB).toBe('1769');
    expect(calls[0]?.remainingMs).toBeGreaterThan(14 * 60_000);
    expect(calls[0]?.remainingMs).toBeLessThanOrEqual(15 * 60_000);
  });

  it('answers 503 when an HTTP API route outlasts API Gateway’s wait, and lets the invocation finish', async () => {
    let finished = false;
    const { calls, handlers } = recordingHandlers(async () => {
      await new Promise((r) => setTimeout(r, 600));
      finished = true;
      return { statusCode: 201, body: '{}' };
    });
    const gw = await start(handlers, { httpApiTimeoutMs: 150 });
    const started = Date.now();
    const res = await fetch(`${gw.url}/reconciliations`, { method: 'POST', body: '{}' });
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ message: 'Service Unavailable' });
    expect(Date.now() - started).toBeLessThan(550);
    expect(finished).toBe(false);
    expect(logs.some((l) => l.includes('[bills] API Gateway stops waiting after 0.15 s'))).toBe(true);

    // Lambda is not stopped by API Gateway giving up: the run ends, and says so in the log.
    await new Promise((r) => setTimeout(r, 700));
    expect(finished).toBe(true);
    expect(logs.some((l) => l.includes('[bills] finished after API Gateway had answered 503'))).toBe(true);
    expect(calls).toHaveLength(1);
  });

  it('waits for the notify function its whole timeout: a Function URL has no 30 s limit of its own', async () => {
    const { handlers } = recordingHandlers(async () => {
      await new Promise((r) => setTimeout(r, 300));
      return { statusCode: 200, body: '' };
    });
    const gw = await start(handlers, { httpApiTimeoutMs: 100 });
    expect((await fetch(`${gw.url}/notify/pay`, { method: 'POST', body: '<xml/>' })).status).toBe(200);
    expect((await fetch(`${gw.url}/orders/1`)).status).toBe(503);
  });

  it('base64-encodes a binary request body and decodes a base64 result body', async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    const { calls, handlers } = recordingHandlers((event) => ({
      statusCode: 200,
      headers: { 'content-type': 'application/octet-stream' },
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
    }));
    const gw = await start(handlers);
    const res = await fetch(`${gw.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    expect(calls[0]?.event.isBase64Encoded).toBe(true);
    expect(calls[0]?.event.body).toBe(bytes.toString('base64'));
    expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
  });

  it('sends a string result as 200 application/json', async () => {
    const gw = await start(recordingHandlers(() => '{"hello":"world"}').handlers);
    const res = await fetch(`${gw.url}/orders/1`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(await res.json()).toEqual({ hello: 'world' });
  });

  it('answers 500 like API Gateway when the handler throws, and logs the error', async () => {
    const gw = await start(
      recordingHandlers(() => {
        throw new Error('store unavailable');
      }).handlers,
    );
    const res = await fetch(`${gw.url}/orders`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ message: 'Internal Server Error' });
    expect(logs.some((l) => l.includes('function error') && l.includes('store unavailable'))).toBe(true);
    const notify = await fetch(`${gw.url}/notify/pay`, { method: 'POST', body: '<xml/>' });
    expect(notify.status).toBe(500);
  });

  it('answers 500 for a malformed result and for a handler past its timeout', async () => {
    const gw = await start(
      recordingHandlers(async (event) => {
        if (event.rawPath === '/orders/slow') {
          await new Promise((r) => setTimeout(r, 1_000));
          return { statusCode: 200 };
        }
        return { statusCode: 'ok' };
      }).handlers,
      { ordersFunction: { timeoutMs: 200 } },
    );
    const malformed = await fetch(`${gw.url}/orders/fast`);
    expect(malformed.status).toBe(500);
    const started = Date.now();
    const slow = await fetch(`${gw.url}/orders/slow`);
    expect(slow.status).toBe(500);
    expect(Date.now() - started).toBeLessThan(900);
    expect(logs.some((l) => l.includes('Task timed out after 0.20 seconds'))).toBe(true);
  });

  it('answers 413 for an oversized body without calling the handler, declared length or not', async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers, { bodyLimits: { orders: 1024, notify: 1024, bills: 1024 } });
    const declared = await fetch(`${gw.url}/orders`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ message: 'Request Entity Too Large' });
    const reconciliation = await fetch(`${gw.url}/reconciliations`, { method: 'POST', body: 'x'.repeat(1025) });
    expect(reconciliation.status).toBe(413);

    // Chunked: no content-length, so the gateway must count as it reads.
    const chunkedStatus = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${gw.url}/notify/pay`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      for (let i = 0; i < 8; i++) req.write('y'.repeat(512));
      req.end();
    });
    expect(chunkedStatus).toBe(413);

    const exact = await fetch(`${gw.url}/orders`, {
      method: 'POST',
      body: 'z'.repeat(1024),
      headers: { 'content-type': 'text/plain' },
    });
    expect(exact.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.event.body).toHaveLength(1024);
  });

  it("keeps AWS's limits by default: a 2 MiB notification reaches the Function URL, 7 MiB does not", async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers);
    const ok = await fetch(`${gw.url}/notify/pay`, {
      method: 'POST',
      headers: { 'content-type': 'text/xml' },
      body: 'a'.repeat(2 * 1024 * 1024),
    });
    expect(ok.status).toBe(200);
    const tooLarge = await fetch(`${gw.url}/notify/pay`, { method: 'POST', body: 'a'.repeat(7 * 1024 * 1024) });
    expect(tooLarge.status).toBe(413);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.event.body).toHaveLength(2 * 1024 * 1024);
  });

  it('answers 404 with the error shape for unknown routes and wrong methods', async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers);
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/orders'],
      ['DELETE', '/orders/1'],
      ['GET', '/notify/pay'],
      ['POST', '/orders/1/close/extra'],
      ['GET', '/reconciliations'],
      ['POST', '/reconciliations/2026-01-01'],
      ['GET', '/reconciliations/2026-01-01/extra'],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, { method });
      expect(res.status, `${method} ${path}`).toBe(404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('NOT_FOUND');
      expect(body.error.message).toContain(path);
    }
    expect(calls).toHaveLength(0);
  });

  it('serves GET /health, and 503 until handlers are attached', async () => {
    const gw = await start(undefined, { health: () => ({ tableName: 'orders-x' }) });
    const early = await fetch(`${gw.url}/health`);
    expect(early.status).toBe(503);
    expect(((await early.json()) as { status: string }).status).toBe('starting');
    expect((await fetch(`${gw.url}/orders/1`)).status).toBe(503);

    const { calls, handlers } = recordingHandlers();
    gw.attach(handlers);
    const res = await fetch(`${gw.url}/health`);
    expect(res.status).toBe(200);
    // The region is the one a caller signs for: the demo and other local clients read it here.
    expect(await res.json()).toEqual({
      status: 'ok',
      iamAuth: 'skipped locally',
      region: 'ap-east-1',
      tableName: 'orders-x',
    });
    expect((await fetch(`${gw.url}/orders/1`)).status).toBe(200);
    expect(calls).toHaveLength(1);
  });
});

/** A raw request with exactly this Host header (fetch would set its own). */
function withHost(gw: Gateway, host: string | undefined, method = 'GET', path = '/orders/1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = host === undefined ? {} : { host };
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, method, path, headers, setHost: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local gateway Host check (DNS rebinding)', () => {
  it('serves the loopback names with its own port', async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers);
    for (const host of [`127.0.0.1:${gw.port}`, `localhost:${gw.port}`, `LocalHost:${gw.port}`, `[::1]:${gw.port}`]) {
      expect({ host, status: await withHost(gw, host) }).toEqual({ host, status: 200 });
    }
    expect(calls).toHaveLength(4);
  });

  it('refuses any other name or port with 421 (and no Host at all), before a handler or the health route', async () => {
    const { calls, handlers } = recordingHandlers();
    const gw = await start(handlers);
    const refused = [
      `attacker.example:${gw.port}`,
      // A name that resolves to 127.0.0.1 is how a rebinding page gets here.
      `127.0.0.1.nip.io:${gw.port}`,
      'attacker.example',
      '127.0.0.1',
      `127.0.0.1:${gw.port + 1}`,
      `localhost.:${gw.port}`,
      `127.0.0.1:${gw.port}@attacker.example`,
    ];
    for (const host of refused) {
      expect({ host, status: await withHost(gw, host) }).toEqual({ host, status: 421 });
      expect({ host, status: await withHost(gw, host, 'POST', '/notify/pay') }).toEqual({ host, status: 421 });
    }
    expect(await withHost(gw, `evil.example:${gw.port}`, 'GET', '/health')).toBe(421);
    // Without Host, Node's HTTP server itself answers 400 (requireHostHeader).
    expect(await withHost(gw, undefined)).toBe(400);
    expect(calls).toHaveLength(0);
    expect(logs.some((line) => line.includes('421'))).toBe(true);
  });
});
