import { describe, expect, it, vi } from 'vitest';

import { DEFAULT_REFUND_CHECK_SCHEDULE, loadSettings, WECHAT_API_PRODUCTION_URL } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';

const BASE = { TABLE_NAME: 'orders' };
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

describe('refund settings', () => {
  it('checks refunds on 1 min, 5 min, 30 min, 2 h, 6 h then every 12 h by default', () => {
    expect(DEFAULT_REFUND_CHECK_SCHEDULE).toBe('60,300,1800,7200,21600,43200');
    expect(loadSettings(BASE).REFUND_CHECK_SCHEDULE).toEqual([60, 300, 1800, 7200, 21600, 43200]);
  });

  it('reads REFUND_CHECK_SCHEDULE as whole seconds, and refuses anything else naming it', () => {
    expect(loadSettings({ ...BASE, REFUND_CHECK_SCHEDULE: ' 5, 10 ,20' }).REFUND_CHECK_SCHEDULE).toEqual([5, 10, 20]);
    for (const bad of ['5,,10', '1.5', '0,60', 'soon']) {
      expect(() => loadSettings({ ...BASE, REFUND_CHECK_SCHEDULE: bad })).toThrow(/REFUND_CHECK_SCHEDULE/);
    }
  });

  it('takes the client certificate, its key and a trusted CA as PEM; empty is unset', () => {
    const settings = loadSettings({
      ...BASE,
      WECHATPAY_API_CLIENT_CERT: PEM,
      WECHATPAY_API_CLIENT_KEY: '-----BEGIN PRIVATE KEY-----\nMII\n-----END PRIVATE KEY-----\n',
      WECHATPAY_TRUSTED_CA: PEM,
    });
    expect(settings.WECHATPAY_API_CLIENT_CERT).toBe(PEM);
    expect(settings.WECHATPAY_TRUSTED_CA).toBe(PEM);
    expect(loadSettings({ ...BASE, WECHATPAY_TRUSTED_CA: '  ' }).WECHATPAY_TRUSTED_CA).toBeUndefined();
  });

  it.each(['WECHATPAY_API_CLIENT_CERT', 'WECHATPAY_API_CLIENT_KEY', 'WECHATPAY_TRUSTED_CA'])(
    '%s that is not PEM stops the start, naming the variable but not the value',
    (name) => {
      const attempt = () => loadSettings({ ...BASE, [name]: 'c2VjcmV0LXZhbHVl' });
      expect(attempt).toThrow(ConfigurationError);
      expect(attempt).toThrow(new RegExp(name));
      expect(attempt).not.toThrow(/c2VjcmV0LXZhbHVl/);
    },
  );
});

describe('mini program login settings', () => {
  it('defaults to WeChat’s API host and a 3-day session, with no AppSecret', () => {
    const settings = loadSettings(BASE);
    expect(WECHAT_API_PRODUCTION_URL).toBe('https://api.weixin.qq.com');
    expect(settings.WECHAT_API_BASE_URL).toBe(WECHAT_API_PRODUCTION_URL);
    expect(settings.MINIPROGRAM_SESSION_TTL_SECONDS).toBe(3 * 24 * 3600);
    expect(settings.WECHAT_APPSECRET).toBeUndefined();
    expect(loadSettings({ ...BASE, WECHAT_APPSECRET: ' ' }).WECHAT_APPSECRET).toBeUndefined();
  });

  it('takes an https host, or plain http to this machine only: the AppSecret is in the query string', () => {
    for (const url of ['https://wechat.example', 'http://127.0.0.1:3100', 'http://localhost:3100', 'http://[::1]:1']) {
      expect(loadSettings({ ...BASE, WECHAT_API_BASE_URL: url }).WECHAT_API_BASE_URL).toBe(url);
    }
    for (const url of ['http://api.weixin.qq.com', 'ftp://127.0.0.1', 'not a url']) {
      expect(() => loadSettings({ ...BASE, WECHAT_API_BASE_URL: url })).toThrow(/WECHAT_API_BASE_URL/);
    }
  });

  it('keeps a session key between a minute and 30 days', () => {
    expect(loadSettings({ ...BASE, MINIPROGRAM_SESSION_TTL_SECONDS: '60' }).MINIPROGRAM_SESSION_TTL_SECONDS).toBe(60);
    for (const bad of ['59', '2592001', '1.5', 'week']) {
      expect(() => loadSettings({ ...BASE, MINIPROGRAM_SESSION_TTL_SECONDS: bad })).toThrow(
        /MINIPROGRAM_SESSION_TTL_SECONDS/,
      );
    }
  });
});

describe('sandbox cashier setting', () => {
  it('is unset by default (AWS), and empty is unset', () => {
    expect(loadSettings(BASE).SANDBOX_CASHIER_BASE_URL).toBeUndefined();
    expect(loadSettings({ ...BASE, SANDBOX_CASHIER_BASE_URL: ' ' }).SANDBOX_CASHIER_BASE_URL).toBeUndefined();
  });

  it('takes an http or https URL ending with /', () => {
    for (const url of ['http://127.0.0.1:3100/sandbox/cashier/', 'https://localhost:3443/sandbox/cashier/']) {
      expect(loadSettings({ ...BASE, SANDBOX_CASHIER_BASE_URL: url }).SANDBOX_CASHIER_BASE_URL).toBe(url);
    }
  });

  it.each([
    'sandbox/cashier/',
    'ftp://127.0.0.1/sandbox/cashier/',
    'http://127.0.0.1:3100/sandbox/cashier',
    'http://127.0.0.1:3100/sandbox/cashier/?x=1',
  ])('refuses %s, naming the setting', (url) => {
    expect(() => loadSettings({ ...BASE, SANDBOX_CASHIER_BASE_URL: url })).toThrow(/SANDBOX_CASHIER_BASE_URL/);
  });
});

describe('the messages of the checks zod words itself', () => {
  const BAD = { ...BASE, LOG_LEVEL: 'LOUD', QUEUE_URL: 'queue', CLOSE_MIN_AGE_SECONDS: '0', DUE_INDEX_SHARDS: '1.5' };
  const EXPECTED =
    'invalid configuration: QUEUE_URL: Invalid URL; ' +
    'CLOSE_MIN_AGE_SECONDS: Too small: expected number to be >0; ' +
    'DUE_INDEX_SHARDS: Invalid input: expected int, received number; ' +
    'LOG_LEVEL: Invalid option: expected one of "DEBUG"|"INFO"|"WARN"|"ERROR"|"SILENT"';

  it('states the rule broken, in English', () => {
    expect(() => loadSettings(BAD)).toThrow(EXPECTED);
  });
});

describe('reading the settings at a cold start', () => {
  // zod's JIT would generate a parser for the settings object and compile it, on every cold start,
  // to run it once: slower than reading the object without it.
  it('compiles no code', async () => {
    vi.resetModules();
    const { loadSettings: freshLoad } = await import('#shared/config/settings');
    const compiled = vi.fn();
    const original = globalThis.Function;
    globalThis.Function = new Proxy(original, {
      construct(target, args: string[]) {
        compiled();
        return Reflect.construct(target, args) as object;
      },
    });
    try {
      expect(freshLoad(BASE).TABLE_NAME).toBe('orders');
    } finally {
      globalThis.Function = original;
    }
    expect(compiled).not.toHaveBeenCalled();
  });
});
