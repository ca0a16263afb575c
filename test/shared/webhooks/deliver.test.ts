import { createServer } from 'node:http';
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { deliverWebhook } from '#shared/webhooks/deliver';
import { generateWebhookSecret, parseWebhookSecret } from '#shared/webhooks/webhook-secret';

interface Received {
  method: string | undefined;
  path: string | undefined;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback receiver: records every request with its raw body, then answers as the test says. */
let server: Server;
let baseUrl: string;
let received: Received[];
let answer: Answer;

const SECRET = generateWebhookSecret();
const KEY = parseWebhookSecret(SECRET);
const ID = 'evt_0123456789abcdef0123456789abcdef';
const BODY = JSON.stringify({
  id: ID,
  type: 'refund.succeeded',
  created_at: '2026-01-01T10:00:00+08:00',
  data: { out_trade_no: 'T1', out_refund_no: 'RF1', reason: '退货 – one item', amount: { refund: 30 } },
});

const attempt = (overrides: Partial<Parameters<typeof deliverWebhook>[0]> = {}) =>
  deliverWebhook({ url: `${baseUrl}/hooks/wechatpay`, key: KEY, id: ID, body: BODY, ...overrides });

/** Writes to `res` until the client goes away: an answer that never ends. */
function endless(res: ServerResponse): void {
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const pump = (): void => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', pump);
  };
  pump();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      received.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  answer = (_req, res) => res.writeHead(204).end();
});

describe('deliverWebhook to a receiver that takes it', () => {
  it('POSTs the body byte for byte as JSON with headers the Standard Webhooks library verifies', async () => {
    const result = await attempt();

    expect(result).toMatchObject({ delivered: true, status: 204 });
    expect(received).toHaveLength(1);
    const [request] = received;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/hooks/wechatpay');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['webhook-id']).toBe(ID);
    expect(request?.body.equals(Buffer.from(BODY, 'utf8'))).toBe(true);
    const headers = request?.headers as Record<string, string>;
    expect(new Webhook(SECRET).verify(request?.body.toString('utf8') ?? '', headers)).toEqual(JSON.parse(BODY));
  });

  it.each([200, 201, 202, 299])('counts %i as delivered', async (status) => {
    answer = (_req, res) => res.writeHead(status).end('thanks');
    expect(await attempt()).toMatchObject({ delivered: true, status });
  });

  it('stamps the attempt with the time now() gives, in unix seconds', async () => {
    await attempt({ now: () => new Date('2026-01-01T00:00:00.999Z') });
    expect(received[0]?.headers['webhook-timestamp']).toBe('1767225600');
  });

  it('measures how long the attempt took', async () => {
    answer = (_req, res) => setTimeout(() => res.writeHead(200).end(), 120);
    const result = await attempt();
    expect(result.delivered).toBe(true);
    expect(result.ms).toBeGreaterThanOrEqual(100);
    expect(result.ms).toBeLessThan(2000);
  });
});

describe('deliverWebhook to a receiver that fails', () => {
  it.each([500, 503, 404, 410, 429, 400, 304])('reports %i as a status failure', async (status) => {
    answer = (_req, res) => res.writeHead(status).end();
    const result = await attempt();
    expect(result).toMatchObject({ delivered: false, failure: 'status', status });
    expect(result.delivered === false && result.detail).toContain(String(status));
  });

  it('does not follow a redirect: a 302 is a failure and the new location is never called', async () => {
    answer = (req, res) => {
      if (req.url === '/moved') res.writeHead(200).end();
      else res.writeHead(302, { location: `${baseUrl}/moved` }).end();
    };
    const result = await attempt();
    expect(result).toMatchObject({ delivered: false, failure: 'status', status: 302 });
    expect(received.map((r) => r.path)).toEqual(['/hooks/wechatpay']);
  });

  it('gives up on a receiver that never answers after timeoutMs', async () => {
    answer = () => undefined;
    const result = await attempt({ timeoutMs: 200 });
    expect(result).toMatchObject({ delivered: false, failure: 'timeout' });
    expect(result.ms).toBeGreaterThanOrEqual(190);
    expect(result.ms).toBeLessThan(2000);
    expect(result.delivered === false && result.status).toBeUndefined();
  });

  it('reports a receiver that closes the connection as a connection failure', async () => {
    answer = (req) => req.socket.destroy();
    const result = await attempt();
    expect(result).toMatchObject({ delivered: false, failure: 'connection' });
    expect(result.delivered === false && result.detail).not.toBe('');
  });

  it('reports a refused connection as a connection failure', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const result = await attempt({ url: `http://127.0.0.1:${port}/` });
    expect(result).toMatchObject({ delivered: false, failure: 'connection' });
    expect(result.delivered === false && result.detail).toMatch(/ECONNREFUSED/);
  });
});

describe('deliverWebhook and the answer body', () => {
  it('does not read an endless answer: it returns at once after the status', async () => {
    answer = (_req, res) => {
      res.writeHead(200);
      endless(res);
    };
    const result = await attempt({ timeoutMs: 5000 });
    expect(result).toMatchObject({ delivered: true, status: 200 });
    expect(result.ms).toBeLessThan(1500);
  });

  it('does not read an endless error answer either', async () => {
    answer = (_req, res) => {
      res.writeHead(500);
      endless(res);
    };
    const result = await attempt({ timeoutMs: 5000 });
    expect(result).toMatchObject({ delivered: false, failure: 'status', status: 500 });
    expect(result.ms).toBeLessThan(1500);
  });

  it('is not held past timeoutMs by a body that never ends, and keeps the status it had', async () => {
    answer = (_req, res) => {
      res.writeHead(200);
      res.write('{"ok":');
    };
    const result = await attempt({ timeoutMs: 300 });
    expect(result).toMatchObject({ delivered: true, status: 200 });
    expect(result.ms).toBeLessThan(2000);
  });
});

describe('deliverWebhook and the caller', () => {
  it.each([
    ['no URL', 'not a url'],
    ['another scheme', 'ftp://127.0.0.1/hooks'],
    ['credentials in the URL', 'http://user:pass@127.0.0.1/hooks'],
  ])('throws for %s, without calling anyone', async (_what, url) => {
    await expect(attempt({ url })).rejects.toThrow(TypeError);
    expect(received).toHaveLength(0);
  });

  it('throws for an id the scheme cannot carry, or a timeout that is no duration', async () => {
    await expect(attempt({ id: 'evt.1' })).rejects.toThrow(RangeError);
    await expect(attempt({ timeoutMs: 0 })).rejects.toThrow(RangeError);
    expect(received).toHaveLength(0);
  });

  it('sends through the fetch it is given', async () => {
    const seen: string[] = [];
    const recording: typeof fetch = (url, init) => {
      seen.push(String(url));
      return fetch(url, init);
    };
    expect(await attempt({ fetch: recording })).toMatchObject({ delivered: true });
    expect(seen).toEqual([`${baseUrl}/hooks/wechatpay`]);
  });
});
