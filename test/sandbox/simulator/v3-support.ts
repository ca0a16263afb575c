import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WechatPayV3NotificationCodec } from '#shared/adapters/wechatpay-v3-notification-codec';
import type { VerifiedNotification } from '#shared/domain/ports';
import { decryptResource } from '#shared/wechatpay/v3/aead';
import { signRequest } from '#shared/wechatpay/v3/authorization';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { WechatPayV3ClientOptions } from '#shared/wechatpay/v3/client';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { readWechatpaySignature, verifyWechatpaySignature } from '#shared/wechatpay/v3/wechatpay-signature';
import type { SignatureCheck } from '#shared/wechatpay/v3/wechatpay-signature';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator, SimulatorOptions, SimulatorPlatform } from '#sandbox/simulator/server';
import { TEST_APIV3_KEY, createMerchantIdentity } from '#test/helpers/wechatpay-v3';
import type { MerchantIdentity } from '#test/helpers/wechatpay-v3';
import { MERCHANT } from './support';

/** One merchant RSA identity per test file (key generation is the slow part). */
export const V3_MERCHANT: MerchantIdentity = createMerchantIdentity();
export const APIV3_KEY = TEST_APIV3_KEY;

/** A v3 simulator for V3_MERCHANT (which also holds a v2 key, as real merchants do). */
export function startV3Simulator(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  return startSimulator({
    apiVersion: 'v3',
    merchant: {
      appid: V3_MERCHANT.appid,
      mchid: V3_MERCHANT.mchid,
      apiKey: MERCHANT.apiKey,
      apiV3Key: APIV3_KEY,
      merchantPublicKey: V3_MERCHANT.publicKeyPem,
      certSerial: V3_MERCHANT.serial,
    },
    ...options,
  });
}

export type Verification = 'public_key' | 'certificates' | 'both';

/** Every URL the client fetched, to see whether it downloaded certificates. */
export interface RecordingClient {
  client: WechatPayV3Client;
  fetched: string[];
}

/**
 * The product's real v3 client, configured to verify the simulator with its public key, with
 * downloaded certificates only, or with both (a merchant migrating between the two).
 */
export function v3Client(
  sim: RunningSimulator,
  verification: Verification = 'public_key',
  overrides: Partial<WechatPayV3ClientOptions> = {},
): RecordingClient {
  const platform = platformOf(sim);
  const fetched: string[] = [];
  const recordingFetch: typeof fetch = (input, init) => {
    fetched.push(input instanceof Request ? input.url : String(input));
    return fetch(input, init);
  };
  const client = new WechatPayV3Client({
    baseUrl: sim.url,
    mchid: V3_MERCHANT.mchid,
    appid: V3_MERCHANT.appid,
    privateKey: V3_MERCHANT.privateKeyPem,
    certSerial: V3_MERCHANT.serial,
    apiV3Key: APIV3_KEY,
    ...(verification === 'certificates' ? {} : { publicKey: platform.publicKeyPem, publicKeyId: platform.publicKeyId }),
    timeoutMs: 2000,
    maxAttempts: 3,
    sleep: async () => {}, // retries at once; the backoff is the client's own unit tests' business
    certificateRefreshIntervalMs: 0,
    fetch: recordingFetch,
    ...overrides,
  });
  return { client, fetched };
}

export function platformOf(sim: RunningSimulator): SimulatorPlatform {
  if (sim.platform === undefined) throw new Error('not a v3 simulator');
  return sim.platform;
}

/** Keys a merchant holds for the simulator: its public key by id, and its certificate. */
export function platformKeys(sim: RunningSimulator): KeyRing {
  const platform = platformOf(sim);
  const ring = new KeyRing();
  ring.addPublicKey(platform.publicKeyId, platform.publicKeyPem);
  ring.addCertificate(platform.certificatePem);
  return ring;
}

/** Checks WeChat's signature on an answer with the simulator's keys. */
export function verifyAnswer(sim: RunningSimulator, headers: Headers, body: string): Promise<SignatureCheck> {
  return verifyWechatpaySignature({ signature: readWechatpaySignature(headers), body }, platformKeys(sim), {
    now: new Date(),
  });
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: Record<string, unknown> | undefined;
}

/** The merchant's Authorization header for a request (another key, serial or time on demand). */
export function authorizationFor(
  method: string,
  pathAndQuery: string,
  body: string,
  opts: { privateKey?: MerchantIdentity['privateKey']; serial?: string; timestamp?: number } = {},
): string {
  return signRequest(
    { method, url: pathAndQuery, body },
    {
      mchid: V3_MERCHANT.mchid,
      serialNo: opts.serial ?? V3_MERCHANT.serial,
      privateKey: opts.privateKey ?? V3_MERCHANT.privateKey,
    },
    String(opts.timestamp ?? Math.floor(Date.now() / 1000)),
    `nonce${Math.random().toString(36).slice(2, 14)}`,
  );
}

