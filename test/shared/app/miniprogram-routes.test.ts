import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

import { type RunningSimulator, startSimulator } from '#sandbox/simulator/server';
import { createDependencies, type DependencyOverrides } from '#shared/app/dependencies';
import { createOrdersHandler } from '#shared/app/handlers';
import { APP_BACKEND_ROUTES, type Route, routeKey } from '#shared/app/routes';
import { loadSettings } from '#shared/config/settings';
import { InMemoryLoginSessionStore } from '#test/helpers/in-memory-login-session-store';
import { sandboxLogin, sandboxSession, sandboxUserData } from '#test/helpers/miniprogram-sandbox';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';

/**
 * The mini program routes through the orders handler as Lambda runs it (its error layer included),
 * against the simulator playing WeChat's api.weixin.qq.com over HTTP, the sessions kept in memory.
 */

const MERCHANT = { appid: 'wxd930ea5d5a258f4f', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };
const APP_SECRET = '0a1b2c3d4e5f60718293a4b5c6d7e8f9';
const LOGIN_RATE_LIMIT = 3;

let simulator: RunningSimulator;
let sessions: InMemoryLoginSessionStore;

beforeAll(async () => {
  simulator = await startSimulator({
    merchant: MERCHANT,
    miniProgram: { appSecret: APP_SECRET, loginRateLimitPerMinute: LOGIN_RATE_LIMIT },
  });
});
afterAll(async () => simulator.close());
beforeEach(() => {
  sessions = new InMemoryLoginSessionStore();
});

function ordersHandler(env: Record<string, string> = {}, overrides: DependencyOverrides = {}) {
  const settings = loadSettings({
    TABLE_NAME: 'orders',
    LOG_LEVEL: 'SILENT',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/checks',
    NOTIFY_URL: 'https://example.com/notify/pay',
    WECHATPAY_APPID: MERCHANT.appid,
    WECHATPAY_MCHID: MERCHANT.mchid,
    WECHATPAY_API_KEY: MERCHANT.apiKey,
    WECHATPAY_BASE_URL: simulator.url,
    WECHAT_API_BASE_URL: simulator.url,
    WECHAT_APPSECRET: APP_SECRET,
    ...env,
  });
  const deps = createDependencies(settings, {
    loginSessions: sessions,
    scheduler: new RecordingCheckScheduler(),
    ...overrides,
  });
  vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
  return createOrdersHandler(deps);
}

const context = { functionName: 'orders', getRemainingTimeInMillis: () => 20_000 } as unknown as Context;

function event(route: Route, body: unknown): APIGatewayProxyEventV2 {
  return {
    routeKey: routeKey(route),
    rawPath: route.path,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    isBase64Encoded: false,
    requestContext: { http: { method: route.method } },
  } as unknown as APIGatewayProxyEventV2;
}

interface Answer {
  status: number;
  headers: Record<string, unknown>;
  body: Record<string, unknown>;
  raw: string;
}

async function call(route: Route, body: unknown, handler = ordersHandler()): Promise<Answer> {
  const response = await handler(event(route, body), context);
  const raw = response.body ?? '';
  return {
    status: response.statusCode ?? 0,
    headers: response.headers ?? {},
    body: JSON.parse(raw) as Record<string, unknown>,
    raw,
  };
}

const { createMiniProgramSession: sessionsRoute, decryptMiniProgramData: decryptRoute } = APP_BACKEND_ROUTES;

/** The key WeChat gave the user at the last exchange: what must never show on our side. */
async function wechatKey(openid: string): Promise<string> {
  return (await sandboxSession(simulator.url, openid)).json.session_key as string;
}

