/**
 * WeChat Pay APIv3 fixtures for tests: generated merchant and platform identities, the published
 * vectors, signed and encrypted notifications, and a small loopback HTTP stand-in for WeChat's v3
 * API (for client tests; the full simulator lives in sandbox/simulator).
 */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '#shared/domain/ports';
import { verifyAuthorization } from '#shared/wechatpay/v3/testing/wechat-checks';
import type { AuthorizationCheck } from '#shared/wechatpay/v3/testing/wechat-checks';
import { buildTransactionNotification } from '#shared/wechatpay/v3/testing/wechat-messages';
import { createSelfSignedCertificate } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { loadVectors } from './vectors';

// ---- Published vectors (test/helpers/vectors) ------------------------------------------------------

export interface VectorFile<V> {
  vectors: V[];
}

/** The entry with this id; fails loudly when the vector file changed under the test. */
export function vectorById<V extends { id: string }>(file: string, id: string): V {
  const found = loadVectors<VectorFile<V>>(file).vectors.find((v) => v.id === id);
  if (!found) throw new Error(`vector ${id} not found in ${file}`);
  return found;
}

// ---- Identities -----------------------------------------------------------------------------------

/** A 32-byte APIv3 key for tests. */
export const TEST_APIV3_KEY = 'v3TestKey0123456789abcdefghijklm';
export const TEST_APPID = 'wx8888888888888888';
export const TEST_MCHID = '1900000109';

export interface RsaIdentity {
  privateKey: KeyObject;
  publicKey: KeyObject;
  privateKeyPem: string;
  publicKeyPem: string;
}

function rsaIdentity(): RsaIdentity {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    privateKey,
    publicKey,
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  };
}

export interface MerchantIdentity extends RsaIdentity {
  appid: string;
  mchid: string;
  /** Serial of the merchant API certificate (only its name matters to WeChat). */
  serial: string;
}

export function createMerchantIdentity(): MerchantIdentity {
  return { ...rsaIdentity(), appid: TEST_APPID, mchid: TEST_MCHID, serial: '3775B6A45ACD588826D15E583A95F5DD2C2A2F3B' };
}

/**
 * WeChat's side: one RSA key pair, usable either as a platform certificate (self-signed, `serial`)
 * or as a WeChat Pay public key (`publicKeyId`).
 */
export interface PlatformIdentity extends RsaIdentity {
  certificatePem: string;
  serial: string;
  publicKeyId: string;
}

let platformCount = 0;

export function createPlatformIdentity(
  opts: { notBefore?: Date; notAfter?: Date; publicKeyId?: string } = {},
): PlatformIdentity {
  const rsa = rsaIdentity();
  const cert = createSelfSignedCertificate({
    privateKey: rsa.privateKey,
    commonName: 'Test platform certificate',
    notBefore: opts.notBefore ?? new Date('2020-01-01T00:00:00Z'),
    notAfter: opts.notAfter ?? new Date('2045-01-01T00:00:00Z'),
  });
  return {
    ...rsa,
    certificatePem: cert.pem,
    serial: cert.serial,
    publicKeyId:
      opts.publicKeyId ?? `PUB_KEY_ID_01142321349124100000000000${String((platformCount += 1)).padStart(4, '0')}`,
  };
}

export interface Signer {
  privateKey: KeyObject;
  serial: string;
}

export const asCertificateSigner = (p: PlatformIdentity): Signer => ({ privateKey: p.privateKey, serial: p.serial });
export const asPublicKeySigner = (p: PlatformIdentity): Signer => ({ privateKey: p.privateKey, serial: p.publicKeyId });

