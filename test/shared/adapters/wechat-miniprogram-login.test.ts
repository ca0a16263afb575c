import { inspect } from 'node:util';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningSimulator, startSimulator } from '#sandbox/simulator/server';
import {
  isAppSecretRefusal,
  loginDomainError,
  WechatMiniProgramLogin,
} from '#shared/adapters/wechat-miniprogram-login';
import {
  ConfigurationError,
  LoginRefusedError,
  OUT_OF_TIME,
  ProviderError,
  ValidationError,
  WechatApiError,
} from '#shared/domain/errors';
import { deadlineError } from '#shared/wechatpay/core/deadline';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { loginError } from '#shared/wechatpay/miniprogram/login-errors';
import { sandboxLogin, sandboxSession } from '#test/helpers/miniprogram-sandbox';

const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

/**
 * Neither the AppSecret nor a session_key may show in what a logger could print of an error: its
 * whole cause chain, as util.inspect shows it (the library's error, and the transport's under it).
 */
function expectNoSecret(error: unknown, ...secrets: string[]): void {
  const seen = [inspect(error, { depth: null }), JSON.stringify(error)].join('\n');
  for (const secret of [APP_SECRET, ...secrets]) expect(seen).not.toContain(secret);
}

/** WeChat's answer `{ errcode, errmsg }` as the library raises it. */
const refused = (errcode: number, errmsg = 'refused, rid: 6566f719-6cb5d09c-633ab469') =>
  loginError(errcode, errmsg, 200);

describe('the login exchange’s errors as the domain’s', () => {
  it.each([
    [40029, 'INVALID_CODE'],
    [40163, 'CODE_USED'],
    [45011, 'RATE_LIMITED'],
    [40226, 'HIGH_RISK_USER'],
  ] as const)('WeChat’s %i refuses the login: %s, with the errcode and WeChat’s words', (errcode, code) => {
    const error = loginDomainError(refused(errcode));
    expect(error).toBeInstanceOf(LoginRefusedError);
    expect(error).toMatchObject({ code, wechatErrcode: errcode });
    expect((error as Error).message).toContain('rid: 6566f719');
  });

  it.each([40125, 40013])('WeChat’s %i (AppSecret or appid unknown to WeChat) is the deployment’s fault', (errcode) => {
    const error = loginDomainError(refused(errcode));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(/appSecret in the merchant secret \(WECHAT_APPSECRET locally\)/);
  });

  it('system busy (-1) left after the library’s retries is a retryable ProviderError', () => {
    expect(loginDomainError(refused(-1, 'system error'))).toMatchObject({
      constructor: WechatApiError,
      code: 'SYSTEM_BUSY',
      retryable: true,
      rawCode: '-1',
    });
  });

  it('an errcode WeChat does not document here is ERRCODE_<n>, not retryable', () => {
    expect(loginDomainError(refused(45009))).toMatchObject({
      constructor: WechatApiError,
      code: 'ERRCODE_45009',
      retryable: false,
    });
  });

  it('a transport failure is a ProviderError as the payment calls’; out of time is DEADLINE_EXCEEDED', () => {
    const network = new WechatPayError('NETWORK', 'GET /sns/jscode2session: could not reach WeChat Pay', {
      retryable: true,
      kind: 'transport',
    });
    expect(loginDomainError(network)).toMatchObject({
      constructor: WechatApiError,
      code: 'NETWORK',
      retryable: true,
    });
    expect(loginDomainError(deadlineError('GET /sns/jscode2session'))).toMatchObject({ code: OUT_OF_TIME });
  });

  it('every failure left is still a ProviderError (502, retryable as the library says), told as WeChat’s API', () => {
    const error = loginDomainError(refused(-1, 'system error'));
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toBeInstanceOf(WechatApiError);
    expect((error as ProviderError).cause).toBeInstanceOf(WechatPayError);
  });

  it('only WeChat’s 40125 is an AppSecret refusal, which a reload of the secret may explain', () => {
    expect(isAppSecretRefusal(loginDomainError(refused(40125)))).toBe(true);
    expect(isAppSecretRefusal(loginDomainError(refused(40013)))).toBe(false);
    expect(isAppSecretRefusal(loginDomainError(refused(40029)))).toBe(false);
    expect(isAppSecretRefusal(new ConfigurationError('no AppSecret'))).toBe(false);
  });

  it('a code the library refuses to send is a 400 on the field `code`', () => {
    const error = loginDomainError(new WechatPayValidationError('js_code: must not be empty'));
    expect(error).toBeInstanceOf(ValidationError);
    expect(error).toMatchObject({ field: 'code' });
  });

  it('anything else passes unchanged', () => {
    const other = new Error('boom');
    expect(loginDomainError(other)).toBe(other);
  });
});

