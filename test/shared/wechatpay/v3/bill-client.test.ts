import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';

import { BILL_HASH_MISMATCH } from '#shared/wechatpay/bills/bill-download';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { WechatPayV3ClientOptions } from '#shared/wechatpay/v3/client';
import type { AuthorizationCheck } from '#shared/wechatpay/v3/testing/wechat-checks';
import { verifyAuthorization } from '#shared/wechatpay/v3/testing/wechat-checks';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import {
  TEST_APIV3_KEY,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
} from '#test/helpers/wechatpay-v3';
import { billBytes, downloadedBytes, paymentRow } from '#test/helpers/bill-rows';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

/**
 * WechatPayV3Client.downloadTradeBill over real HTTP against a loopback stand-in for WeChat's two
 * steps: GET /v3/bill/tradebill (signed answer) and GET of its download URL (the gzip file, unsigned).
 * Each request's Authorization is checked as WeChat checks it.
 */

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const signer = asPublicKeySigner(platform);

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

interface Seen {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  authorization: AuthorizationCheck;
}

interface Answer {
  status: number;
  /** JSON to sign, or raw bytes (the file) sent unsigned. */
  json?: unknown;
  bytes?: Buffer;
  unsigned?: boolean;
}

async function startServer(handle: (seen: Seen, baseUrl: string) => Answer): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  let baseUrl = '';
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const request: Seen = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        authorization: verifyAuthorization(
          { method: req.method ?? '', url: req.url ?? '/', body: '', authorization: req.headers.authorization },
          { publicKey: merchant.publicKey, mchid: merchant.mchid, serialNo: merchant.serial, now: new Date() },
        ),
      };
      seen.push(request);
      const answer: Answer = request.authorization.ok
        ? handle(request, baseUrl)
        : { status: 401, json: { code: 'SIGN_ERROR', message: 'signature does not verify' } };
      if (answer.bytes !== undefined) {
        res.writeHead(answer.status, { 'Content-Type': 'application/octet-stream' });
        res.end(answer.bytes);
        return;
      }
      const text = JSON.stringify(answer.json ?? {});
      res.writeHead(answer.status, {
        'Content-Type': 'application/json',
        'Request-ID': `stand-in-${seen.length}`,
        ...(answer.unsigned ? {} : signWechatpayMessage(text, signer, { now: new Date() })),
      });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { url: baseUrl, seen };
}

function clientOf(baseUrl: string, options: Partial<WechatPayV3ClientOptions> = {}): WechatPayV3Client {
  return new WechatPayV3Client({
    baseUrl,
    mchid: merchant.mchid,
    appid: merchant.appid,
    privateKey: merchant.privateKeyPem,
    certSerial: merchant.serial,
    apiV3Key: TEST_APIV3_KEY,
    publicKey: platform.publicKeyPem,
    publicKeyId: platform.publicKeyId,
    sleep: async () => undefined,
    timeoutMs: 2_000,
    ...options,
  });
}

const ROW = paymentRow({ appid: merchant.appid, mchid: merchant.mchid, tradeType: 'NATIVE', body: '咖啡' });
const BILL = billBytes([ROW]);
const SHA1 = createHash('sha1').update(BILL).digest('hex');
const TOKEN = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** WeChat's two steps: the file served is `file`, the hash announced that of `hashed`. */
function wechat(opts: { file?: Buffer; hashed?: Buffer; downloadOrigin?: string } = {}) {
  const file = opts.file ?? BILL;
  const hash = createHash('sha1')
    .update(opts.hashed ?? file)
    .digest('hex');
  return (seen: Seen, baseUrl: string): Answer => {
    if (seen.path === '/v3/bill/tradebill')
      return {
        status: 200,
        json: {
          hash_type: 'SHA1',
          hash_value: hash.toUpperCase(),
          download_url: `${opts.downloadOrigin ?? baseUrl}/v3/billdownload/file?token=${TOKEN}&tartype=gzip`,
        },
      };
    if (seen.path === '/v3/billdownload/file' && seen.query.get('token') === TOKEN)
      return { status: 200, bytes: gzipSync(file) };
    return { status: 404, json: { code: 'RESOURCE_NOT_EXISTS', message: 'no such path' } };
  };
}