export function fixedClock(at: Date | string): Clock & { set(at: Date | string): void; advance(ms: number): void } {
  let now = new Date(at);
  return {
    now: () => new Date(now),
    set: (d) => {
      now = new Date(d);
    },
    advance: (ms) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

// ---- Transactions and notifications -----------------------------------------------------------------

export function paidTransaction(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    appid: TEST_APPID,
    mchid: TEST_MCHID,
    out_trade_no: 'ORDER20240001',
    transaction_id: '4200001234202401011234567890',
    trade_type: 'NATIVE',
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    bank_type: 'OTHERS',
    success_time: '2024-01-01T12:00:30+08:00',
    payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
    amount: { total: 1999, payer_total: 1999, currency: 'CNY', payer_currency: 'CNY' },
    ...overrides,
  };
}

/** A signed, encrypted TRANSACTION.SUCCESS notification as the notify endpoint receives it (headers lower-cased). */
export function signedNotification(opts: {
  transaction?: Record<string, unknown>;
  signer: Signer;
  now: Date;
  apiV3Key?: string;
}): { headers: Record<string, string>; body: string } {
  const built = buildTransactionNotification({
    transaction: opts.transaction ?? paidTransaction(),
    apiV3Key: opts.apiV3Key ?? TEST_APIV3_KEY,
    signer: opts.signer,
    now: opts.now,
  });
  return { headers: lowerCase(built.headers), body: built.body };
}

/** Headers for an arbitrary body, signed as WeChat signs, lower-cased as a Lambda sees them. */
export function signedHeaders(body: string, signer: Signer, now: Date, nonce?: string): Record<string, string> {
  return lowerCase(signWechatpayMessage(body, signer, nonce === undefined ? { now } : { now, nonce }));
}

export function lowerCase(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
}

// ---- A loopback stand-in for WeChat's v3 API ------------------------------------------------------------

export interface StandInRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
  json: unknown;
  authorization: AuthorizationCheck;
}

export interface StandInAnswer {
  status: number;
  /** An object is sent as JSON; a string as is; absent for no body. */
  body?: unknown;
  /** Who signs the answer; null sends no signature headers. Default: the stand-in's signer. */
  signer?: Signer | null;
  /** Shifts Wechatpay-Timestamp from the stand-in's clock. */
  timestampOffsetSeconds?: number;
  /** Changes headers or body after signing (tampering). */
  mutate?: (signed: { headers: Record<string, string>; body: string }) => {
    headers: Record<string, string>;
    body: string;
  };
  /** Waits this long before answering (timeouts). */
  delayMs?: number;
}

export interface StandIn {
  baseUrl: string;
  requests: StandInRequest[];
  close(): Promise<void>;
}

/**
 * Answers on 127.0.0.1 like WeChat's v3 API: checks the merchant's Authorization (401 SIGN_ERROR
 * when it fails, as WeChat does), lets `handler` decide the answer, then signs it.
 */
export async function startWechatV3StandIn(opts: {
  merchant: MerchantIdentity;
  signer: Signer;
  handler: (request: StandInRequest) => StandInAnswer | Promise<StandInAnswer>;
  clock?: Clock;
}): Promise<StandIn> {
  const clock = opts.clock ?? { now: () => new Date() };
  const requests: StandInRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const authorization = verifyAuthorization(
          { method: req.method ?? 'GET', url: req.url ?? '/', body, authorization: req.headers.authorization },
          {
            publicKey: opts.merchant.publicKey,
            mchid: opts.merchant.mchid,
            serialNo: opts.merchant.serial,
            now: clock.now(),
          },
        );
        let json: unknown;
        try {
          json = body === '' ? undefined : JSON.parse(body);
        } catch {
          json = undefined;
        }
        const request: StandInRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: url.searchParams,
          body,
          json,
          authorization,
        };
        requests.push(request);
        const answer: StandInAnswer = authorization.ok
          ? await opts.handler(request)
          : { status: 401, body: { code: 'SIGN_ERROR', message: authorization.message } };
        if (answer.delayMs) await new Promise((r) => setTimeout(r, answer.delayMs));
        const text =
          answer.body === undefined ? '' : typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
        const signer = answer.signer === undefined ? opts.signer : answer.signer;
        const signedAt = new Date(clock.now().getTime() + (answer.timestampOffsetSeconds ?? 0) * 1000);
        let out = {
          headers: {
            ...(signer ? signWechatpayMessage(text, signer, { now: signedAt }) : {}),
            ...(text !== '' ? { 'Content-Type': 'application/json' } : {}),
            'Request-ID': `stand-in-${requests.length}`,
          } as Record<string, string>,
          body: text,
        };
        if (answer.mutate) out = answer.mutate(out);
        if (res.destroyed) return;
        res.writeHead(answer.status, out.headers);
        res.end(out.body);
      })().catch((error: unknown) => {
        res.destroy(error instanceof Error ? error : new Error(String(error)));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
