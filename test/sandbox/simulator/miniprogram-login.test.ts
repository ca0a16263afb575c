import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#sandbox/simulator/clock';
import type { Clock } from '#sandbox/simulator/clock';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { CODE2SESSION_PATH } from '#shared/wechatpay/miniprogram/login-client';
import { code2Session, errmsgPattern, sandboxLogin, sandboxSession } from '#test/helpers/miniprogram-sandbox';
import { MERCHANT, controlPost } from './support';

/** GET /sns/jscode2session as WeChat's api.weixin.qq.com answers it. */

const APP_SECRET = 'a3f1c0de9b8e7d6c5b4a39281706f5e4';
const HOLD_MS = 600;
/** Moves the simulator's clock without waiting. */
let offsetMs = 0;
const clock: Clock = { ...systemClock, now: () => Date.now() + offsetMs };
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({
    merchant: MERCHANT,
    miniProgram: { appSecret: APP_SECRET, loginRateLimitPerMinute: 5 },
    apiTimeoutHoldMs: HOLD_MS,
    clock,
  });
});
afterEach(async () => {
  offsetMs = 0;
  expect((await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' })).status).toBe(200);
});
afterAll(async () => {
  await sim.close();
});

const params = (code: string | undefined, overrides: Record<string, string | undefined> = {}) => ({
  appid: MERCHANT.appid,
  secret: APP_SECRET,
  js_code: code,
  grant_type: 'authorization_code',
  ...overrides,
});
const exchange = (code: string | undefined, overrides: Record<string, string | undefined> = {}) =>
  code2Session(sim.url, params(code, overrides));

describe('a login code exchanged', () => {
  it('answers 200 text/plain { session_key, openid } with no errcode, the session_key base64 of 16 bytes', async () => {
    const login = await sandboxLogin(sim.url);
    const answer = await exchange(login.code);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/plain');
    expect(Object.keys(answer.json ?? {}).sort()).toEqual(['openid', 'session_key']);
    expect(answer.json?.openid).toBe(login.openid);
    const sessionKey = answer.json?.session_key as string;
    expect(sessionKey).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    expect(Buffer.from(sessionKey, 'base64')).toHaveLength(16);
    expect((await sandboxSession(sim.url, login.openid)).json).toEqual({
      openid: login.openid,
      session_key: sessionKey,
      issued_session_keys: [sessionKey],
    });
  });

  it('gives the unionid of a user that has one', async () => {
    const login = await sandboxLogin(sim.url, { unionid: 'oUnion0000000000000000000001' });
    const answer = await exchange(login.code);
    expect(answer.json).toEqual({
      session_key: expect.any(String),
      openid: login.openid,
      unionid: 'oUnion0000000000000000000001',
    });
  });

  it('is single-use: the same code again is 40163 "code been used", still HTTP 200 text/plain', async () => {
    const login = await sandboxLogin(sim.url);
    expect((await exchange(login.code)).json?.openid).toBe(login.openid);
    const again = await exchange(login.code);
    expect(again.status).toBe(200);
    expect(again.contentType).toBe('text/plain');
    expect(again.json?.errcode).toBe(40163);
    expect(again.json?.errmsg).toMatch(errmsgPattern('code been used'));
  });

  it('a new login of the same user gives a fresh session_key, which replaces the old one', async () => {
    const first = await sandboxLogin(sim.url);
    const key1 = (await exchange(first.code)).json?.session_key;
    const second = await sandboxLogin(sim.url, { openid: first.openid });
    expect(second.openid).toBe(first.openid);
    const key2 = (await exchange(second.code)).json?.session_key;
    expect(key2).not.toBe(key1);
    expect((await sandboxSession(sim.url, first.openid)).json.session_key).toBe(key2);
  });

  it('an unknown code is 40029 "invalid code"', async () => {
    const answer = await exchange('0a3NotAnIssuedCode0000000000000');
    expect(answer.json?.errcode).toBe(40029);
    expect(answer.json?.errmsg).toMatch(errmsgPattern('invalid code'));
  });

  it('a code lives 5 minutes: valid at 4:59, 40029 at 5:00, and its user is not charged a session', async () => {
    const early = await sandboxLogin(sim.url);
    const late = await sandboxLogin(sim.url);
    offsetMs = 5 * 60_000 - 1000;
    expect((await exchange(early.code)).json?.openid).toBe(early.openid);
    offsetMs = 5 * 60_000;
    const expired = await exchange(late.code);
    expect(expired.json?.errcode).toBe(40029);
    expect((await sandboxSession(sim.url, late.openid)).status).toBe(404);
  });

  it("a high-risk user's code is 40226 and spent; the user may log in again once no longer marked", async () => {
    const risky = await sandboxLogin(sim.url, { high_risk: true });
    const refused = await exchange(risky.code);
    expect(refused.json?.errcode).toBe(40226);
    expect(refused.json?.errmsg).toMatch(errmsgPattern('high risk user'));
    expect((await exchange(risky.code)).json?.errcode).toBe(40163);
    // Still marked without high_risk in the request: the mark is the user's.
    expect((await exchange((await sandboxLogin(sim.url, { openid: risky.openid })).code)).json?.errcode).toBe(40226);
    const cleared = await sandboxLogin(sim.url, { openid: risky.openid, high_risk: false });
    expect((await exchange(cleared.code)).json?.openid).toBe(risky.openid);
  });
});

describe('the caller checked in WeChat order', () => {
  it.each<[string, Record<string, string | undefined>, number, string]>([
    ['no appid', { appid: undefined, secret: 'wrong0000000000000' }, 41002, 'appid missing'],
    ['an empty appid', { appid: '' }, 41002, 'appid missing'],
    ['no secret', { secret: undefined, grant_type: 'client_credential' }, 41004, 'appsecret missing'],
    ['no js_code', { js_code: undefined, appid: 'wxOther' }, 41008, 'missing code'],
    ['a grant_type other than authorization_code', { grant_type: 'client_credential' }, 40002, 'invalid grant_type'],
    ['no grant_type', { grant_type: undefined, appid: 'wxOther' }, 40002, 'invalid grant_type'],
    ['another appid', { appid: 'wx0000000000000000', secret: 'wrong0000000000000' }, 40013, 'invalid appid'],
    ['a wrong AppSecret', { secret: 'b3f1c0de9b8e7d6c5b4a39281706f5e4' }, 40125, 'invalid appsecret'],
  ])('%s: %d', async (_what, overrides, errcode, errmsg) => {
    const login = await sandboxLogin(sim.url);
    const answer = await exchange(login.code, overrides);
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/plain');
    expect(answer.json).toEqual({ errcode, errmsg: expect.stringMatching(errmsgPattern(errmsg)) });
    // The code was never looked at: it still works.
    expect((await exchange(login.code)).json?.openid).toBe(login.openid);
  });

  it('never echoes the secret it was given', async () => {
    const wrong = 'c3f1c0de9b8e7d6c5b4a39281706f5e4';
    const answer = await exchange((await sandboxLogin(sim.url)).code, { secret: wrong });
    expect(answer.text).not.toContain(wrong);
    expect(answer.text).not.toContain(APP_SECRET);
  });

  it('answers GET only', async () => {
    const res = await fetch(`${sim.url}${CODE2SESSION_PATH}`, { method: 'POST' });
    expect(res.status).toBe(405);
  });

  it('serves the same over HTTPS, on the same port', async () => {
    const { tlsFetch } = await import('#shared/wechatpay/core/tls-fetch');
    const login = await sandboxLogin(sim.url);
    const query = new URLSearchParams(params(login.code) as Record<string, string>);
    const res = await tlsFetch({ caPem: sim.tls.caCertPem })(`${sim.httpsUrl}${CODE2SESSION_PATH}?${query}`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as Record<string, unknown>).openid).toBe(login.openid);
  });
});

describe('the per-user minute quota (45011)', () => {
  it('counts every call of a user in a real minute, before the code is judged; frees up a minute on', async () => {
    const user = await sandboxLogin(sim.url);
    expect((await exchange(user.code)).json?.openid).toBe(user.openid); // 1
    expect((await exchange(user.code)).json?.errcode).toBe(40163); // 2: a used code still counts
    for (let i = 3; i <= 5; i += 1) {
      const login = await sandboxLogin(sim.url, { openid: user.openid });
      expect((await exchange(login.code)).json?.openid).toBe(user.openid);
    }
    const sixth = await sandboxLogin(sim.url, { openid: user.openid });
    const limited = await exchange(sixth.code);
    expect(limited.status).toBe(200);
    expect(limited.json).toEqual({
      errcode: 45011,
      errmsg: expect.stringMatching(errmsgPattern('api minute-quota reach limit, must slower, retry next minute')),
    });
    expect((await exchange(user.code)).json?.errcode).toBe(45011); // before the code: not 40163

    const other = await sandboxLogin(sim.url);
    expect((await exchange(other.code)).json?.openid).toBe(other.openid);

    offsetMs = 59_000;
    expect((await exchange(sixth.code)).json?.errcode).toBe(45011);
    offsetMs = 60_000;
    // The refused calls spent nothing: the code is still good.
    expect((await exchange(sixth.code)).json?.openid).toBe(user.openid);
  });

  it('is a real minute whatever the time scale', async () => {
    const fast = await startSimulator({
      merchant: MERCHANT,
      miniProgram: { appSecret: APP_SECRET, loginRateLimitPerMinute: 1 },
      timeScale: 1000,
    });
    try {
      const user = await sandboxLogin(fast.url);
      const call = (code: string) => code2Session(fast.url, params(code));
      expect((await call(user.code)).json?.openid).toBe(user.openid);
      // 60 ms is a scaled minute: the quota does not care.
      await new Promise((r) => setTimeout(r, 100));
      const next = await sandboxLogin(fast.url, { openid: user.openid });
      expect((await call(next.code)).json?.errcode).toBe(45011);
    } finally {
      await fast.close();
    }
  });
});

describe('api faults (POST /sandbox/faults)', () => {
  it('systemerror: -1 "system error", the code untouched; with times 1 the next call succeeds', async () => {
    const login = await sandboxLogin(sim.url);
    expect((await controlPost(sim.url, '/sandbox/faults', { api: 'systemerror', times: 1 })).status).toBe(200);
    const busy = await exchange(login.code);
    expect(busy.status).toBe(200);
    expect(busy.json).toEqual({ errcode: -1, errmsg: expect.stringMatching(errmsgPattern('system error')) });
    expect((await exchange(login.code)).json?.openid).toBe(login.openid);
  });

  it('http500: HTTP 500 with a plain body, the code untouched', async () => {
    const login = await sandboxLogin(sim.url);
    await controlPost(sim.url, '/sandbox/faults', { api: 'http500' });
    const answer = await exchange(login.code);
    expect(answer.status).toBe(500);
    expect(answer.json).toBeUndefined();
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    expect((await exchange(login.code)).json?.openid).toBe(login.openid);
  });

  it('timeout: the code is spent at once, the answer held back', async () => {
    const login = await sandboxLogin(sim.url);
    await controlPost(sim.url, '/sandbox/faults', { api: 'timeout', times: 1 });
    const started = performance.now();
    const held = exchange(login.code, {});
    // While the first answer is held, WeChat has already used the code.
    await new Promise((r) => setTimeout(r, 100));
    expect((await exchange(login.code)).json?.errcode).toBe(40163);
    const answer = await held;
    expect(performance.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 20);
    expect(answer.json?.openid).toBe(login.openid);
  });

  it('the credentials are checked before a fault applies', async () => {
    await controlPost(sim.url, '/sandbox/faults', { api: 'http500' });
    const answer = await exchange('anything', { secret: 'd3f1c0de9b8e7d6c5b4a39281706f5e4' });
    expect(answer.status).toBe(200);
    expect(answer.json?.errcode).toBe(40125);
  });
});

describe('a request the simulator fails to handle', () => {
  it('is 500 and logged by method and path, never with the query (the AppSecret and the code)', async () => {
    // A clock that throws on demand: the one way to make a route fail for real.
    let broken = false;
    const failing: Clock = {
      ...systemClock,
      now: () => {
        if (broken) throw new Error('clock broken for the test');
        return Date.now();
      },
    };
    const lines: string[] = [];
    const faulty = await startSimulator({
      merchant: MERCHANT,
      miniProgram: { appSecret: APP_SECRET },
      clock: failing,
      log: (line) => lines.push(line),
    });
    try {
      const login = await sandboxLogin(faulty.url);
      broken = true;
      // A wrong appid makes the route stamp its refusal's rid with the clock.
      const answer = await code2Session(faulty.url, params(login.code, { appid: 'wxwrongappid00000' }));
      broken = false;
      expect(answer.status).toBe(500);
      const failed = lines.filter((line) => line.includes('failed'));
      expect(failed).toEqual([`simulator: GET ${CODE2SESSION_PATH} failed: clock broken for the test`]);
      for (const line of lines) {
        expect(line).not.toContain(APP_SECRET);
        expect(line).not.toContain(login.code);
        expect(line).not.toContain('secret=');
      }
    } finally {
      await faulty.close();
    }
  });
});
