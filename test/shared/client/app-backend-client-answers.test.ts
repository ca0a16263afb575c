import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { AppBackendClient } from '#shared/client/app-backend-client';
import { signRequest } from '#shared/client/sigv4-transport';
import { refusalOf } from '#test/helpers/app-backend-refusal';

/*
 * Answers the real stack never gives (a body that breaks the contract, API Gateway's own refusals, a
 * Retry-After, silence), from a loopback server of the test's, and what the client puts on the wire.
 */

const KEY = { accessKeyId: 'AKIDANSWERS', secretAccessKey: 'answers-secret', sessionToken: 'session-token-1' };

interface Arrived {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let baseUrl: string;
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const arrived: Arrived[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrived.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString(),
      });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  arrived.length = 0;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function answerWith(status: number, body: unknown, headers: Record<string, string> = {}): void {
  answer = (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

function client(options: { timeoutMs?: number; base?: string } = {}): AppBackendClient {
  return new AppBackendClient({
    baseUrl: options.base ?? baseUrl,
    region: 'ap-east-1',
    credentials: KEY,
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
  });
}

const REFUND = {
  out_refund_no: 'RF1',
  out_trade_no: 'ORDER*|1',
  status: 'PROCESSING',
  amount: { refund: 30, total: 100, currency: 'CNY' },
  created_at: '2026-01-01T10:00:00+08:00',
  updated_at: '2026-01-01T10:00:00+08:00',
};

describe('what the client sends', () => {
  it('signs for execute-api in its region, with the session token, and sends the path it signed', async () => {
    answerWith(200, REFUND);
    await client().getRefund('ORDER*|1', 'RF1', { sync: true });
    const [req] = arrived;
    expect(req?.method).toBe('GET');
    // `*` sent encoded, as SigV4's canonical form has it (encodeURIComponent would leave it bare).
    expect(req?.url).toBe('/orders/ORDER%2A%7C1/refunds/RF1?sync=1');
    const scope = String.raw`Credential=AKIDANSWERS/\d{8}/ap-east-1/execute-api/aws4_request`;
    expect(req?.headers.authorization).toMatch(
      new RegExp(
        String.raw`^AWS4-HMAC-SHA256 ${scope}, SignedHeaders=([a-z0-9-]+;)*host(;[a-z0-9-]+)*, Signature=[0-9a-f]{64}$`,
      ),
    );
    expect(req?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(req?.headers['x-amz-security-token']).toBe('session-token-1');
  });

  it('keeps the base URL’s stage path and sends a body as JSON', async () => {
    answerWith(201, REFUND);
    await client({ base: `${baseUrl}/prod/` }).createRefund('ORDER*|1', { amount: { refund: 30 } });
    expect(arrived[0]).toMatchObject({
      method: 'POST',
      url: '/prod/orders/ORDER%2A%7C1/refunds',
      body: JSON.stringify({ amount: { refund: 30 } }),
    });
    expect(arrived[0]?.headers['content-type']).toBe('application/json');
    expect(arrived[0]?.headers.authorization).toMatch(/SignedHeaders=[a-z0-9;-]*content-type/);
  });

  it('asks for the credentials before each call, so refreshed ones sign', async () => {
    answerWith(200, REFUND);
    let served = 0;
    const rotating = new AppBackendClient({
      baseUrl,
      region: 'ap-east-1',
      credentials: async () => {
        served += 1;
        return { accessKeyId: `AKIDROTATED${served}`, secretAccessKey: 'rotated' };
      },
    });
    await rotating.getRefund('ORDER*|1', 'RF1');
    await rotating.getRefund('ORDER*|1', 'RF1');
    expect(arrived.map((r) => /Credential=(\w+)\//.exec(r.headers.authorization ?? '')?.[1])).toEqual([
      'AKIDROTATED1',
      'AKIDROTATED2',
    ]);
  });
});

describe('answers that are not what the API promises', () => {
  it('refuses a 2xx body that breaks the schema, instead of handing it over as typed', async () => {
    answerWith(200, { ...REFUND, amount: { refund: '30', total: 100, currency: 'CNY' } });
    const error = await refusalOf(client().getRefund('ORDER*|1', 'RF1'));
    expect(error).toMatchObject({ status: 200, code: 'INVALID_RESPONSE', retryable: false });
    expect(error.message).toContain('amount.refund');
  });

  it('refuses a time without its offset (the contract is RFC 3339 with offset)', async () => {
    answerWith(200, { ...REFUND, created_at: '20260101100000' });
    expect(await refusalOf(client().getRefund('ORDER*|1', 'RF1'))).toMatchObject({ code: 'INVALID_RESPONSE' });
  });

  it('refuses a 2xx answer that is not JSON', async () => {
    answerWith(200, '<html>hello</html>');
    expect(await refusalOf(client().listRefunds('ORDER1'))).toMatchObject({ status: 200, code: 'INVALID_RESPONSE' });
  });
});

describe('refusals', () => {
  it("API Gateway's own { message } answer: HTTP_<status> with its message", async () => {
    answerWith(403, { message: 'The security token included in the request is invalid.' });
    expect(await refusalOf(client().getOrder('ORDER1'))).toMatchObject({
      status: 403,
      code: 'HTTP_403',
      message: 'The security token included in the request is invalid.',
      retryable: undefined,
    });
  });

  it("the backend's error body: its code, message, field and retryable; Retry-After in seconds", async () => {
    answerWith(
      502,
      { error: { code: 'SYSTEMERROR', message: 'WeChat Pay: system error', retryable: true } },
      { 'retry-after': '7' },
    );
    expect(await refusalOf(client().closeOrder('ORDER1'))).toMatchObject({
      status: 502,
      code: 'SYSTEMERROR',
      message: 'WeChat Pay: system error',
      retryable: true,
      retryAfterSeconds: 7,
      field: undefined,
    });
  });

  it('Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 120_000).toUTCString();
    answerWith(409, { error: { code: 'BILL_NOT_READY', message: 'not yet' } }, { 'retry-after': at });
    const error = await refusalOf(client().createReconciliation({ bill_date: '2026-01-01' }));
    expect(error.retryAfterSeconds).toBeGreaterThanOrEqual(118);
    expect(error.retryAfterSeconds).toBeLessThanOrEqual(120);
  });

  it('a body that is neither: HTTP_<status>', async () => {
    answerWith(500, 'Internal Server Error');
    expect(await refusalOf(client().getOrder('ORDER1'))).toMatchObject({ status: 500, code: 'HTTP_500' });
  });

  it('no answer within timeoutMs: TIMEOUT, status 0, retryable', async () => {
    answer = () => {
      // Never answers: the client's own timeout must end the call.
    };
    const started = Date.now();
    const error = await refusalOf(client({ timeoutMs: 300 }).getOrder('ORDER1'));
    expect(error).toMatchObject({ status: 0, code: 'TIMEOUT', retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('nothing listening: NETWORK, status 0, retryable; the secret is in no message', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await refusalOf(client({ base: `http://127.0.0.1:${port}` }).getOrder('ORDER1'));
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', retryable: true });
    expect(error.message).not.toContain(KEY.secretAccessKey);
  });
});

describe('retryable only when sending the call again can do no harm', () => {
  const ORDER = {
    description: 'retry',
    amount: { total: 1 },
    trade_type: 'NATIVE' as const,
    product_id: 'sku-1',
    scene_info: { payer_client_ip: '198.51.100.7' },
  };
  // Each call and whether a second attempt is safe: a POST without its own id makes a second order or refund.
  const calls: [string, boolean, (c: AppBackendClient) => Promise<unknown>][] = [
    ['getOrder', true, (c) => c.getOrder('ORDER1')],
    ['listEvents', true, (c) => c.listEvents()],
    ['closeOrder', true, (c) => c.closeOrder('ORDER1')],
    ['createOrder with its out_trade_no', true, (c) => c.createOrder({ ...ORDER, out_trade_no: 'ORDER1' })],
    ['createOrder without out_trade_no', false, (c) => c.createOrder(ORDER)],
    [
      'createRefund with its out_refund_no',
      true,
      (c) => c.createRefund('ORDER1', { out_refund_no: 'RF1', amount: { refund: 1 } }),
    ],
    ['createRefund without out_refund_no', false, (c) => c.createRefund('ORDER1', { amount: { refund: 1 } })],
    ['createMiniProgramSession (a code is used once)', false, (c) => c.createMiniProgramSession('code-1')],
    [
      'decryptMiniProgramData (only reads)',
      true,
      (c) => c.decryptMiniProgramData({ openid: 'o1', encrypted_data: 'AAAA', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }),
    ],
    ['createReconciliation (the day names it)', true, (c) => c.createReconciliation({ bill_date: '2026-01-01' })],
  ];

  it.each(calls)('no answer in time: %s → TIMEOUT, retryable %s', async (_name, idempotent, send) => {
    answer = () => {
      // Never answers: the call may or may not have been carried out.
    };
    expect(await refusalOf(send(client({ timeoutMs: 200 })))).toMatchObject({
      status: 0,
      code: 'TIMEOUT',
      retryable: idempotent,
    });
  });

  it.each(calls)('connection lost: %s → NETWORK, retryable %s', async (_name, idempotent, send) => {
    answer = (req) => {
      // The request arrived (and may have been carried out); the answer never does.
      req.socket.destroy();
    };
    expect(await refusalOf(send(client()))).toMatchObject({ status: 0, code: 'NETWORK', retryable: idempotent });
  });

  it.each(calls)("the backend's retryable 502: %s → retryable %s", async (_name, idempotent, send) => {
    answerWith(502, { error: { code: 'SYSTEMERROR', message: 'WeChat Pay: system error', retryable: true } });
    expect(await refusalOf(send(client()))).toMatchObject({ status: 502, code: 'SYSTEMERROR', retryable: idempotent });
  });
});

describe('signRequest, the one signer', () => {
  it('sends the path and query exactly as it signed them, in SigV4’s strict encoding', async () => {
    const signed = await signRequest({
      method: 'GET',
      url: `${baseUrl}/orders/A*B|C (1)!/refunds/é?sync=1&note=a b*`,
      credentials: KEY,
      region: 'ap-east-1',
    });
    expect(signed.url).toBe(`${baseUrl}/orders/A%2AB%7CC%20%281%29%21/refunds/%C3%A9?sync=1&note=a%20b%2A`);
    expect(signed.headers.host).toBe(new URL(baseUrl).host);
    // The server recomputes the signature over what arrives: the same request signed from the wire URL
    // (path and query already strict) carries the same signature.
    const again = await signRequest({
      method: 'GET',
      url: signed.url,
      credentials: KEY,
      region: 'ap-east-1',
      signingDate: dateOf(signed),
    });
    expect(again).toEqual(signed);
  });
});

function dateOf(signed: { headers: Record<string, string> }): Date {
  const stamp = signed.headers['x-amz-date'] ?? '';
  return new Date(stamp.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
}
