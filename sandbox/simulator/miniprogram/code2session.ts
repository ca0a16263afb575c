import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { CODE2SESSION_PATH } from '#shared/wechatpay/miniprogram/login-client';
import type { FaultRegistry } from '../faults';
import { sendText } from '../http-io';
import type { ReplyHolds } from '../reply-hold';
import type { Route } from '../router';
import type { Code2SessionError, MiniProgramLogins } from './logins';
import { CODE2SESSION_ERRORS } from './logins';

export interface Code2SessionDeps {
  /** The mini program's appid: the merchant's. */
  appid: string;
  /** Its AppSecret. Never logged, never echoed. */
  appSecret: string;
  logins: MiniProgramLogins;
  faults: FaultRegistry;
  holds: ReplyHolds;
  apiHoldMs: number;
  now: () => number;
}

/** `GET /sns/jscode2session`, as api.weixin.qq.com serves it. */
export function code2SessionRoutes(deps: Code2SessionDeps): Route[] {
  return [{ method: 'GET', path: CODE2SESSION_PATH, handler: async (req, res) => code2Session(req, res, deps) }];
}

/**
 * WeChat answers HTTP 200 and `text/plain` (no charset) whatever the outcome, the JSON body saying
 * which: `{ session_key, openid, unionid? }`, or `{ errcode, errmsg }`. The checks run in WeChat's
 * order: parameters, credentials, then the user's quota, then the code.
 */
async function code2Session(req: IncomingMessage, res: ServerResponse, deps: Code2SessionDeps): Promise<void> {
  req.resume();
  const query = new URL(req.url ?? '/', 'http://simulator').searchParams;
  const param = (name: string): string | undefined => {
    const value = query.get(name);
    return value === null || value === '' ? undefined : value;
  };
  const refuse = (error: Code2SessionError): void => answer(res, failure(error, deps.now()));

  const appid = param('appid');
  const secret = param('secret');
  const code = param('js_code');
  if (appid === undefined) return refuse(CODE2SESSION_ERRORS.APPID_MISSING);
  if (secret === undefined) return refuse(CODE2SESSION_ERRORS.SECRET_MISSING);
  if (code === undefined) return refuse(CODE2SESSION_ERRORS.CODE_MISSING);
  if (param('grant_type') !== 'authorization_code') return refuse(CODE2SESSION_ERRORS.INVALID_GRANT_TYPE);
  if (appid !== deps.appid) return refuse(CODE2SESSION_ERRORS.INVALID_APPID);
  if (secret !== deps.appSecret) return refuse(CODE2SESSION_ERRORS.INVALID_APPSECRET);

  const fault = deps.faults.takeApiFault(undefined);
  if (fault === 'http500') {
    sendText(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
    return;
  }
  if (fault === 'systemerror') return refuse(CODE2SESSION_ERRORS.SYSTEM_ERROR);

  const outcome = deps.logins.exchange(code);
  const body =
    outcome.kind === 'refused'
      ? failure(outcome.error, deps.now())
      : {
          session_key: outcome.sessionKey,
          openid: outcome.openid,
          ...(outcome.unionid === undefined ? {} : { unionid: outcome.unionid }),
        };
  // "timeout": the code is spent, but the answer comes too late for the caller to learn the session.
  if (fault === 'timeout') await deps.holds.hold(deps.apiHoldMs);
  answer(res, body);
}

function answer(res: ServerResponse, body: Record<string, unknown>): void {
  sendText(res, 200, JSON.stringify(body), 'text/plain');
}

function failure(error: Code2SessionError, now: number): { errcode: number; errmsg: string } {
  return { errcode: error.errcode, errmsg: `${error.errmsg}, rid: ${requestId(now)}` };
}

/** WeChat's rid: the unix time in hex, then two random 8-hex-digit groups. */
export function requestId(now: number): string {
  const seconds = Math.floor(now / 1000)
    .toString(16)
    .padStart(8, '0');
  return `${seconds}-${randomBytes(4).toString('hex')}-${randomBytes(4).toString('hex')}`;
}
