import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signV2 } from '#shared/wechatpay/v2/sign';
import type { SignType } from '#shared/wechatpay/v2/sign';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import type { Merchant } from '#sandbox/simulator/sandbox-merchant';

/** The merchant the simulators in these tests are started with (a valid 32-character key). */
export const MERCHANT: Merchant = {
  appid: 'wxd930ea5d5a258f4f',
  mchid: '10000100',
  apiKey: '192006250b4c09247ec02edce69f6a2d',
};

export const SUCCESS_REPLY =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';
export const FAIL_REPLY =
  '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[not yet]]></return_msg></xml>';

let counter = 0;
/** A fresh out_trade_no per call, unique across files running in parallel. */
export function newOutTradeNo(prefix = 'T'): string {
  counter += 1;
  return `${prefix}${process.pid}${Date.now().toString(36)}${counter}`.slice(0, 32);
}

export interface Answer {
  status?: number;
  body?: string;
  delayMs?: number;
}

export interface Received {
  /** performance.now() when the request arrived. */
  at: number;
  raw: string;
  fields: Record<string, string>;
  contentType: string | undefined;
}

/**
 * A real merchant notify endpoint on loopback: records every notification and answers as `respond`
 * says (by default the exact SUCCESS reply).
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: (index: number, received: Received) => Answer = () => ({ body: SUCCESS_REPLY });
  inFlight = 0;
  maxInFlight = 0;
  private server!: Server;
  url = '';

  static async start(): Promise<Receiver> {
    const receiver = new Receiver();
    receiver.server = createServer((req, res) => {
      receiver.inFlight += 1;
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      const at = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        let fields: Record<string, string> = {};
        try {
          fields = parseXml(raw);
        } catch {
          // recorded as received; the test decides what that means
        }
        const received: Received = { at, raw, fields, contentType: req.headers['content-type'] };
        receiver.received.push(received);
        const answer = receiver.respond(receiver.received.length - 1, received);
        setTimeout(() => {
          receiver.inFlight -= 1;
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, { 'content-type': 'text/xml' });
          res.end(answer.body ?? SUCCESS_REPLY);
        }, answer.delayMs ?? 0);
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/notify/pay`;
    return receiver;
  }

  for(outTradeNo: string): Received[] {
    return this.received.filter((r) => r.fields.out_trade_no === outTradeNo);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export interface V2Response {
  status: number;
  text: string;
  fields: Record<string, string>;
}

/** Signs `params` like a merchant and POSTs them as XML to a v2 path. */
export async function callV2(
  baseUrl: string,
  path: string,
  params: Record<string, string | undefined>,
  opts: { key?: string; signType?: SignType; sign?: string | null } = {},
): Promise<V2Response> {
  const signType = opts.signType ?? (params.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5');
  const body = { ...params };
  if (opts.sign !== null) body.sign = opts.sign ?? signV2(body, opts.key ?? MERCHANT.apiKey, signType);
  return postXml(baseUrl, path, toXml(body));
}

export async function postXml(baseUrl: string, path: string, xml: string, init: RequestInit = {}): Promise<V2Response> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    body: xml,
    headers: { 'content-type': 'text/xml' },
    ...init,
  });
  const text = await res.text();
  let fields: Record<string, string> = {};
  try {
    fields = parseXml(text);
  } catch {
    // not XML (e.g. the http500 fault)
  }
  return { status: res.status, text, fields };
}

/** A complete, valid unified order for `MERCHANT`; override or remove (undefined) fields per test. */
export function unifiedOrderParams(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  const tradeType = overrides.trade_type ?? 'APP';
  return {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: 'n0nce' + Math.random().toString(36).slice(2, 12),
    body: 'Sandbox shop - test goods',
    out_trade_no: newOutTradeNo(),
    total_fee: '1999',
    spbill_create_ip: '203.0.113.7',
    notify_url: 'http://127.0.0.1:9/notify/pay',
    trade_type: tradeType,
    openid: tradeType === 'JSAPI' ? 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' : undefined,
    product_id: tradeType === 'NATIVE' ? 'sku-42' : undefined,
    scene_info:
      tradeType === 'MWEB'
        ? '{"h5_info":{"type":"Wap","wap_url":"https://shop.example","wap_name":"shop"}}'
        : undefined,
    ...overrides,
  };
}

export function queryParams(
  key: { out_trade_no?: string; transaction_id?: string },
  signType?: SignType,
): Record<string, string | undefined> {
  return {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: 'q' + Math.random().toString(36).slice(2, 12),
    sign_type: signType,
    ...key,
  };
}

export async function controlPost(
  baseUrl: string,
  path: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export async function pay(baseUrl: string, outTradeNo: string, result = 'SUCCESS', openid?: string) {
  return controlPost(baseUrl, `/sandbox/orders/${encodeURIComponent(outTradeNo)}/pay`, {
    result,
    ...(openid ? { openid } : {}),
  });
}

export interface NotifyJournalEntry {
  attempt: number;
  copy: number;
  outcome: string;
  fault?: string;
  httpStatus?: number;
  durationMs?: number;
  body?: string;
}

export interface OrderDebug {
  order: {
    trade_state: string;
    notification: { status: string; attempts: number } | null;
    [k: string]: unknown;
  } | null;
  requests: Array<{ path: string; request: string; response: string; httpStatus: number; fault?: string }>;
  payer: Array<{ result: string; outcome: string }>;
  notifications: NotifyJournalEntry[];
}

export async function debugOrder(baseUrl: string, outTradeNo: string): Promise<OrderDebug> {
  const res = await fetch(`${baseUrl}/sandbox/orders/${encodeURIComponent(outTradeNo)}`);
  if (res.status !== 200) throw new Error(`GET /sandbox/orders/${outTradeNo}: ${res.status}`);
  return (await res.json()) as OrderDebug;
}

export async function waitFor<T>(
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Creates an order and returns its out_trade_no and the unified order answer. */
export async function createOrder(baseUrl: string, overrides: Record<string, string | undefined> = {}) {
  const params = unifiedOrderParams(overrides);
  const response = await callV2(baseUrl, '/pay/unifiedorder', params);
  if (response.fields.result_code !== 'SUCCESS') throw new Error(`unifiedorder failed: ${response.text}`);
  return { outTradeNo: params.out_trade_no as string, params, response };
}