/** A v3 request signed like the merchant (or not: `authorization: null`), over plain fetch. */
export async function callV3(
  sim: RunningSimulator,
  method: 'GET' | 'POST' | 'PUT',
  pathAndQuery: string,
  body?: unknown,
  opts: {
    authorization?: string | null;
    privateKey?: MerchantIdentity['privateKey'];
    serial?: string;
    timestamp?: number;
    rawBody?: string;
  } = {},
): Promise<RawAnswer> {
  const text = opts.rawBody ?? (body === undefined ? '' : JSON.stringify(body));
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET') headers['Content-Type'] = 'application/json';
  if (opts.authorization !== null)
    headers.Authorization = opts.authorization ?? authorizationFor(method, pathAndQuery, text, opts);
  const res = await fetch(`${sim.url}${pathAndQuery}`, {
    method,
    headers,
    ...(method === 'GET' ? {} : { body: text }),
  });
  const answer = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(answer) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text: answer, json };
}

/** A complete, valid v3 prepay body for V3_MERCHANT; override per test. */
export function prepayBody(
  outTradeNo: string,
  notifyUrl: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    appid: V3_MERCHANT.appid,
    mchid: V3_MERCHANT.mchid,
    description: 'Sandbox shop - test goods',
    out_trade_no: outTradeNo,
    notify_url: notifyUrl,
    amount: { total: 1999, currency: 'CNY' },
    ...overrides,
  };
}

export interface V3Received {
  /** performance.now() when the request arrived. */
  at: number;
  headers: Record<string, string>;
  body: string;
  /** What the product's codec made of it. */
  verified: VerifiedNotification;
  /** The resource decrypted by the test itself, whatever the codec said (undefined when it does not decrypt). */
  transaction: Record<string, unknown> | undefined;
}

export interface V3Answer {
  status?: number;
  body?: string;
  delayMs?: number;
}

/**
 * A real merchant notify endpoint on loopback: verifies and decrypts every notification with the
 * product's WechatPayV3NotificationCodec (keys: the simulator's public key and certificate), records
 * it, and answers as the codec says (204, or 500 {code:FAIL}) unless `respond` says otherwise.
 */
export class V3Receiver {
  readonly received: V3Received[] = [];
  respond: (index: number, received: V3Received) => V3Answer | undefined = () => undefined;
  inFlight = 0;
  maxInFlight = 0;
  url = '';
  private server!: Server;
  private codec!: WechatPayV3NotificationCodec;

  static async start(keys: KeyRing, apiV3Key = APIV3_KEY): Promise<V3Receiver> {
    const receiver = new V3Receiver();
    receiver.codec = new WechatPayV3NotificationCodec({ apiV3Key, keys });
    receiver.server = createServer((req, res) => {
      receiver.inFlight += 1;
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      const at = performance.now();
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = Buffer.concat(chunks).toString('utf8');
          const headers = Object.fromEntries(
            Object.entries(req.headers).map(([k, v]) => [k.toLowerCase(), Array.isArray(v) ? v.join(',') : (v ?? '')]),
          );
          const verified = await receiver.codec.verify({ headers, body });
          const received: V3Received = { at, headers, body, verified, transaction: decrypt(body, apiV3Key) };
          receiver.received.push(received);
          const reply = receiver.codec.reply(
            verified.kind === 'trade',
            verified.kind === 'trade' ? '' : verified.reason,
          );
          const answer = receiver.respond(receiver.received.length - 1, received);
          setTimeout(() => {
            receiver.inFlight -= 1;
            if (res.destroyed) return;
            if (answer?.status !== undefined) {
              res.writeHead(answer.status, { 'content-type': 'application/json' });
              res.end(answer.body ?? '');
            } else {
              res.writeHead(reply.statusCode, reply.headers);
              res.end(reply.body);
            }
          }, answer?.delayMs ?? 0);
        })();
      });
    });
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', () => resolve()));
    receiver.url = `http://127.0.0.1:${(receiver.server.address() as AddressInfo).port}/notify/pay`;
    return receiver;
  }

  /** Notifications about one order (by the out_trade_no inside the encrypted resource). */
  for(outTradeNo: string): V3Received[] {
    return this.received.filter((r) => r.transaction?.out_trade_no === outTradeNo);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function decrypt(body: string, apiV3Key: string): Record<string, unknown> | undefined {
  try {
    const envelope = JSON.parse(body) as { resource: Parameters<typeof decryptResource>[0] };
    return JSON.parse(decryptResource(envelope.resource, apiV3Key)) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
