import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

// Loopback plumbing for the interop tests with independent WeChat Pay clients (tenpay,
// wechatpay-axios-plugin): a tiny HTTP endpoint for notifications, and a proxy that alters the
// simulator's answers on their way to the client. Nothing here signs, verifies or parses WeChat's
// formats: that is the independent libraries' job in these tests.

/** One HTTP request as the endpoint received it (header names lower-case). */
export interface Exchange {
  method: string;
  /** Path and query, as sent. */
  path: string;
  headers: Record<string, string>;
  body: string;
}

/** What the endpoint answers. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** An HTTP server on 127.0.0.1 that hands every request, body read in full, to `handle`. */
export class LoopbackEndpoint {
  url = '';
  private server!: Server;

  static async start(handle: (exchange: Exchange) => Reply | Promise<Reply>): Promise<LoopbackEndpoint> {
    const endpoint = new LoopbackEndpoint();
    endpoint.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const exchange: Exchange = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
          ),
          body: Buffer.concat(chunks).toString('utf8'),
        };
        Promise.resolve()
          .then(() => handle(exchange))
          .then(
            (reply) => {
              if (res.destroyed) return;
              res.writeHead(reply.status, reply.headers ?? {});
              res.end(reply.body ?? '');
            },
            (error: unknown) => {
              if (res.destroyed) return;
              res.writeHead(500, { 'content-type': 'text/plain' });
              res.end(`test endpoint failed: ${error instanceof Error ? error.message : String(error)}`);
            },
          );
      });
    });
    await new Promise<void>((resolve) => endpoint.server.listen(0, '127.0.0.1', () => resolve()));
    endpoint.url = `http://127.0.0.1:${(endpoint.server.address() as AddressInfo).port}`;
    return endpoint;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** An answer relayed by the proxy: the tamper function may change any part of it. */
export interface Relayed {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Headers that describe one hop's framing, not the message: the proxy sets its own. */
const HOP_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export interface TamperingProxy {
  url: string;
  /** How many answers `tamper` changed (a test asserts its tampering really happened). */
  tampered: number;
  close(): Promise<void>;
}

/**
 * A man in the middle on loopback: forwards each request unchanged to `target` and hands the
 * answer to `tamper` before relaying it. The signatures inside stay as the simulator made them, so
 * a client that verifies must refuse what was changed.
 */
export async function startTamperingProxy(
  target: string,
  tamper: (answer: Relayed, request: Exchange) => Relayed,
): Promise<TamperingProxy> {
  const proxy: TamperingProxy = { url: '', tampered: 0, close: async () => {} };
  const endpoint = await LoopbackEndpoint.start(async (request) => {
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([k]) => !HOP_HEADERS.has(k)));
    // fetch decodes compressed bodies, so ask for none: the body relayed is the body signed.
    headers['accept-encoding'] = 'identity';
    const res = await fetch(`${target}${request.path}`, {
      method: request.method,
      headers,
      ...(request.method === 'GET' || request.method === 'HEAD' ? {} : { body: request.body }),
    });
    const original: Relayed = {
      status: res.status,
      headers: Object.fromEntries([...res.headers].filter(([k]) => !HOP_HEADERS.has(k))),
      body: await res.text(),
    };
    const changed = tamper({ ...original, headers: { ...original.headers } }, request);
    if (changed.body !== original.body || JSON.stringify(changed.headers) !== JSON.stringify(original.headers))
      proxy.tampered += 1;
    return changed;
  });
  proxy.url = endpoint.url;
  proxy.close = () => endpoint.close();
  return proxy;
}

// ---- The merchant, and the simulator's control API over plain fetch ----
// Kept here rather than taken from support.ts / v3-support.ts, which build on our own WeChat Pay
// library: these tests depend on the simulator and the independent clients only.

/** The v2 merchant (a valid 32-character APIv2 key); v3 tests add their own RSA identity. */
export const MERCHANT = { appid: 'wx1ndependent0c1i', mchid: '1900000777', apiKey: 'independentClientsApiKey00000000' };

/** The merchant's v3 identity: an RSA key pair made with node:crypto, a certificate serial, an APIv3 key. */
export function merchantV3Identity(): {
  privateKeyPem: string;
  publicKeyPem: string;
  serial: string;
  apiV3Key: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    serial: '5E8C1F4A0B7D2E9C3A6F1B8D4E2C7A9F0B3D5E71',
    apiV3Key: 'independentClientsApiV3Key000000',
  };
}

let counter = 0;
/** A fresh out_trade_no per call (letters and digits, at most 32), unique across files running in parallel. */
export function newOutTradeNo(prefix: string): string {
  counter += 1;
  return `${prefix}${process.pid}${Date.now().toString(36)}${counter}`.slice(0, 32);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  what: string,
  timeoutMs = 5000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function controlCall(url: string, method: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await res.text();
  return { status: res.status, json: text === '' ? undefined : (JSON.parse(text) as unknown) };
}

/** The payer: POST /sandbox/orders/{out_trade_no}/pay. */
export function payOrder(simUrl: string, outTradeNo: string, result: 'SUCCESS' | 'FAIL', openid?: string) {
  const body = openid === undefined ? { result } : { result, openid };
  return controlCall(`${simUrl}/sandbox/orders/${encodeURIComponent(outTradeNo)}/pay`, 'POST', body);
}

/** POST /sandbox/faults for one order. */
export async function setNotifyFault(simUrl: string, outTradeNo: string, notify: 'corrupt_sign'): Promise<void> {
  const { status } = await controlCall(`${simUrl}/sandbox/faults`, 'POST', { notify, out_trade_no: outTradeNo });
  if (status !== 200) throw new Error(`POST /sandbox/faults: ${status}`);
}

export async function clearFaults(simUrl: string): Promise<void> {
  await controlCall(`${simUrl}/sandbox/faults`, 'DELETE');
}

/** The fields of GET /sandbox/orders/{out_trade_no} these tests read. */
export interface SimulatorRecord {
  order: {
    trade_state: string;
    trade_type: string;
    total_fee: number;
    sign_type?: string;
    prepay_id: string;
    openid?: string;
    notification: { status: string; attempts: number } | null;
  } | null;
  notifications: Array<{ outcome: string }>;
}

/** What the simulator holds about an order; undefined when it knows nothing of it. */
export async function simulatorRecord(simUrl: string, outTradeNo: string): Promise<SimulatorRecord | undefined> {
  const { status, json } = await controlCall(`${simUrl}/sandbox/orders/${encodeURIComponent(outTradeNo)}`, 'GET');
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET /sandbox/orders/${outTradeNo}: ${status}`);
  return json as SimulatorRecord;
}

/** The simulator's order, which must exist. */
export async function simulatorOrder(
  simUrl: string,
  outTradeNo: string,
): Promise<NonNullable<SimulatorRecord['order']>> {
  const order = (await simulatorRecord(simUrl, outTradeNo))?.order;
  if (order === null || order === undefined) throw new Error(`the simulator holds no order ${outTradeNo}`);
  return order;
}

/** Waits until the simulator counts the order's notification as delivered. */
export function delivered(simUrl: string, outTradeNo: string): Promise<true> {
  return waitFor(
    async () => (await simulatorRecord(simUrl, outTradeNo))?.order?.notification?.status === 'delivered',
    `the notification for ${outTradeNo} to be delivered`,
  );
}
