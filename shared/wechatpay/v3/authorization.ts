import type { KeyObject } from 'node:crypto';
import { signSha256Rsa } from './sign';

/**
 * The merchant's request signature (APIv3 "Authorization" header):
 *   WECHATPAY2-SHA256-RSA2048 mchid="…",nonce_str="…",signature="…",timestamp="…",serial_no="…"
 * signed over `METHOD\nURL\nTIMESTAMP\nNONCE\nBODY\n`, URL being the path plus query string exactly
 * as sent. The merchant signs with its API certificate's private key; serial_no names that certificate.
 * WeChat's check of it is in testing/wechat-checks.ts.
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
