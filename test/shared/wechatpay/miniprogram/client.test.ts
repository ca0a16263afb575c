import { inspect } from 'node:util';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#sandbox/simulator/clock';
import type { Clock } from '#sandbox/simulator/clock';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';
import {
  CODE2SESSION_PATH,
  LOGIN_RETRY_BACKOFF,
  MiniProgramLoginClient,
  SESSION_KEY_PATTERN,
  WECHAT_API_PRODUCTION_URL,
} from '#shared/wechatpay/miniprogram/login-client';
import type { MiniProgramLoginClientOptions } from '#shared/wechatpay/miniprogram/login-client';
import { decryptUserData } from '#shared/wechatpay/miniprogram/user-data';
import { sandboxLogin, sandboxSession, sandboxUserData } from '#test/helpers/miniprogram-sandbox';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { startCraftedServer } from '#test/helpers/wechatpay-v2';

/**
 * MiniProgramLoginClient.codeToSession over real HTTP: against the simulator (WeChat's errcodes as
 * api.weixin.qq.com gives them, over HTTPS with the simulator's CA), and against a loopback server
 * answering crafted bytes for what the simulator does not produce (garbage, oversize, dropped
 * connections, answers in shapes WeChat has been seen to use).
 */

const APPID = 'wxd930ea5d5a258f4f';
const APP_SECRET = '5e0c7a8b9d1f2e3a4b5c6d7e8f901234';
const HOLD_MS = 800;

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WechatPayError);
  return error as WechatPayError;
}

/**
 * Neither the AppSecret nor a session_key may show in what a caller could log: the error with its
 * whole cause chain, as util.inspect (and so a logger) prints it, and as JSON.
 */
function expectNoSecret(error: unknown, ...secrets: string[]): void {
  const seen = [inspect(error, { depth: null }), JSON.stringify(error)].join('\n');
  for (const secret of [APP_SECRET, ...secrets]) expect(seen).not.toContain(secret);
}

