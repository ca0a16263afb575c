import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import { secondsApart } from '#shared/wechatpay/core/clock';
import { AUTHORIZATION_SCHEME, MAX_CLOCK_SKEW_SECONDS, requestSignMessage } from '../authorization';
import type { AuthorizationFields, SignableRequest } from '../authorization';
import type { AppClientParams, JsapiClientParams } from '../client-params';
import { appSignMessage, jsapiSignMessage } from '../client-params';
import { verifySha256Rsa } from '../sign';

/**
 * For the simulator and tests only: the checks WeChat makes on what a merchant sends (the
 * Authorization header of a request, the client parameters that open the cashier). A merchant
 * never runs them.
 */

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
 * The request signature as WeChat checks it: header well formed, merchant and certificate serial
 * as expected, timestamp within 5 minutes, signature valid for the merchant's key.
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
  if (secondsApart(expected.now, fields.timestamp) > (expected.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS)) {
    return { ok: false, code: 'SIGN_ERROR', message: 'timestamp is too far from now' };
  }
  const message = requestSignMessage(request, fields.timestamp, fields.nonce_str);
  if (!verifySha256Rsa(message, fields.signature, expected.publicKey)) {
    return { ok: false, code: 'SIGN_ERROR', message: 'signature does not verify' };
  }
  return { ok: true, fields };
}

/** What WeChat's JSAPI bridge checks before it opens the cashier. */
export function verifyJsapiClientParams(params: JsapiClientParams, merchantPublicKey: KeyObject): boolean {
  return params.signType === 'RSA' && verifySha256Rsa(jsapiSignMessage(params), params.paySign, merchantPublicKey);
}

/** What WeChat's APP SDK checks before it opens the cashier. */
export function verifyAppClientParams(params: AppClientParams, merchantPublicKey: KeyObject): boolean {
  return params.package === 'Sign=WXPay' && verifySha256Rsa(appSignMessage(params), params.sign, merchantPublicKey);
}