describe('POST /miniprogram/sessions', () => {
  it('answers 201 with the openid (and unionid) and keeps the session key, never showing it', async () => {
    const { code, openid } = await sandboxLogin(simulator.url, { unionid: 'oUnionSandbox0001' });
    const answer = await call(sessionsRoute, { code });
    expect(answer.status).toBe(201);
    expect(answer.body).toEqual({ openid, unionid: 'oUnionSandbox0001' });
    const key = await wechatKey(openid);
    expect(answer.raw).not.toContain(key);
    expect(await sessions.find(openid)).toMatchObject({ openid, sessionKey: key });
  });

  it('refuses a code used before: 400 CODE_USED on the field code, with WeChat’s 40163', async () => {
    const { code } = await sandboxLogin(simulator.url);
    const handler = ordersHandler();
    expect((await call(sessionsRoute, { code }, handler)).status).toBe(201);
    const again = await call(sessionsRoute, { code }, handler);
    expect(again).toMatchObject({
      status: 400,
      body: { error: { code: 'CODE_USED', field: 'code', wechat_errcode: 40163 } },
    });
  });

  it('refuses a code WeChat never gave: 400 INVALID_CODE with WeChat’s 40029, nothing kept', async () => {
    const answer = await call(sessionsRoute, { code: '0a1NeverIssuedByWeChat' });
    expect(answer).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_CODE', field: 'code', wechat_errcode: 40029 } },
    });
    expect(sessions.all()).toEqual([]);
  });

  it('refuses a high-risk user: 403 HIGH_RISK_USER with WeChat’s 40226', async () => {
    const { code } = await sandboxLogin(simulator.url, { high_risk: true });
    expect(await call(sessionsRoute, { code })).toMatchObject({
      status: 403,
      body: { error: { code: 'HIGH_RISK_USER', wechat_errcode: 40226 } },
    });
  });

  it('answers a flood 429 RATE_LIMITED with retry-after: 60 and WeChat’s 45011', async () => {
    const openid = (await sandboxLogin(simulator.url)).openid;
    const handler = ordersHandler();
    const answers: Answer[] = [];
    for (let i = 0; i <= LOGIN_RATE_LIMIT; i += 1) {
      const { code } = await sandboxLogin(simulator.url, { openid });
      answers.push(await call(sessionsRoute, { code }, handler));
    }
    expect(answers.slice(0, LOGIN_RATE_LIMIT).map((a) => a.status)).toEqual(Array(LOGIN_RATE_LIMIT).fill(201));
    expect(answers.at(-1)).toMatchObject({
      status: 429,
      headers: { 'retry-after': '60' },
      body: { error: { code: 'RATE_LIMITED', wechat_errcode: 45011 } },
    });
  });

  it('answers WeChat’s failure 502 as WeChat’s (api.weixin.qq.com), not WeChat Pay’s', async () => {
    const { code } = await sandboxLogin(simulator.url);
    const faults = `${simulator.url}/sandbox/faults`;
    const set = await fetch(faults, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'http500' }),
    });
    expect(set.status).toBe(200);
    try {
      const answer = await call(sessionsRoute, { code });
      expect(answer).toMatchObject({ status: 502, body: { error: { code: 'HTTP_500', retryable: true } } });
      expect((answer.body.error as { message: string }).message).toMatch(/^WeChat: /);
    } finally {
      await fetch(faults, { method: 'DELETE' });
    }
  });

  it.each([
    [{}, 'code'],
    [{ code: '' }, 'code'],
    [{ code: 'has a space' }, 'code'],
    [{ code: 'abc', openid: 'o1' }, 'openid'],
  ])('refuses the body %j as 400 naming %s, before calling WeChat', async (body, field) => {
    expect(await call(sessionsRoute, body)).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST', field } },
    });
  });

  it('fails the invocation when no AppSecret is configured: the deployment’s fault, not the caller’s', async () => {
    const { code } = await sandboxLogin(simulator.url);
    const handler = ordersHandler({ WECHAT_APPSECRET: '' });
    await expect(handler(event(sessionsRoute, { code }), context)).rejects.toThrow(/AppSecret/);
  });

  it('fails the invocation when WeChat refuses our AppSecret (40125), naming where to set it, not it', async () => {
    const { code } = await sandboxLogin(simulator.url);
    const wrong = 'ffffffffffffffffffffffffffffffff';
    const attempt = ordersHandler({ WECHAT_APPSECRET: wrong })(event(sessionsRoute, { code }), context);
    await expect(attempt).rejects.toThrow(/INVALID_APPSECRET.*WECHAT_APPSECRET/);
    await expect(attempt).rejects.not.toThrow(new RegExp(wrong));
  });
});

