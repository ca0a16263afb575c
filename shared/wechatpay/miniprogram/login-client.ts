import * as z from 'zod';
import type { Transport, TransportOptions } from '../core/client-options';
import { transportOf, transportOptionsShape } from '../core/client-options';
import { attemptOptions, timeForAnotherAttempt } from '../core/deadline';
import { WechatPayError } from '../core/errors';
import { exchange, readBodyUpTo } from '../core/http-exchange';
import { parseOrThrow } from '../core/parse-or-throw';
import type { Backoff } from '../core/retry';
import { withRetries } from '../core/retry';
import { loginError } from './login-errors';

/**
 * WeChat's mini program login (sns/jscode2session, "code2Session"): the code `wx.login()` gave the
 * mini program, exchanged with the AppSecret for the user's openid, unionid (when the mini program is
 * bound to an Open Platform account) and session_key. The session_key decrypts the user data the
 * mini program sends later (user-data.ts) and must never leave the merchant's server.
 */

/** api.weixin.qq.com: the mini program APIs' host, not WeChat Pay's. */
export const WECHAT_API_PRODUCTION_URL = 'https://api.weixin.qq.com';
export const CODE2SESSION_PATH = '/sns/jscode2session';

export interface MiniProgramLoginClientOptions extends TransportOptions {
  appid: string;
  /** The mini program's AppSecret. Never logged, never in an error message. */
  appSecret: string;
}

export interface Code2SessionResult {
  openid: string;
  /** Present only when WeChat gives it (the mini program is bound to an Open Platform account). */
  unionid?: string;
  /** base64 of 16 bytes: the AES-128 key of the user's encrypted data. A secret. */
  sessionKey: string;
}

/**
 * WeChat publishes no format for a login code or an openid (an openid is 28 characters of base64url
 * in practice): a sane shape only, which is also safe in a query and as a table key.
 */
const printableTokenSchema = z
  .string('must be a string')
  .min(1, 'must not be empty')
  .max(128, 'at most 128 characters')
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces');

/** A login code as wx.login() gives it. */
export const loginCodeSchema = printableTokenSchema;
/** A user's openid as WeChat answers it (and as callers give it back to us). */
export const openidSchema = printableTokenSchema;

/** A mini program's AppSecret. The message names the rule only: the value is a secret, never echoed. */
export const appSecretSchema = z.string().regex(/^[A-Za-z0-9]{16,64}$/, 'an AppSecret: 16 to 64 letters or digits');

/** A session_key as WeChat gives it: base64 of 16 bytes (the AES-128 key of the user's data). */
export const SESSION_KEY_PATTERN = /^[A-Za-z0-9+/]{22}==$/;

const optionsSchema = z.strictObject({
  ...transportOptionsShape,
  appid: z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'an appid: 1 to 32 letters, digits or _'),
  appSecret: appSecretSchema,
});

const successSchema = z.object({
  openid: openidSchema,
  session_key: z.string().regex(SESSION_KEY_PATTERN, 'base64 of 16 bytes'),
  unionid: z.string().min(1).max(128).optional(),
});

const failureSchema = z.object({ errcode: z.number().int(), errmsg: z.string().max(1024).optional() });

/** WeChat's answers are a few hundred bytes. */
const MAX_ANSWER_BYTES = 16 * 1024;
/** Waits before asking again after "system busy" (-1). */
export const LOGIN_RETRY_BACKOFF: Backoff = { firstMs: 200, capMs: 1_000, jitter: 'equal' };

export class MiniProgramLoginClient {
  readonly appid: string;
  // An ES private field: a logger or JSON.stringify that dumps the client cannot show it.
  readonly #appSecret: string;
  readonly #transport: Transport;

  constructor(options: MiniProgramLoginClientOptions) {
    const checked = parseOrThrow(optionsSchema, options, 'mini program login client options');
    this.appid = checked.appid;
    this.#appSecret = checked.appSecret;
    this.#transport = transportOf(options);
  }

