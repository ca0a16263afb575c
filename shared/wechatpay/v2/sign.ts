import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type SignType = 'MD5' | 'HMAC-SHA256';

export type Params = Record<string, string | undefined>;

/** WeChat's string to sign: non-empty values except `sign`, keys in ASCII order, `k=v` joined by `&`. */
export function canonicalString(params: Params): string {
  // A plain loop: this runs for every request and notification, and the array pipeline cost as much as the hash.
  const keys = Object.keys(params).sort();
  let text = '';
  for (const key of keys) {
    const value = params[key];
    if (key === 'sign' || value === undefined || value === '') continue;
    text += text === '' ? `${key}=${value}` : `&${key}=${value}`;
  }
  return text;
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
