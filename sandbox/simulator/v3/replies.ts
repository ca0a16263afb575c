import type { KeyObject } from 'node:crypto';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { nonce } from '../ids';

/**
 * A v3 answer before it is encoded: an HTTP status and a JSON body (none for 204). Errors are
 * `{ code, message, detail? }` with a 4xx/5xx status, as WeChat's v3 API answers them.
 */
export interface V3Reply {
  status: number;
  body?: Record<string, unknown>;
}

export interface V3ErrorDetail {
  /** Where the offending value was: the body, the path or the query string. */
  location: 'body' | 'path' | 'query';
  field: string;
  issue: string;
}

export function answer(body: Record<string, unknown>): V3Reply {
  return { status: 200, body };
}

export function noContent(): V3Reply {
  return { status: 204 };
}

export function v3Error(status: number, code: string, message: string, detail?: V3ErrorDetail): V3Reply {
  return { status, body: { code, message, ...(detail === undefined ? {} : { detail }) } };
}

/**
 * The answer as sent: JSON text, signed by WeChat over `timestamp\nnonce\nbody\n` (an empty body for
 * 204 is signed too), with the Wechatpay-* headers and a Request-ID.
 */
export function renderSigned(
  reply: V3Reply,
  signer: { privateKey: KeyObject; serial: string },
  now: number,
): { status: number; body: string; headers: Record<string, string> } {
  const body = reply.body === undefined ? '' : JSON.stringify(reply.body);
  const headers: Record<string, string> = {
    ...signWechatpayMessage(body, signer, { now: new Date(now) }),
    'Request-ID': nonce(32),
  };
  if (body !== '') headers['Content-Type'] = 'application/json; charset=utf-8';
  return { status: reply.status, body, headers };
}
