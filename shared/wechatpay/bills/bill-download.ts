import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { WechatPayError } from '../core/errors';

/**
 * A trade bill as a client hands it over: WeChat's answer to "the bill of that day", with the bill's
 * bytes streamed (a large merchant's day is hundreds of MB, so it is never held whole).
 * - `bill`: `content` is the DECOMPRESSED bill text, UTF-8 bytes. Errors surface while iterating it:
 *   a broken download (NETWORK, TIMEOUT), unreadable gzip (BAD_RESPONSE), a bill over the size cap
 *   (RESPONSE_TOO_LARGE), and for v3 a SHA1 that disagrees with WeChat's hash_value
 *   (BILL_HASH_MISMATCH), thrown at the end instead of finishing.
 * - `no_bill`: no trade that day (v2 `No Bill Exist`, v3 NO_STATEMENT_EXIST): an empty day, not an error.
 * - `creating`: WeChat has not made the bill yet (v2 `Bill Creating`, v3 STATEMENT_CREATING): ask later.
 */
export type BillDownload =
  { kind: 'bill'; content: AsyncIterable<Uint8Array> } | { kind: 'no_bill' } | { kind: 'creating' };

/** The decompressed bill's bytes disagree with the hash WeChat gave with its download URL. */
export const BILL_HASH_MISMATCH = 'BILL_HASH_MISMATCH';

/**
 * The most decompressed bytes a bill may have: far above a real day (hundreds of MB), far below what
 * a few KB of hostile gzip can expand to.
 */
export const DEFAULT_MAX_BILL_BYTES = 4 * 1024 ** 3;

/** The gzip format's first two bytes. */
export const GZIP_MAGIC = [0x1f, 0x8b] as const;

function tooLargeError(maxBytes: number): WechatPayError {
  // Final: the same bill would be as large the next time.
  return new WechatPayError('RESPONSE_TOO_LARGE', `the decompressed bill exceeds ${maxBytes} bytes`, {
    retryable: false,
    kind: 'transport',
  });
}

/**
 * The decompressed bytes of a gzip stream, refused with RESPONSE_TOO_LARGE as soon as they pass
 * `maxBytes` (nothing beyond is inflated). Gzip that does not inflate (corrupt, cut short) is
 * BAD_RESPONSE, retryable: the download may be at fault, not WeChat's file. Errors of the source
 * (a WechatPayError from the network) pass through unchanged.
 */
export async function* gunzipBill(
  compressed: AsyncIterable<Uint8Array>,
  maxBytes: number = DEFAULT_MAX_BILL_BYTES,
): AsyncGenerator<Uint8Array, void, undefined> {
  const gunzip = createGunzip();
  let sourceError: unknown;
  const source = Readable.from(compressed, { objectMode: false });
  source.on('error', (error) => {
    sourceError = error;
    gunzip.destroy(error);
  });
  source.pipe(gunzip);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.byteLength;
      if (total > maxBytes) throw tooLargeError(maxBytes);
      yield chunk;
    }
  } catch (error) {
    if (sourceError !== undefined) throw sourceError;
    if (error instanceof WechatPayError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new WechatPayError('BAD_RESPONSE', `the bill is not readable gzip: ${reason}`, {
      retryable: true,
      kind: 'transport',
      cause: error,
    });
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

const SHA1_HEX = /^[0-9a-f]{40}$/i;

/**
 * `content` passed through unchanged while its SHA1 is taken; at the end, instead of finishing, it
 * throws BILL_HASH_MISMATCH (kind signature, final) when the hash is not `expectedHex` (any case).
 * A consumer that reads to the end has therefore read exactly the bill WeChat hashed, or nothing it
 * may act on.
 */
export async function* checkSha1(
  content: AsyncIterable<Uint8Array>,
  expectedHex: string,
): AsyncGenerator<Uint8Array, void, undefined> {
  if (!SHA1_HEX.test(expectedHex)) throw hashMismatchError('the expected hash is not 40 hex digits');
  const hash = createHash('sha1');
  for await (const chunk of content) {
    hash.update(chunk);
    yield chunk;
  }
  const actual = hash.digest('hex');
  if (actual !== expectedHex.toLowerCase())
    throw hashMismatchError(`SHA1 ${actual} is not the hash_value ${expectedHex.toLowerCase()}`);
}

function hashMismatchError(detail: string): WechatPayError {
  return new WechatPayError(BILL_HASH_MISMATCH, `the downloaded bill is not the one WeChat Pay hashed: ${detail}`, {
    retryable: false,
    kind: 'signature',
  });
}
