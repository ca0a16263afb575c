import { WechatPayError } from '../core/errors';

/**
 * WeChat's errcodes from sns/jscode2session (code2Session) in the library's spelling. WeChat answers
 * them with HTTP 200 and `{ errcode, errmsg }`; `rawCode` keeps the number as WeChat sent it.
 */
export const LOGIN_ERRCODES = {
  /** The code is unknown, expired (a code lives 5 minutes) or for another appid. */
  40029: 'INVALID_CODE',
  /** The code was already exchanged: a code is single-use. */
  40163: 'CODE_USED',
  /** The mini program called too often (its per-minute quota); later calls may succeed. */
  45011: 'FREQUENCY_LIMITED',
  /** WeChat refuses this user (high risk); asking again will not help. */
  40226: 'HIGH_RISK_USER',
  /** System busy: WeChat asks to retry later. */
  [-1]: 'SYSTEM_BUSY',
  /** The AppSecret is not this appid's: the deployment's fault (or a secret replaced at WeChat). */
  40125: 'INVALID_APPSECRET',
  /** The appid is unknown to WeChat: the deployment's fault. */
  40013: 'INVALID_APPID',
} as const satisfies Record<number, string>;

/*
 * Deliberately not listed, so ERRCODE_45009 like any unknown errcode (not retryable): WeChat's daily
 * quota of the API is spent ("reach max api daily quota limit"). Asking again soon will not help, and
 * no caller of ours can act on it: an operator must.
 */

export type LoginErrorCode = (typeof LOGIN_ERRCODES)[keyof typeof LOGIN_ERRCODES];

/** Only "system busy" is worth asking again at once; the rate limit outlasts any backoff of ours. */
const RETRYABLE: ReadonlySet<string> = new Set<LoginErrorCode>(['SYSTEM_BUSY']);

/**
 * WeChat's `{ errcode, errmsg }` as a WechatPayError of kind business: WeChat's word, over TLS (the
 * login API signs nothing). An errcode not listed keeps its number: `ERRCODE_<n>`, not retryable.
 */
export function loginError(errcode: number, errmsg: string, httpStatus: number): WechatPayError {
  const known = (LOGIN_ERRCODES as Record<number, LoginErrorCode | undefined>)[errcode];
  const code = known ?? `ERRCODE_${errcode}`;
  return new WechatPayError(code, `jscode2session refused: ${errcode} ${errmsg}`.trim(), {
    retryable: RETRYABLE.has(code),
    kind: 'business',
    httpStatus,
    rawCode: String(errcode),
  });
}