describe('POST /miniprogram/sessions after the AppSecret is replaced', () => {
  const OLD_SECRET = 'ffffffffffffffffffffffffffffffff';

  /** The merchant secret as Secrets Manager holds it: `appSecrets` answered in turn, the last one kept. */
  function secretHandler(appSecrets: string[]) {
    const reads: string[] = [];
    const readSecret = async (secretId: string) => {
      const appSecret = appSecrets[Math.min(reads.length, appSecrets.length - 1)];
      reads.push(secretId);
      return JSON.stringify({ ...MERCHANT, appSecret });
    };
    const handler = ordersHandler({ WECHATPAY_SECRET_ID: 'merchant', WECHAT_APPSECRET: '' }, { readSecret });
    return { handler, reads };
  }

  it('reads the secret again at WeChat’s 40125 and exchanges the same code with the new AppSecret', async () => {
    const { handler, reads } = secretHandler([OLD_SECRET, APP_SECRET]);
    const { code, openid } = await sandboxLogin(simulator.url);
    const answer = await call(sessionsRoute, { code }, handler);
    expect(answer).toMatchObject({ status: 201, body: { openid } });
    expect(reads).toHaveLength(2);
    expect(await sessions.find(openid)).toMatchObject({ openid, sessionKey: await wechatKey(openid) });
    // The new AppSecret is the one held now: the next login needs no read.
    const next = await sandboxLogin(simulator.url);
    expect((await call(sessionsRoute, { code: next.code }, handler)).status).toBe(201);
    expect(reads).toHaveLength(2);
  });

  it('fails the invocation as before when the secret read again holds the same refused AppSecret', async () => {
    const { handler, reads } = secretHandler([OLD_SECRET]);
    const { code } = await sandboxLogin(simulator.url);
    const attempt = handler(event(sessionsRoute, { code }), context);
    await expect(attempt).rejects.toThrow(/INVALID_APPSECRET/);
    await expect(attempt).rejects.not.toThrow(new RegExp(OLD_SECRET));
    expect(reads).toHaveLength(2);
    // WeChat checked the secret first: the code is still good with the right one.
    expect((await call(sessionsRoute, { code })).status).toBe(201);
  });
});

describe('POST /miniprogram/decrypt', () => {
  async function loggedIn(): Promise<{ openid: string; handler: ReturnType<typeof ordersHandler> }> {
    const handler = ordersHandler();
    const { code, openid } = await sandboxLogin(simulator.url);
    expect((await call(sessionsRoute, { code }, handler)).status).toBe(201);
    return { openid, handler };
  }

  async function userData(body: Parameters<typeof sandboxUserData>[1]) {
    const { status, json } = await sandboxUserData(simulator.url, body);
    expect(status).toBe(200);
    return json as { encrypted_data: string; iv: string };
  }

  it('answers the data as WeChat wrote it, watermark included, and never the session key', async () => {
    const { openid, handler } = await loggedIn();
    const data = { nickName: '微信用户', gender: 1 };
    const answer = await call(decryptRoute, { openid, ...(await userData({ openid, data })) }, handler);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ...data, watermark: { appid: MERCHANT.appid, timestamp: expect.any(Number) } });
    expect(answer.raw).not.toContain(await wechatKey(openid));
  });

  it('refuses data watermarked for another mini program: 400 WATERMARK_MISMATCH', async () => {
    const { openid, handler } = await loggedIn();
    const sealed = await userData({ openid, watermark_appid: 'wx0000000000000000' });
    expect(await call(decryptRoute, { openid, ...sealed }, handler)).toMatchObject({
      status: 400,
      body: { error: { code: 'WATERMARK_MISMATCH' } },
    });
  });

  it('refuses data of an earlier login, whose key a later one replaced: 400 USER_DATA_UNDECRYPTABLE', async () => {
    const { openid, handler } = await loggedIn();
    const before = await userData({ openid });
    const { code } = await sandboxLogin(simulator.url, { openid });
    expect((await call(sessionsRoute, { code }, handler)).status).toBe(201);
    expect(await call(decryptRoute, { openid, ...before }, handler)).toMatchObject({
      status: 400,
      body: { error: { code: 'USER_DATA_UNDECRYPTABLE' } },
    });
  });

  it('answers 404 SESSION_NOT_FOUND for a user with no session kept: log in again', async () => {
    const { openid } = await loggedIn();
    const sealed = await userData({ openid });
    // Another container's memory: the session was never kept there.
    sessions = new InMemoryLoginSessionStore();
    expect(await call(decryptRoute, { openid, ...sealed })).toMatchObject({
      status: 404,
      body: { error: { code: 'SESSION_NOT_FOUND' } },
    });
  });

  it.each([
    [{ encrypted_data: 'not base64!', iv: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'encrypted_data'],
    [{ encrypted_data: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAA' }, 'iv'],
    [{ encrypted_data: 'AAAAAAAAAAAAAAAAAAAAAA==' }, 'iv'],
    [{ encrypted_data: 'AAAAAAAAAAAAAAAAAAAAAA==', iv: 'AAAAAAAAAAAAAAAAAAAAAA==', extra: 1 }, 'extra'],
  ])('refuses the body %j as 400 naming %s', async (body, field) => {
    expect(await call(decryptRoute, { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o', ...body })).toMatchObject({
      status: 400,
      body: { error: { code: 'INVALID_REQUEST', field } },
    });
  });
});