describe('options', () => {
  const good: MiniProgramLoginClientOptions = {
    baseUrl: WECHAT_API_PRODUCTION_URL,
    appid: APPID,
    appSecret: APP_SECRET,
  };

  it('names the production host', () => {
    expect(WECHAT_API_PRODUCTION_URL).toBe('https://api.weixin.qq.com');
    expect(new MiniProgramLoginClient(good).appid).toBe(APPID);
  });

  // A logger that dumps the client must not print the AppSecret (an ES private field, as the v2 client's key).
  it("keeps the AppSecret out of the client's visible state", () => {
    const client = new MiniProgramLoginClient(good);
    expect(JSON.stringify(client)).not.toContain(APP_SECRET);
    expect(Object.values(client)).not.toContain(APP_SECRET);
  });

  it.each<[string, Partial<MiniProgramLoginClientOptions>]>([
    ['appSecret', { appSecret: 'short' }],
    ['appSecret', { appSecret: `${APP_SECRET}-with-dash` }],
    ['appid', { appid: 'wx with space' }],
    ['baseUrl', { baseUrl: 'ftp://api.weixin.qq.com' }],
    ['maxAttempts', { maxAttempts: 0 }],
    // A misspelt option would otherwise be ignored silently.
    ['appSecert', { appSecert: APP_SECRET } as Partial<MiniProgramLoginClientOptions>],
  ])('refuses a bad %s at construction, never echoing the secret', (field, bad) => {
    let error: unknown;
    try {
      new MiniProgramLoginClient({ ...good, ...bad });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(WechatPayValidationError);
    expect((error as WechatPayValidationError).field).toBe(field);
    expect((error as Error).message).not.toContain(bad.appSecret ?? APP_SECRET);
  });

  it.each(['', 'has space', 'x'.repeat(129), 'naïve'])('refuses the code %j before sending anything', async (code) => {
    let called = false;
    const client = new MiniProgramLoginClient({
      ...good,
      fetch: async () => {
        called = true;
        return new Response('{}');
      },
    });
    await expect(client.codeToSession(code)).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(called).toBe(false);
  });
});

describe('against the simulator', () => {
  let offsetMs = 0;
  const clock: Clock = { ...systemClock, now: () => Date.now() + offsetMs };
  let sim: RunningSimulator;
  const sleeps: number[] = [];

  beforeAll(async () => {
    sim = await startSimulator({
      merchant: { appid: APPID, mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' },
      miniProgram: { appSecret: APP_SECRET, loginRateLimitPerMinute: 20 },
      apiTimeoutHoldMs: HOLD_MS,
      clock,
    });
  });
  afterEach(async () => {
    offsetMs = 0;
    sleeps.length = 0;
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
  });
  afterAll(async () => {
    await sim.close();
  });

  const client = (options: Partial<MiniProgramLoginClientOptions> = {}) =>
    new MiniProgramLoginClient({
      baseUrl: sim.httpsUrl,
      trustedCaPem: sim.tls.caCertPem,
      appid: APPID,
      appSecret: APP_SECRET,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options,
    });
  const setFault = (body: Record<string, unknown>) =>
    fetch(`${sim.url}/sandbox/faults`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });

  it("exchanges a code over HTTPS for the user's openid and WeChat's current session_key", async () => {
    const login = await sandboxLogin(sim.url);
    const session = await client().codeToSession(login.code);
    expect(session).toEqual({ openid: login.openid, sessionKey: expect.stringMatching(SESSION_KEY_PATTERN) });
    expect('unionid' in session).toBe(false);
    expect((await sandboxSession(sim.url, login.openid)).json.session_key).toBe(session.sessionKey);
    // The key opens the user's data as WeChat encrypted it for this session.
    const { json } = await sandboxUserData(sim.url, { openid: login.openid });
    const data = decryptUserData({
      encryptedData: json.encrypted_data as string,
      iv: json.iv as string,
      sessionKey: session.sessionKey,
      appid: APPID,
    });
    expect(data.openId).toBe(login.openid);
  });

  it('gives the unionid when WeChat does', async () => {
    const login = await sandboxLogin(sim.url, { unionid: 'oUnionClient0000000000000001' });
    expect(await client().codeToSession(login.code)).toMatchObject({
      openid: login.openid,
      unionid: 'oUnionClient0000000000000001',
    });
  });

  it('works over plain HTTP too', async () => {
    const login = await sandboxLogin(sim.url);
    const plain = new MiniProgramLoginClient({ baseUrl: sim.url, appid: APPID, appSecret: APP_SECRET });
    expect((await plain.codeToSession(login.code)).openid).toBe(login.openid);
  });

  it.each<[string, (code: string) => Promise<string>, string, string]>([
    [
      'a used code',
      async (code) => {
        await client().codeToSession(code);
        return code;
      },
      'CODE_USED',
      '40163',
    ],
    ['an unknown code', async () => '0a3NeverIssued00000000000000000', 'INVALID_CODE', '40029'],
  ])('%s: %s, business, not retryable, asked once', async (_what, prepare, code, rawCode) => {
    const login = await sandboxLogin(sim.url);
    const used = await prepare(login.code);
    const error = await failure(client().codeToSession(used));
    expect(error).toMatchObject({ code, rawCode, kind: 'business', retryable: false, httpStatus: 200 });
    expect(error.message).toMatch(/, rid: [0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}$/);
    expect(sleeps).toEqual([]);
    expectNoSecret(error);
  });

  it('an expired code (5 minutes on): INVALID_CODE', async () => {
    const login = await sandboxLogin(sim.url);
    offsetMs = 5 * 60_000;
    expect((await failure(client().codeToSession(login.code))).code).toBe('INVALID_CODE');
  });

  it('a high-risk user: HIGH_RISK_USER', async () => {
    const login = await sandboxLogin(sim.url, { high_risk: true });
    expect(await failure(client().codeToSession(login.code))).toMatchObject({
      code: 'HIGH_RISK_USER',
      retryable: false,
    });
  });

  it('a wrong AppSecret: INVALID_APPSECRET, and neither secret in the error', async () => {
    const login = await sandboxLogin(sim.url);
    const wrong = 'WrongSecret0000000000000000000ab';
    const error = await failure(client({ appSecret: wrong }).codeToSession(login.code));
    expect(error).toMatchObject({ code: 'INVALID_APPSECRET', rawCode: '40125', retryable: false });
    expectNoSecret(error, wrong);
    // WeChat never looked at the code.
    expect((await client().codeToSession(login.code)).openid).toBe(login.openid);
  });

  it('another appid: INVALID_APPID', async () => {
    const login = await sandboxLogin(sim.url);
    expect((await failure(client({ appid: 'wx0000000000000000' }).codeToSession(login.code))).code).toBe(
      'INVALID_APPID',
    );
  });

  it("past the user's minute quota: FREQUENCY_LIMITED, not retried at once", async () => {
    const login = await sandboxLogin(sim.url);
    const c = client();
    await c.codeToSession(login.code);
    for (let i = 0; i < 19; i += 1) await c.codeToSession(login.code).catch(() => undefined);
    const next = await sandboxLogin(sim.url, { openid: login.openid });
    sleeps.length = 0;
    const error = await failure(c.codeToSession(next.code));
    expect(error).toMatchObject({ code: 'FREQUENCY_LIMITED', rawCode: '45011', retryable: false });
    expect(sleeps).toEqual([]);
  });

  it('system busy once: asked again after a backoff, and the session comes', async () => {
    const login = await sandboxLogin(sim.url);
    await setFault({ api: 'systemerror', times: 1 });
    expect((await client().codeToSession(login.code)).openid).toBe(login.openid);
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(LOGIN_RETRY_BACKOFF.firstMs / 2);
    expect(sleeps[0]).toBeLessThanOrEqual(LOGIN_RETRY_BACKOFF.firstMs);
  });

  it('system busy on every attempt: SYSTEM_BUSY, retryable, after maxAttempts', async () => {
    const login = await sandboxLogin(sim.url);
    await setFault({ api: 'systemerror' });
    const error = await failure(client({ maxAttempts: 3 }).codeToSession(login.code));
    expect(error).toMatchObject({ code: 'SYSTEM_BUSY', rawCode: '-1', retryable: true, kind: 'business' });
    expect(sleeps).toHaveLength(2);
  });

  it('HTTP 500: HTTP_500, retryable for the caller but not asked again here', async () => {
    const login = await sandboxLogin(sim.url);
    await setFault({ api: 'http500', times: 1 });
    const error = await failure(client().codeToSession(login.code));
    expect(error).toMatchObject({ code: 'HTTP_500', kind: 'transport', retryable: true, httpStatus: 500 });
    expect(sleeps).toEqual([]);
  });

  it('no answer in time: TIMEOUT, not asked again, since WeChat may have spent the code (it did)', async () => {
    const login = await sandboxLogin(sim.url);
    await setFault({ api: 'timeout', times: 1 });
    const error = await failure(client({ timeoutMs: 200 }).codeToSession(login.code));
    expect(error).toMatchObject({ code: 'TIMEOUT', kind: 'transport' });
    expect(sleeps).toEqual([]);
    expectNoSecret(error);
    expect((await failure(client().codeToSession(login.code))).code).toBe('CODE_USED');
  });
});

describe('against crafted answers', () => {
  let server: CraftedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  const SESSION_KEY = 'HyVFkGl5F5OQWJZZaNzBBg==';
  const text = (body: unknown, extra: CraftedAnswer = {}): CraftedAnswer => ({
    headers: { 'content-type': 'text/plain' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    ...extra,
  });

  async function clientFor(
    answer: (req: CraftedRequest, index: number) => CraftedAnswer,
    options: Partial<MiniProgramLoginClientOptions> = {},
  ) {
    server = await startCraftedServer(answer);
    const sleeps: number[] = [];
    const client = new MiniProgramLoginClient({
      baseUrl: server.url,
      appid: APPID,
      appSecret: APP_SECRET,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      ...options,
    });
    return { client, sleeps, server };
  }

  it("sends WeChat's GET with the four query parameters", async () => {
    const { client, server: s } = await clientFor(() => text({ session_key: SESSION_KEY, openid: 'oA' }));
    await client.codeToSession('0a3Code+/=~!');
    expect(s.requests).toHaveLength(1);
    const request = s.requests[0] as CraftedRequest;
    expect(request.method).toBe('GET');
    const url = new URL(request.path, 'http://x');
    expect(url.pathname).toBe(CODE2SESSION_PATH);
    expect(Object.fromEntries(url.searchParams)).toEqual({
      appid: APPID,
      secret: APP_SECRET,
      js_code: '0a3Code+/=~!',
      grant_type: 'authorization_code',
    });
    expect(request.body).toBe('');
  });

  it.each<[string, CraftedAnswer]>([
    ['as the community sees it (text/plain, no errcode)', text({ session_key: SESSION_KEY, openid: 'oA' })],
    [
      "as WeChat's doc shows it (errcode 0, errmsg)",
      text({ openid: 'oA', session_key: SESSION_KEY, errcode: 0, errmsg: 'ok' }),
    ],
    ['with an undocumented expires_in', text({ session_key: SESSION_KEY, expires_in: 7200, openid: 'oA' })],
    [
      'as application/json',
      { headers: { 'content-type': 'application/json' }, body: `{"openid":"oA","session_key":"${SESSION_KEY}"}` },
    ],
  ])('reads a success %s', async (_what, answer) => {
    const { client } = await clientFor(() => answer);
    expect(await client.codeToSession('c')).toEqual({ openid: 'oA', sessionKey: SESSION_KEY });
  });

  it('an errcode it does not know: ERRCODE_<n>, not retried', async () => {
    const { client, sleeps } = await clientFor(() =>
      text({ errcode: 45009, errmsg: 'reach max api daily quota limit rid: 60e5ab26-12884bf5-1659fe0b' }),
    );
    expect(await failure(client.codeToSession('c'))).toMatchObject({
      code: 'ERRCODE_45009',
      retryable: false,
      kind: 'business',
    });
    expect(sleeps).toEqual([]);
  });

  it('busy, then the code used: SYSTEM_BUSY no longer retryable, and no third attempt', async () => {
    const { client, server: s } = await clientFor((_req, i) =>
      i === 0 ? text({ errcode: -1, errmsg: 'system error' }) : text({ errcode: 40163, errmsg: 'code been used' }),
    );
    const error = await failure(client.codeToSession('c'));
    expect(error).toMatchObject({ code: 'SYSTEM_BUSY', retryable: false, rawCode: '-1' });
    expect(s.requests).toHaveLength(2);
  });

  it("busy, then invalid: reports INVALID_CODE (only CODE_USED is the first attempt's doing)", async () => {
    const { client } = await clientFor((_req, i) =>
      i === 0 ? text({ errcode: -1, errmsg: 'system error' }) : text({ errcode: 40029, errmsg: 'invalid code' }),
    );
    expect((await failure(client.codeToSession('c'))).code).toBe('INVALID_CODE');
  });

  it('no more busy retries than the deadline allows', async () => {
    let deadline = 0;
    const { client, server: s } = await clientFor(() => text({ errcode: -1, errmsg: 'system error' }), {
      maxAttempts: 5,
      // After the first attempt less than minAttemptMs + the shortest backoff (firstMs / 2) is left.
      deadline: () => deadline,
      minAttemptMs: 1000,
    });
    deadline = Date.now() + 1000 + LOGIN_RETRY_BACKOFF.firstMs / 2 - 10;
    expect((await failure(client.codeToSession('c'))).code).toBe('SYSTEM_BUSY');
    expect(s.requests).toHaveLength(1);
  });

  it('with less than minAttemptMs left: DEADLINE_EXCEEDED and nothing sent', async () => {
    const { client, server: s } = await clientFor(() => text({ session_key: SESSION_KEY, openid: 'oA' }), {
      deadline: () => Date.now() + 500,
    });
    expect(await failure(client.codeToSession('c'))).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryable: true });
    expect(s.requests).toHaveLength(0);
  });

  it.each<[string, string, boolean, CraftedAnswer]>([
    ['not JSON', 'INVALID_RESPONSE', false, text('<html>bad gateway</html>')],
    ['larger than 16 KiB', 'RESPONSE_TOO_LARGE', false, text(`{"openid":"${'o'.repeat(17_000)}"}`)],
    ['HTTP 502', 'HTTP_502', true, { status: 502, body: 'Bad Gateway' }],
    ['HTTP 404', 'HTTP_404', false, { status: 404, body: 'no' }],
  ])('%s: %s (retryable %s), transport, asked once', async (_what, code, retryable, answer) => {
    const { client, sleeps, server: s } = await clientFor(() => answer);
    const error = await failure(client.codeToSession('c'));
    expect(error).toMatchObject({ code, retryable, kind: 'transport' });
    expect(s.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ['no session_key', { openid: 'oA' }, 'session_key'],
    [
      'a session_key of another length',
      { openid: 'oA', session_key: 'c2VjcmV0LWtleS1vZi0yMC1ieXRlcw==' },
      'session_key',
    ],
    ['no openid', { session_key: SESSION_KEY }, 'openid'],
    ['errcode 0 and nothing else', { errcode: 0, errmsg: 'ok' }, 'openid'],
  ])('%s: INVALID_RESPONSE naming the field, never quoting the body', async (_what, body, field) => {
    const { client } = await clientFor(() => text(body));
    const error = await failure(client.codeToSession('c'));
    expect(error).toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
    expect(error.message).toContain(field);
    expectNoSecret(error, SESSION_KEY, 'c2VjcmV0LWtleS1vZi0yMC1ieXRlcw==');
  });

  it('a dropped connection: NETWORK, not asked again (WeChat may have spent the code)', async () => {
    const { client, server: s } = await clientFor(() => ({ destroy: true }));
    const error = await failure(client.codeToSession('c'));
    expect(error).toMatchObject({ code: 'NETWORK', retryable: true, kind: 'transport' });
    expect(s.requests).toHaveLength(1);
    expectNoSecret(error);
  });

  it('nothing listening: NETWORK, and the URL (which holds the secret) is nowhere in the error', async () => {
    const { server: s } = await clientFor(() => ({}));
    const url = s.url;
    await s.close();
    server = undefined;
    const client = new MiniProgramLoginClient({ baseUrl: url, appid: APPID, appSecret: APP_SECRET });
    const error = await failure(client.codeToSession('c'));
    expect(error.code).toBe('NETWORK');
    expectNoSecret(error);
  });

  it('a slow answer: TIMEOUT after timeoutMs', async () => {
    const { client } = await clientFor(() => text({ session_key: SESSION_KEY, openid: 'oA' }, { delayMs: 1000 }), {
      timeoutMs: 100,
    });
    expect(await failure(client.codeToSession('c'))).toMatchObject({ code: 'TIMEOUT', retryable: true });
  });
});
