import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { readRefundReqInfo } from '#shared/wechatpay/v2/refund-req-info';
import { signV2 } from '#shared/wechatpay/v2/sign';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, SUCCESS_REPLY, callV2, createOrder, newOutTradeNo, pay } from './support';
import type { V2Response } from './support';

export interface HttpsAnswer {
  status: number;
  contentType: string | undefined;
  text: string;
}

/** One request over node:https, trusting `ca` and presenting `cert`/`key` when given. */
export function httpsCall(
  url: string,
  opts: { method?: string; body?: string; headers?: Record<string, string>; ca?: string; cert?: string; key?: string },
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: false,
        ...(opts.ca === undefined ? {} : { ca: opts.ca }),
        ...(opts.cert === undefined ? {} : { cert: opts.cert, key: opts.key }),
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'], text }));
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

export type ClientCert = 'merchant' | 'none' | { certPem: string; keyPem: string };

/** Signs `params` like the merchant and POSTs them to /secapi/pay/refund over mutual TLS. */
export async function secapiRefund(
  sim: RunningSimulator,
  params: Record<string, string | undefined>,
  cert: ClientCert = 'merchant',
): Promise<V2Response> {
  const body: Record<string, string | undefined> = { ...params };
  body.sign = signV2(body, MERCHANT.apiKey, params.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5');
  const pair =
    cert === 'merchant'
      ? { certPem: sim.tls.clientCertPem, keyPem: sim.tls.clientKeyPem }
      : cert === 'none'
        ? undefined
        : cert;
  const answer = await httpsCall(`${sim.httpsUrl}/secapi/pay/refund`, {
    method: 'POST',
    body: toXml(body),
    headers: { 'content-type': 'text/xml' },
    ca: sim.tls.caCertPem,
    ...(pair === undefined ? {} : { cert: pair.certPem, key: pair.keyPem }),
  });
  let fields: Record<string, string> = {};
  try {
    fields = parseXml(answer.text);
  } catch {
    // nginx's HTML page
  }
  return { status: answer.status, text: answer.text, fields };
}

let refundCounter = 0;
export function newOutRefundNo(prefix = 'RF'): string {
  refundCounter += 1;
  return `${prefix}${process.pid}${Date.now().toString(36)}${refundCounter}`;
}

/** A valid v2 refund request of `refund_fee` fen of a `total_fee` order. */
export function refundParams(
  outTradeNo: string,
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: `r${Math.random().toString(36).slice(2, 12)}`,
    out_trade_no: outTradeNo,
    out_refund_no: newOutRefundNo(),
    total_fee: '1000',
    refund_fee: '300',
    ...overrides,
  };
}

export function refundQuery(sim: RunningSimulator, key: Record<string, string>): Promise<V2Response> {
  return callV2(sim.url, '/pay/refundquery', {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: `q${Math.random().toString(36).slice(2, 12)}`,
    ...key,
  });
}

/** A v2 order of `totalFee` fen, paid. */
export async function paidOrder(
  sim: RunningSimulator,
  totalFee = '1000',
): Promise<{ outTradeNo: string; transactionId: string }> {
  const { outTradeNo } = await createOrder(sim.url, { total_fee: totalFee, out_trade_no: newOutTradeNo('R') });
  const paid = await pay(sim.url, outTradeNo);
  return { outTradeNo, transactionId: paid.json.transaction_id as string };
}

export async function complete(
  sim: RunningSimulator,
  outRefundNo: string,
  result: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}/sandbox/refunds/${encodeURIComponent(outRefundNo)}/complete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ result }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

export interface RawReceived {
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** A merchant endpoint that records raw notifications and answers as `respond` says. */
export class RawReceiver {
  readonly received: RawReceived[] = [];
  respond: (index: number, r: RawReceived) => { status?: number; body?: string } = () => ({ body: SUCCESS_REPLY });
  url = '';
  private server!: Server;

  static async start(): Promise<RawReceiver> {
    const receiver = new RawReceiver();
    receiver.server = createServer((req, res) => {
      const at = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers = Object.fromEntries(
          Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : (v ?? '')]),
        );
        const received = { at, headers, body: Buffer.concat(chunks).toString('utf8') };
        receiver.received.push(received);
        const answer = receiver.respond(receiver.received.length - 1, received);
        res.writeHead(answer.status ?? 200, { 'content-type': 'text/plain' });
        res.end(answer.body ?? '');
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/notify/refund`;
    return receiver;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The v2 refund notification's envelope and its req_info decrypted with the merchant's key. */
export function readV2RefundNotification(body: string): {
  envelope: Record<string, string>;
  info: Record<string, string>;
} {
  const envelope = parseXml(body);
  return { envelope, info: readRefundReqInfo(envelope.req_info ?? '', MERCHANT.apiKey) };
}