describe('WechatMiniProgramLogin', () => {
  it('refuses options the library refuses as a ConfigurationError naming the rule, never the AppSecret', () => {
    const shortSecret = 'tooShort1';
    const attempt = () =>
      new WechatMiniProgramLogin({
        baseUrl: 'https://api.weixin.qq.com',
        appid: 'wx0123456789abcdef',
        appSecret: shortSecret,
      });
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/appSecret/);
    expect(attempt).not.toThrow(new RegExp(shortSecret));
    expect(
      () =>
        new WechatMiniProgramLogin({ baseUrl: 'https://api.weixin.qq.com', appid: 'wx0123', appSecret: APP_SECRET }),
    ).not.toThrow();
  });
});

describe('WechatMiniProgramLogin against the simulator', () => {
  const MERCHANT = { appid: 'wxd930ea5d5a258f4f', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };
  let simulator: RunningSimulator;

  beforeAll(async () => {
    simulator = await startSimulator({ merchant: MERCHANT, miniProgram: { appSecret: APP_SECRET } });
  });
  afterAll(async () => simulator.close());
  afterEach(async () => {
    await fetch(`${simulator.url}/sandbox/faults`, { method: 'DELETE' });
  });

  const login = (baseUrl = simulator.url, extra: { trustedCaPem?: string } = {}) =>
    new WechatMiniProgramLogin({ baseUrl, appid: MERCHANT.appid, appSecret: APP_SECRET, ...extra });

  async function fault(api: string, times?: number): Promise<void> {
    const res = await fetch(`${simulator.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api, ...(times === undefined ? {} : { times }) }),
    });
    expect(res.status).toBe(200);
  }

  it('exchanges a code over HTTPS trusting the simulator’s CA, as the local stack does', async () => {
    const { code, openid } = await sandboxLogin(simulator.url, { unionid: 'oUnionOverTls' });
    const session = await login(simulator.httpsUrl, { trustedCaPem: simulator.tls.caCertPem }).exchange(code);
    const wechat = (await sandboxSession(simulator.url, openid)).json;
    expect(session).toEqual({ openid, unionid: 'oUnionOverTls', sessionKey: wechat.session_key });
  });

  it('asks again after one "system busy" (-1), and gets the session with the same code', async () => {
    const { code, openid } = await sandboxLogin(simulator.url);
    await fault('systemerror', 1);
    expect(await login().exchange(code)).toMatchObject({ openid });
  });

  it('"system busy" on every attempt is a retryable SYSTEM_BUSY ProviderError', async () => {
    const { code } = await sandboxLogin(simulator.url);
    await fault('systemerror');
    await expect(login().exchange(code)).rejects.toMatchObject({
      constructor: WechatApiError,
      code: 'SYSTEM_BUSY',
      retryable: true,
      rawCode: '-1',
    });
  });

  it('an HTTP 500 is a ProviderError as the payment calls’ (HTTP_500), never a refusal of the code', async () => {
    const { code } = await sandboxLogin(simulator.url);
    await fault('http500');
    await expect(login().exchange(code)).rejects.toMatchObject({
      constructor: WechatApiError,
      code: 'HTTP_500',
    });
  });

  it('a wrong AppSecret is a ConfigurationError whose cause chain holds neither secret', async () => {
    const { code } = await sandboxLogin(simulator.url);
    const wrong = 'ffffffffffffffffffffffffffffffff';
    const attempt = new WechatMiniProgramLogin({ baseUrl: simulator.url, appid: MERCHANT.appid, appSecret: wrong });
    const error = await attempt.exchange(code).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(isAppSecretRefusal(error)).toBe(true);
    expectNoSecret(error, wrong);
  });

  it('a failed exchange’s ProviderError holds neither the AppSecret nor a session key, causes included', async () => {
    const { code, openid } = await sandboxLogin(simulator.url);
    // A first exchange gives the user a key; the second, refused, must not carry it.
    await login().exchange(code);
    const key = (await sandboxSession(simulator.url, openid)).json.session_key as string;
    await fault('http500');
    const http500 = await login()
      .exchange((await sandboxLogin(simulator.url, { openid })).code)
      .catch((e: unknown) => e);
    expect(http500).toBeInstanceOf(ProviderError);
    expectNoSecret(http500, key);
  });

  it('an unreachable WeChat’s ProviderError (the transport’s cause under it) holds no AppSecret', async () => {
    const { code } = await sandboxLogin(simulator.url);
    // A loopback port nothing listens on: the request URL, secret in its query, was built and failed.
    const closed = await startSimulator({ merchant: MERCHANT, miniProgram: { appSecret: APP_SECRET } });
    const url = closed.url;
    await closed.close();
    const error = await login(url)
      .exchange(code)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('transport');
    expectNoSecret(error);
  });
});
