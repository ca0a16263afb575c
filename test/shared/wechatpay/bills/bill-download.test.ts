import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

import { BILL_HASH_MISMATCH, checkSha1, gunzipBill } from '#shared/wechatpay/bills/bill-download';
import { WechatPayError } from '#shared/wechatpay/core/errors';

async function* pieces(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function failure(source: AsyncIterable<Uint8Array>): Promise<{ error: WechatPayError; bytesSeen: number }> {
  let bytesSeen = 0;
  try {
    for await (const chunk of source) bytesSeen += chunk.byteLength;
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayError);
    return { error: error as WechatPayError, bytesSeen };
  }
  throw new Error('expected a WechatPayError');
}

const text = Buffer.from('交易时间,公众账号ID\r\n`2026-01-05 10:00:00,`wx\r\n'.repeat(2000), 'utf8');

describe('gunzipBill', () => {
  it('inflates a gzip stream cut into small pieces', async () => {
    expect((await collect(gunzipBill(pieces(gzipSync(text), 7)))).equals(text)).toBe(true);
  });

  it('refuses a gzip bomb as soon as the inflated bytes pass the cap, without inflating the rest', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const cap = 1024 * 1024;
    const { error, bytesSeen } = await failure(gunzipBill(pieces(bomb, 4096), cap));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
    expect(error.retryable).toBe(false);
    expect(bytesSeen).toBeLessThanOrEqual(cap);
  });

  it('accepts a bill of exactly the cap', async () => {
    expect((await collect(gunzipBill(pieces(gzipSync(text), 100), text.length))).length).toBe(text.length);
  });

  it('calls bytes that are not gzip, or gzip cut short, BAD_RESPONSE (retryable)', async () => {
    const notGzip = await failure(gunzipBill(pieces(text, 100)));
    expect(notGzip.error.code).toBe('BAD_RESPONSE');
    expect(notGzip.error.retryable).toBe(true);
    const gz = gzipSync(text);
    const cut = await failure(gunzipBill(pieces(gz.subarray(0, gz.length - 20), 100)));
    expect(cut.error.code).toBe('BAD_RESPONSE');
  });

  it('passes the source’s own error through unchanged', async () => {
    const broken = new WechatPayError('NETWORK', 'cut', { retryable: true, kind: 'transport' });
    async function* source(): AsyncGenerator<Uint8Array> {
      yield gzipSync(text).subarray(0, 100);
      throw broken;
    }
    expect((await failure(gunzipBill(source()))).error).toBe(broken);
  });
});

describe('checkSha1', () => {
  const sha1 = createHash('sha1').update(text).digest('hex');

  it('passes the bytes through when the hash agrees, in either case of hex', async () => {
    expect((await collect(checkSha1(pieces(text, 333), sha1))).equals(text)).toBe(true);
    expect((await collect(checkSha1(pieces(text, 333), sha1.toUpperCase()))).equals(text)).toBe(true);
  });

  it('throws BILL_HASH_MISMATCH at the end, after every byte and instead of finishing', async () => {
    const altered = Buffer.from(text);
    altered.writeUInt8((altered.readUInt8(altered.length - 3) ^ 1) & 0xff, altered.length - 3);
    const { error, bytesSeen } = await failure(checkSha1(pieces(altered, 333), sha1));
    expect(error.code).toBe(BILL_HASH_MISMATCH);
    expect(error.kind).toBe('signature');
    expect(error.retryable).toBe(false);
    expect(bytesSeen).toBe(text.length);
  });

  it('refuses an expected hash that is not 40 hex digits before reading anything', async () => {
    const { error, bytesSeen } = await failure(checkSha1(pieces(text, 333), sha1.slice(0, 39)));
    expect(error.code).toBe(BILL_HASH_MISMATCH);
    expect(bytesSeen).toBe(0);
  });
});