  /**
   * Exchanges one login code. Only "system busy" is asked again (with backoff, within the deadline):
   * a transport failure is not, since WeChat may have used the code, and a second exchange of it
   * would only say CODE_USED. A CODE_USED after a busy answer means the busy attempt spent the code:
   * that ends the retries, as SYSTEM_BUSY no longer retryable (only a new code can succeed).
   */
  async codeToSession(code: string): Promise<Code2SessionResult> {
    const jsCode = parseOrThrow(loginCodeSchema, code, 'js_code');
    let previous: WechatPayError | undefined;
    return withRetries(
      async (n) => {
        try {
          return await this.attempt(jsCode);
        } catch (error) {
          if (n > 1 && previous !== undefined && error instanceof WechatPayError && error.code === 'CODE_USED') {
            throw spentWhileBusy(previous);
          }
          if (error instanceof WechatPayError) previous = error;
          throw error;
        }
      },
      {
        maxAttempts: this.#transport.maxAttempts,
        backoff: LOGIN_RETRY_BACKOFF,
        sleep: this.#transport.sleep,
        timeForAnother: (waitMs) => timeForAnotherAttempt(this.#transport, waitMs),
        isRetryable: (error) => error instanceof WechatPayError && error.code === 'SYSTEM_BUSY' && error.retryable,
      },
    );
  }

  private async attempt(jsCode: string): Promise<Code2SessionResult> {
    const query = new URLSearchParams({
      appid: this.appid,
      secret: this.#appSecret,
      js_code: jsCode,
      grant_type: 'authorization_code',
    });
    const url = `${this.#transport.baseUrl}${CODE2SESSION_PATH}?${query.toString()}`;
    const what = `GET ${CODE2SESSION_PATH}`;
    return exchange(
      { method: 'GET', url, headers: { accept: 'application/json' } },
      attemptOptions(this.#transport, what),
      (response) => readAnswer(response),
    );
  }
}

function spentWhileBusy(busy: WechatPayError): WechatPayError {
  return new WechatPayError(busy.code, `${busy.message}; the code is spent: a new one is needed (wx.login)`, {
    retryable: false,
    kind: busy.kind,
    ...(busy.httpStatus === undefined ? {} : { httpStatus: busy.httpStatus }),
    ...(busy.rawCode === undefined ? {} : { rawCode: busy.rawCode }),
    cause: busy,
  });
}

/** WeChat answers 200 either way (often as text/plain): the body says which. */
async function readAnswer(response: Response): Promise<Code2SessionResult> {
  const httpStatus = response.status;
  const bytes = await readBodyUpTo(response, MAX_ANSWER_BYTES);
  const transportError = (code: string, message: string, retryable: boolean) =>
    new WechatPayError(code, `GET ${CODE2SESSION_PATH}: ${message}`, { retryable, kind: 'transport', httpStatus });
  if (bytes === undefined)
    throw transportError('RESPONSE_TOO_LARGE', `answer larger than ${MAX_ANSWER_BYTES} bytes`, false);
  if (httpStatus !== 200) throw transportError(`HTTP_${httpStatus}`, `HTTP ${httpStatus}`, httpStatus >= 500);
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw transportError('INVALID_RESPONSE', 'the answer is not JSON', false);
  }
  const failure = failureSchema.safeParse(body);
  if (failure.success && failure.data.errcode !== 0) {
    throw loginError(failure.data.errcode, failure.data.errmsg ?? '', httpStatus);
  }
  const success = successSchema.safeParse(body);
  if (!success.success) {
    // Never quote the body: it may hold a session_key.
    const field = success.error.issues[0]?.path.join('.') ?? 'body';
    throw new WechatPayError('INVALID_RESPONSE', `GET ${CODE2SESSION_PATH}: the answer lacks a valid ${field}`, {
      retryable: false,
      kind: 'business',
      httpStatus,
    });
  }
  const { openid, session_key: sessionKey, unionid } = success.data;
  return { openid, sessionKey, ...(unionid === undefined ? {} : { unionid }) };
}
