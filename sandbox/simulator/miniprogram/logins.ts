import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../clock';
import { nonce } from '../ids';
import type { TimeRules } from '../time-rules';
import { MinuteQuota } from './minute-quota';

/**
 * WeChat's side of mini program login: the users who logged in, the codes wx.login() handed out, and
 * each user's current session_key. In memory only: codes live five minutes, and after a restart users
 * simply log in again, as after WeChat drops a session.
 */

export interface MiniProgramUser {
  openid: string;
  /** Only for a mini program bound to an Open Platform account; fixed per user. */
  unionid?: string;
  /** WeChat refuses this user's logins (40226). */
  highRisk: boolean;
  /** The key of the latest successful exchange, which replaces the one before. Shown only by the sandbox's own view. */
  sessionKey?: string;
  /**
   * Every session_key an exchange gave this user, oldest first, the current last: a test that floods
   * logins checks that none of them ever shows on the merchant's side, not only the last.
   */
  issuedSessionKeys: string[];
}

interface IssuedCode {
  openid: string;
  expiresAt: number;
  used: boolean;
}

/** code2Session's errcodes and WeChat's exact errmsg texts (the rid is added when answering). */
export const CODE2SESSION_ERRORS = {
  APPID_MISSING: { errcode: 41002, errmsg: 'appid missing' },
  SECRET_MISSING: { errcode: 41004, errmsg: 'appsecret missing' },
  CODE_MISSING: { errcode: 41008, errmsg: 'missing code' },
  INVALID_GRANT_TYPE: { errcode: 40002, errmsg: 'invalid grant_type' },
  INVALID_APPID: { errcode: 40013, errmsg: 'invalid appid' },
  INVALID_APPSECRET: { errcode: 40125, errmsg: 'invalid appsecret' },
  SYSTEM_ERROR: { errcode: -1, errmsg: 'system error' },
  MINUTE_QUOTA: { errcode: 45011, errmsg: 'api minute-quota reach limit, must slower, retry next minute' },
  INVALID_CODE: { errcode: 40029, errmsg: 'invalid code' },
  CODE_USED: { errcode: 40163, errmsg: 'code been used' },
  HIGH_RISK_USER: { errcode: 40226, errmsg: 'high risk user' },
} as const;

export type Code2SessionError = (typeof CODE2SESSION_ERRORS)[keyof typeof CODE2SESSION_ERRORS];

export type ExchangeOutcome =
  | { kind: 'session'; openid: string; unionid?: string; sessionKey: string }
  | { kind: 'refused'; error: Code2SessionError };

export type LoginOutcome =
  | { kind: 'issued'; code: string; openid: string; expiresAt: number }
  /** The openid is known with another unionid: a user's unionid never changes. */
  | { kind: 'unionid_mismatch' };

export interface LoginRequest {
  openid?: string;
  unionid?: string;
  highRisk?: boolean;
}

const OPENID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

/** Like WeChat's: 28 characters, starting with `o`. */
export function newOpenid(): string {
  let out = 'o';
  while (out.length < 28) out += OPENID_ALPHABET[randomInt(0, OPENID_ALPHABET.length)];
  return out;
}

export class MiniProgramLogins {
  private readonly users = new Map<string, MiniProgramUser>();
  /** In issue order, so expired codes are found at the front. */
  private readonly codes = new Map<string, IssuedCode>();
  private readonly quota: MinuteQuota;

  constructor(
    private readonly rules: TimeRules,
    private readonly clock: Clock,
    rateLimitPerMinute: number,
  ) {
    this.quota = new MinuteQuota(rateLimitPerMinute, () => clock.now());
  }

  /** What wx.login() does: a fresh single-use code for the user (created when new). */
  login(request: LoginRequest): LoginOutcome {
    const openid = request.openid ?? newOpenid();
    const known = this.users.get(openid);
    if (known?.unionid !== undefined && request.unionid !== undefined && known.unionid !== request.unionid) {
      return { kind: 'unionid_mismatch' };
    }
    const user: MiniProgramUser = known ?? { openid, highRisk: false, issuedSessionKeys: [] };
    if (request.unionid !== undefined) user.unionid = request.unionid;
    if (request.highRisk !== undefined) user.highRisk = request.highRisk;
    this.users.set(openid, user);
    const now = this.clock.now();
    this.forgetExpiredCodes(now);
    const code = nonce(32);
    const expiresAt = this.rules.loginCodeExpiresAt(now);
    this.codes.set(code, { openid, expiresAt, used: false });
    return { kind: 'issued', code, openid, expiresAt };
  }

  /**
   * code2Session once the caller's appid and secret are right. The quota is counted before the code
   * is judged (a used or expired code still costs the user a call); an unknown code belongs to no user
   * and so counts against none. A high-risk user's code is spent all the same.
   */
  exchange(code: string): ExchangeOutcome {
    const now = this.clock.now();
    const issued = this.codes.get(code);
    const refused = (error: Code2SessionError): ExchangeOutcome => ({ kind: 'refused', error });
    if (issued !== undefined && !this.quota.take(issued.openid)) return refused(CODE2SESSION_ERRORS.MINUTE_QUOTA);
    if (issued === undefined || now >= issued.expiresAt) return refused(CODE2SESSION_ERRORS.INVALID_CODE);
    if (issued.used) return refused(CODE2SESSION_ERRORS.CODE_USED);
    issued.used = true;
    const user = this.users.get(issued.openid);
    if (user === undefined) return refused(CODE2SESSION_ERRORS.INVALID_CODE); // unreachable: login creates the user
    if (user.highRisk) return refused(CODE2SESSION_ERRORS.HIGH_RISK_USER);
    user.sessionKey = randomBytes(16).toString('base64');
    user.issuedSessionKeys.push(user.sessionKey);
    return {
      kind: 'session',
      openid: user.openid,
      sessionKey: user.sessionKey,
      ...(user.unionid === undefined ? {} : { unionid: user.unionid }),
    };
  }

  /** The user with a live session (a session_key from an exchange), or undefined. */
  session(openid: string): (MiniProgramUser & { sessionKey: string }) | undefined {
    const user = this.users.get(openid);
    return user?.sessionKey === undefined
      ? undefined
      : { ...user, sessionKey: user.sessionKey, issuedSessionKeys: [...user.issuedSessionKeys] };
  }

  private forgetExpiredCodes(now: number): void {
    for (const [code, issued] of this.codes) {
      if (now < issued.expiresAt) break;
      this.codes.delete(code);
    }
  }
}
