import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { signSha256Rsa, verifySha256Rsa } from './rsa';

/**
 * The merchant's request signature (APIv3 "Authorization" header):
 *   WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"
 * signed over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, URL being the path plus query string exactly
 * as sent. The merchant signs with its API certificate's private key; serial_no names that certificate.
 */

export const AUTHORIZATION_SCHEME = 'WECHATPAY2-SHA256-RSA2048';
/** WeChat refuses requests (and we refuse answers) whose timestamp is further off than this. */
export const MAX_CLOCK_SKEW_SECONDS = 300;

export interface AuthorizationFields {
  mchid: string;
  nonce_str: string;
  signature: string;
  timestamp: string;
  serial_no: string;
}

export interface SignableRequest {
  method: string;
  /** Path and query string, e.g. `/v3/pay/transactions/id/42?mchid=1900000109`. */
  url: string;
  /** Raw body; '' for GET. */
  body: string;
}

export function requestSignMessage(request: SignableRequest, timestamp: string, nonce: string): string {
  return `${request.method.toUpperCase()}\n${request.url}\n${timestamp}\n${nonce}\n${request.body}\n`;
}

/** The header value; pair order follows WeChat's documentation (order is not significant). */
export function formatAuthorization(fields: AuthorizationFields, scheme: string = AUTHORIZATION_SCHEME): string {
  const pairs = (['mchid', 'nonce_str', 'signature', 'timestamp', 'serial_no'] as const).map(
    (k) => `${k}="${fields[k]}"`,
  );
  return `${scheme} ${pairs.join(',')}`;
}

export function signRequest(
  request: SignableRequest,
  merchant: { mchid: string; serialNo: string; privateKey: KeyObject },
  timestamp: string,
  nonce: string,
): string {
  const signature = signSha256Rsa(requestSignMessage(request, timestamp, nonce), merchant.privateKey);
  return formatAuthorization({
    mchid: merchant.mchid,
    nonce_str: nonce,
    signature,
    timestamp,
    serial_no: merchant.serialNo,
  });
}

const fieldsSchema = z.object({
  mchid: z.string().min(1).max(32),
  nonce_str: z.string().min(1).max(32),
  signature: z.string().min(1).max(1024),
  timestamp: z.string().regex(/^\d{1,12}$/),
  serial_no: z.string().min(1).max(64),
});

export interface ParsedAuthorization {
  scheme: string;
  fields: AuthorizationFields;
}

/** Parses the header; pairs in any order, each exactly once. Undefined when malformed. */
export function parseAuthorization(header: string): ParsedAuthorization | undefined {
  const match = /^(\S+) (.*)$/s.exec(header.trim());
  if (!match) return undefined;
  const [, scheme = '', rest = ''] = match;
  const pair = /\s*([a-z_]+)="([^"]*)"\s*(,|$)/y;
  const seen: Record<string, string> = {};
  while (pair.lastIndex < rest.length) {
    const m = pair.exec(rest);
    if (!m) return undefined;
    const [, key = '', value = '', sep] = m;
    if (Object.hasOwn(seen, key)) return undefined;
    seen[key] = value;
    if (sep === '') break;
  }
  if (pair.lastIndex !== rest.length) return undefined;
  const parsed = fieldsSchema.safeParse(seen);
  return parsed.success ? { scheme, fields: parsed.data } : undefined;
}

export type AuthorizationCheck =
  { ok: true; fields: AuthorizationFields } | { ok: false; code: 'SIGN_ERROR' | 'INVALID_REQUEST'; message: string };

/**
 * WeChat's side of the request signature (for the simulator): header well formed, merchant and
 * certificate serial as expected, timestamp within 5 minutes, signature valid for the merchant's key.
 */
export function verifyAuthorization(
  request: SignableRequest & { authorization: string | undefined },
  expected: { publicKey: KeyObject; mchid?: string; serialNo?: string; now: Date; maxSkewSeconds?: number },
): AuthorizationCheck {
  if (request.authorization === undefined || request.authorization === '') {
    return { ok: false, code: 'SIGN_ERROR', message: 'missing Authorization header' };
  }
  const parsed = parseAuthorization(request.authorization);
  if (!parsed) return { ok: false, code: 'SIGN_ERROR', message: 'malformed Authorization header' };
  if (parsed.scheme !== AUTHORIZATION_SCHEME) {
    return { ok: false, code: 'SIGN_ERROR', message: `unsupported authorization scheme ${parsed.scheme}` };
  }
  const { fields } = parsed;
  if (expected.mchid !== undefined && fields.mchid !== expected.mchid) {
    return { ok: false, code: 'SIGN_ERROR', message: 'mchid does not match' };
  }
  if (expected.serialNo !== undefined && fields.serial_no.toUpperCase() !== expected.serialNo.toUpperCase()) {
    return { ok: false, code: 'SIGN_ERROR', message: 'serial_no is not the merchant certificate' };
  }
  const skew = Math.abs(Math.floor(expected.now.getTime() / 1000) - Number(fields.timestamp));
  if (skew > (expected.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS)) {
    return { ok: false, code: 'SIGN_ERROR', message: 'timestamp is too far from now' };
  }
  const message = requestSignMessage(request, fields.timestamp, fields.nonce_str);
  if (!verifySha256Rsa(message, fields.signature, expected.publicKey)) {
    return { ok: false, code: 'SIGN_ERROR', message: 'signature does not verify' };
  }
  return { ok: true, fields };
}
