import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SignType = 'MD5' | 'HMAC-SHA256';

export type Params = Record<string, string | undefined>;

/** WeChat's string to sign: non-empty values except `sign`, keys in ASCII order, `k=v` joined by `&`. */
export function canonicalString(params: Params): string {
  return Object.keys(params)
    .filter((k) => k !== 'sign' && params[k] !== undefined && params[k] !== '')
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
}

export function signV2(params: Params, apiKey: string, signType: SignType = 'MD5'): string {
  const text = `${canonicalString(params)}&key=${apiKey}`;
  const digest =
    signType === 'MD5'
      ? createHash('md5').update(text, 'utf8').digest('hex')
      : createHmac('sha256', apiKey).update(text, 'utf8').digest('hex');
  return digest.toUpperCase();
}

/**
 * The algorithm a signature was made with, told by its form: 32 hex chars MD5, 64 HMAC-SHA256.
 * WeChat's notifications carry no sign_type and have been seen MD5-signed for HMAC merchants.
 */
export function signTypeOf(sign: string): SignType | undefined {
  if (/^[0-9A-Fa-f]{32}$/.test(sign)) return 'MD5';
  if (/^[0-9A-Fa-f]{64}$/.test(sign)) return 'HMAC-SHA256';
  return undefined;
}

/** Verifies `params.sign` in constant time, choosing the algorithm by the signature's form. */
export function verifyV2(params: Params, apiKey: string): boolean {
  const given = params.sign;
  if (given === undefined) return false;
  const signType = signTypeOf(given);
  if (signType === undefined) return false;
  const expected = Buffer.from(signV2(params, apiKey, signType), 'utf8');
  const actual = Buffer.from(given.toUpperCase(), 'utf8');
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