describe('downloadTradeBill', () => {
  it('asks for the day’s ALL bill gzipped, downloads it signed, and streams the checked bill', async () => {
    const server = await startServer(wechat());
    const download = await clientOf(server.url).downloadTradeBill('2026-01-05');
    expect((await downloadedBytes(download)).equals(BILL)).toBe(true);

    const [ask, file] = server.seen;
    expect(ask?.path).toBe('/v3/bill/tradebill');
    expect(Object.fromEntries(ask?.query ?? [])).toEqual({
      bill_date: '2026-01-05',
      bill_type: 'ALL',
      tar_type: 'GZIP',
    });
    expect(file?.path).toBe('/v3/billdownload/file');
    // The download carries the merchant's Authorization, signed over its path and query.
    expect(file?.headers.authorization).toMatch(/^WECHATPAY2-SHA256-RSA2048 /);
    expect(file?.authorization.ok).toBe(true);
    expect(server.seen).toHaveLength(2);
  });

  it('gives content that readTradeBill reads', async () => {
    const server = await startServer(wechat());
    const download = await clientOf(server.url).downloadTradeBill('2026-01-05');
    if (download.kind !== 'bill') throw new Error('expected a bill');
    const rows: TradeBillRow[] = [];
    for await (const row of readTradeBill(download.content)) rows.push(row);
    expect(rows).toEqual([ROW]);
  });

  it('throws BILL_HASH_MISMATCH at the end when the file is not the one hashed (an amount changed)', async () => {
    const tampered = Buffer.from(BILL.toString('utf8').replace(',`19.99,`0.00,`0,', ',`19.98,`0.00,`0,'), 'utf8');
    expect(tampered.equals(BILL)).toBe(false);
    const server = await startServer(wechat({ file: tampered, hashed: BILL }));
    const download = await clientOf(server.url).downloadTradeBill('2026-01-05');
    const error = await wechatPayErrorOf(downloadedBytes(download));
    expect(error.code).toBe(BILL_HASH_MISMATCH);
    expect(error.kind).toBe('signature');
    expect(error.retryable).toBe(false);
  });

  it('refuses a download_url on another origin without sending it anything', async () => {
    const foreign = await startServer(wechat());
    const server = await startServer(wechat({ downloadOrigin: foreign.url }));
    const error = await wechatPayErrorOf(clientOf(server.url).downloadTradeBill('2026-01-05'));
    expect(error.code).toBe('INVALID_RESPONSE');
    expect(error.message).toContain(foreign.url);
    expect(error.message).not.toContain(TOKEN);
    expect(foreign.seen).toHaveLength(0);
    expect(server.seen).toHaveLength(1);
  });

  it('refuses a download_url on the same host by another name', async () => {
    const server = await startServer(wechat({ downloadOrigin: 'http://localhost:1' }));
    expect((await wechatPayErrorOf(clientOf(server.url).downloadTradeBill('2026-01-05'))).code).toBe(
      'INVALID_RESPONSE',
    );
  });

  it('reads a signed 400 NO_STATEMENT_EXIST as no bill, and STATEMENT_CREATING as not made yet', async () => {
    for (const [code, kind] of [
      ['NO_STATEMENT_EXIST', 'no_bill'],
      ['STATEMENT_CREATING', 'creating'],
    ] as const) {
      const server = await startServer(() => ({ status: 400, json: { code, message: '账单不存在' } }));
      expect(await clientOf(server.url).downloadTradeBill('2026-01-05')).toEqual({ kind });
      expect(server.seen).toHaveLength(1);
    }
  });

  it('never reads an unsigned NO_STATEMENT_EXIST as an empty day', async () => {
    const server = await startServer(() => ({ status: 400, json: { code: 'NO_STATEMENT_EXIST' }, unsigned: true }));
    const error = await wechatPayErrorOf(clientOf(server.url, { maxAttempts: 1 }).downloadTradeBill('2026-01-05'));
    expect(error.code).toBe('HTTP_400');
    expect(error.kind).toBe('transport');
  });

  it('throws PARAM_ERROR as a final business error', async () => {
    const server = await startServer(() => ({ status: 400, json: { code: 'PARAM_ERROR', message: '日期超出范围' } }));
    const error = await wechatPayErrorOf(clientOf(server.url).downloadTradeBill('2026-01-05'));
    expect(error.code).toBe('PARAM_ERROR');
    expect(error.retryable).toBe(false);
    expect(server.seen).toHaveLength(1);
  });

  it('refuses an answer without a SHA1 hash', async () => {
    const server = await startServer((seen, baseUrl) => ({
      status: 200,
      json: {
        hash_type: 'MD5',
        hash_value: SHA1.slice(0, 32),
        download_url: `${baseUrl}/v3/billdownload/file?token=x`,
      },
    }));
    expect((await wechatPayErrorOf(clientOf(server.url).downloadTradeBill('2026-01-05'))).code).toBe(
      'INVALID_RESPONSE',
    );
    expect(server.seen).toHaveLength(1);
  });

  it('retries a download that fails with a 5xx, signing each attempt', async () => {
    let downloads = 0;
    const normal = wechat();
    const server = await startServer((seen, baseUrl) => {
      if (seen.path === '/v3/billdownload/file' && (downloads += 1) === 1)
        return { status: 502, bytes: Buffer.from('x') };
      return normal(seen, baseUrl);
    });
    expect((await downloadedBytes(await clientOf(server.url).downloadTradeBill('2026-01-05'))).equals(BILL)).toBe(true);
    expect(server.seen.map((s) => s.path)).toEqual([
      '/v3/bill/tradebill',
      '/v3/billdownload/file',
      '/v3/billdownload/file',
    ]);
    expect(server.seen.every((s) => s.authorization.ok)).toBe(true);
  });

  it('refuses a gzip bomb once the decompressed size passes maxBillBytes', async () => {
    const bomb = Buffer.alloc(16 * 1024 * 1024);
    const server = await startServer(wechat({ file: bomb }));
    const download = await clientOf(server.url, { maxBillBytes: 1024 * 1024 }).downloadTradeBill('2026-01-05');
    expect((await wechatPayErrorOf(downloadedBytes(download))).code).toBe('RESPONSE_TOO_LARGE');
  });

  it('refuses a bad bill date before sending', async () => {
    const server = await startServer(wechat());
    await expect(clientOf(server.url).downloadTradeBill('20260105')).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(server.seen).toHaveLength(0);
  });
});
