import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { encryptUserData } from '#shared/wechatpay/miniprogram/user-data';
import { readJson, sendJson, sendJsonError } from '../http-io';
import type { Route } from '../router';
import type { MiniProgramLogins } from './logins';

export interface MiniProgramControlDeps {
  /** The mini program's appid: the watermark of its users' data. */
  appid: string;
  logins: MiniProgramLogins;
  now: () => number;
}

/** An openid or unionid as the sandbox accepts one: WeChat's are 28 of these characters. */
const userIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, '1 to 128 letters, digits, - or _');

const loginRequestSchema = z
  .object({ openid: userIdSchema.optional(), unionid: userIdSchema.optional(), high_risk: z.boolean().optional() })
  .strict();

const userDataRequestSchema = z
  .object({
    openid: userIdSchema,
    data: z.record(z.string(), z.unknown()).optional(),
    watermark_appid: z
      .string()
      .regex(/^[A-Za-z0-9_]{1,32}$/, '1 to 32 letters, digits or _')
      .optional(),
  })
  .strict();

/** The sandbox's mini program switches: be the mini program (wx.login, encrypted user data), look at WeChat's side. */
export function miniProgramControlRoutes(deps: MiniProgramControlDeps): Route[] {
  return [
    { method: 'POST', path: '/sandbox/miniprogram/login', handler: (req, res) => login(req, res, deps) },
    { method: 'POST', path: '/sandbox/miniprogram/user-data', handler: (req, res) => userData(req, res, deps) },
    {
      method: 'GET',
      path: '/sandbox/miniprogram/sessions/:openid',
      handler: async (_req, res, p) => session(res, p.openid as string, deps),
    },
  ];
}

/** What wx.login() gives the mini program: a code, single-use, valid five minutes (scaled). */
async function login(req: IncomingMessage, res: ServerResponse, deps: MiniProgramControlDeps): Promise<void> {
  const body = await readJson(req, res, loginRequestSchema);
  if (body === undefined) return;
  const outcome = deps.logins.login({
    ...(body.openid === undefined ? {} : { openid: body.openid }),
    ...(body.unionid === undefined ? {} : { unionid: body.unionid }),
    ...(body.high_risk === undefined ? {} : { highRisk: body.high_risk }),
  });
  if (outcome.kind === 'unionid_mismatch') {
    sendJsonError(res, 409, 'UNIONID_MISMATCH', 'this openid already has another unionid', 'unionid');
    return;
  }
  sendJson(res, 201, { code: outcome.code, openid: outcome.openid });
}

/**
 * What the mini program receives from an API such as wx.getUserProfile: `data` (a small profile by
 * default) with WeChat's watermark, encrypted with the user's current session_key.
 */
async function userData(req: IncomingMessage, res: ServerResponse, deps: MiniProgramControlDeps): Promise<void> {
  const body = await readJson(req, res, userDataRequestSchema);
  if (body === undefined) return;
  const user = deps.logins.session(body.openid);
  if (user === undefined) {
    sendJsonError(res, 404, 'NO_SESSION', `${body.openid} has no session: exchange a login code first`, 'openid');
    return;
  }
  const sealed = encryptUserData({
    data: body.data ?? defaultProfile(user.openid, user.unionid),
    sessionKey: user.sessionKey,
    appid: body.watermark_appid ?? deps.appid,
    timestamp: Math.floor(deps.now() / 1000),
  });
  sendJson(res, 200, { encrypted_data: sealed.encryptedData, iv: sealed.iv });
}

/**
 * WeChat's own view of the user's session, session_key included: what the merchant's side must never
 * show. `issued_session_keys` lists every key the user's exchanges were given, oldest first, the
 * current one last, so a test can look for each of them on the merchant's side.
 */
function session(res: ServerResponse, openid: string, deps: MiniProgramControlDeps): void {
  const user = deps.logins.session(openid);
  if (user === undefined) {
    sendJsonError(res, 404, 'NO_SESSION', `${openid} has no session`);
    return;
  }
  sendJson(res, 200, {
    openid: user.openid,
    ...(user.unionid === undefined ? {} : { unionid: user.unionid }),
    session_key: user.sessionKey,
    issued_session_keys: user.issuedSessionKeys,
  });
}

/** The fields of WeChat's user-info data, in its order and spelling. */
function defaultProfile(openid: string, unionid: string | undefined): Record<string, unknown> {
  return {
    openId: openid,
    nickName: 'Sandbox User',
    gender: 0,
    language: 'zh_CN',
    city: '',
    province: '',
    country: '',
    avatarUrl: '',
    ...(unionid === undefined ? {} : { unionId: unionid }),
  };
}
