import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';

import { describe, expect, it } from 'vitest';

import { handlerEnvironment, LocalSettingsError, parseLocalStartSettings } from '#sandbox/local/local-settings';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { loadSettings } from '#shared/config/settings';

const defaults = { dataDir: '/default/data' };

describe('parseLocalStartSettings', () => {
  it('uses the documented defaults when nothing is set', () => {
    const s = parseLocalStartSettings({}, defaults);
    expect(s).toMatchObject({
      port: 3000,
      simulatorPort: 3100,
      dynamodbPort: 0,
      sqsPort: 0,
      dataDir: '/default/data',
      tableName: 'wechatpay-orders',
      queueName: 'wechatpay-reconcile',
      simulatorTimeScale: undefined,
      sweepIntervalMs: 60_000,
      merchant: SANDBOX_MERCHANT,
      wechatpayBaseUrl: undefined,
      wechatApiBaseUrl: undefined,
      miniProgramAppSecret: undefined,
      handlerEnv: {},
    });
  });

  it('reads the mini program login settings: its API address, its AppSecret, the session TTL for the handlers', () => {
    const appSecret = 'a1B2c3D4e5F6a7B8c9D0e1F2a3B4c5D6';
    const s = parseLocalStartSettings(
      {
        WECHAT_API_BASE_URL: 'https://api.weixin.qq.com',
        WECHAT_APPSECRET: appSecret,
        MINIPROGRAM_SESSION_TTL_SECONDS: '3600',
      },
      defaults,
    );
    expect(s.wechatApiBaseUrl).toBe('https://api.weixin.qq.com');
    expect(s.miniProgramAppSecret).toBe(appSecret);
    expect(s.handlerEnv).toEqual({ MINIPROGRAM_SESSION_TTL_SECONDS: '3600' });
    expect(parseLocalStartSettings({ WECHAT_APPSECRET: '  ', WECHAT_API_BASE_URL: '' }, defaults)).toMatchObject({
      wechatApiBaseUrl: undefined,
      miniProgramAppSecret: undefined,
    });
  });

  it.each([
    ['WECHAT_APPSECRET', 'short1234'],
    ['WECHAT_APPSECRET', 'not-letters-or-digits-only-here!!'],
    ['WECHAT_API_BASE_URL', 'api.weixin.qq.com'],
  ])('refuses a bad %s by name and rule, never echoing it', (name, value) => {
    const parse = () => parseLocalStartSettings({ [name]: value }, defaults);
    expect(parse).toThrow(LocalSettingsError);
    expect(parse).toThrow(name);
    expect(parse).not.toThrow(value);
  });

  describe('LOCAL_IAM', () => {
    const key = { LOCAL_IAM_ACCESS_KEY_ID: 'AKIALOCAL0001', LOCAL_IAM_SECRET_ACCESS_KEY: 'wJalr/K7+secret' };

    it('is off unless LOCAL_IAM=1 (a key pair alone turns nothing on)', () => {
      expect(parseLocalStartSettings({}, defaults).localIam).toBeUndefined();
      expect(parseLocalStartSettings({ ...key }, defaults).localIam).toBeUndefined();
      expect(parseLocalStartSettings({ ...key, LOCAL_IAM: '0' }, defaults).localIam).toBeUndefined();
      expect(parseLocalStartSettings({ LOCAL_IAM: ' ' }, defaults).localIam).toBeUndefined();
    });

    it('with LOCAL_IAM=1 gives the gateway the key pair, kept out of the handlers’ settings', () => {
      const s = parseLocalStartSettings({ ...key, LOCAL_IAM: '1' }, defaults);
      expect(s.localIam).toEqual({ accessKeyId: 'AKIALOCAL0001', secretAccessKey: 'wJalr/K7+secret' });
      expect(s.handlerEnv).toEqual({});
    });

    it.each([
      [{ LOCAL_IAM_SECRET_ACCESS_KEY: 'wJalr/K7+secret' }, 'LOCAL_IAM_ACCESS_KEY_ID', 'LOCAL_IAM_SECRET_ACCESS_KEY'],
      [{ LOCAL_IAM_ACCESS_KEY_ID: 'AKIALOCAL0001' }, 'LOCAL_IAM_SECRET_ACCESS_KEY', 'LOCAL_IAM_ACCESS_KEY_ID'],
    ])('with LOCAL_IAM=1 stops the start naming the missing half of the key pair', (env, missing, present) => {
      const parse = () => parseLocalStartSettings({ LOCAL_IAM: '1', ...env }, defaults);
      expect(parse).toThrow(LocalSettingsError);
      expect(parse).toThrow(`LOCAL_IAM=1 needs ${missing}:`);
      expect(parse).not.toThrow(present);
      expect(parse).not.toThrow('wJalr');
    });

    it('names both when both are missing; refuses other LOCAL_IAM values and a key id SigV4 cannot carry', () => {
      expect(() => parseLocalStartSettings({ LOCAL_IAM: '1' }, defaults)).toThrow(
        'LOCAL_IAM=1 needs LOCAL_IAM_ACCESS_KEY_ID and LOCAL_IAM_SECRET_ACCESS_KEY',
      );
      expect(() => parseLocalStartSettings({ ...key, LOCAL_IAM: 'yes' }, defaults)).toThrow('LOCAL_IAM: must be 1');
      const slash = () =>
        parseLocalStartSettings({ ...key, LOCAL_IAM: '1', LOCAL_IAM_ACCESS_KEY_ID: 'AKIA/1' }, defaults);
      expect(slash).toThrow('LOCAL_IAM_ACCESS_KEY_ID');
      expect(slash).not.toThrow('AKIA/1');
    });
  });

  it('reads ports, a relative DATA_DIR, the merchant and pass-through handler settings', () => {
    const s = parseLocalStartSettings(
      {
        PORT: '0',
        SIMULATOR_PORT: '4100',
        DATA_DIR: 'tmp/local',
        SIMULATOR_TIME_SCALE: '100',
        SWEEP_INTERVAL_SECONDS: '2.5',
        WECHATPAY_APPID: 'wx1234567890',
        WECHATPAY_MCHID: '1900000001',
        WECHATPAY_API_KEY: 'k'.repeat(32),
        WECHATPAY_BASE_URL: 'https://api.mch.weixin.qq.com',
        WECHATPAY_API_VERSION: 'v2',
        RECONCILE_SCHEDULE: '5,10',
        UNRELATED: 'ignored',
        PREPAY_TTL_SECONDS: '  ',
      },
      defaults,
    );
    expect(s.port).toBe(0);
    expect(s.simulatorPort).toBe(4100);
    expect(s.dataDir).toBe(resolve('tmp/local'));
    expect(s.simulatorTimeScale).toBe(100);
    expect(s.sweepIntervalMs).toBe(2_500);
    expect(s.merchant).toEqual({ appid: 'wx1234567890', mchid: '1900000001', apiKey: 'k'.repeat(32) });
    expect(s.wechatpayBaseUrl).toBe('https://api.mch.weixin.qq.com');
    expect(s.handlerEnv).toEqual({ WECHATPAY_API_VERSION: 'v2', RECONCILE_SCHEDULE: '5,10' });
  });

  it('passes the hardening settings through to the handlers', () => {
    const tuning = {
      SWEEP_MAX_REQUEUES: '3',
      DUE_INDEX_SHARDS: '4',
      NOTIFY_AUDIT_SHARDS: '2',
      CREDENTIALS_TTL_SECONDS: '60',
      KEY_ROTATION_OVERLAP_SECONDS: '120',
    };
    const { handlerEnv } = parseLocalStartSettings(tuning, defaults);
    expect(handlerEnv).toEqual(tuning);
    expect(loadSettings({ TABLE_NAME: 'orders', ...handlerEnv })).toMatchObject({
      SWEEP_MAX_REQUEUES: 3,
      DUE_INDEX_SHARDS: 4,
      NOTIFY_AUDIT_SHARDS: 2,
      CREDENTIALS_TTL_SECONDS: 60,
      KEY_ROTATION_OVERLAP_SECONDS: 120,
    });
  });

  it('passes the refund settings through, PEMs given on one line with \\n read as PEMs', () => {
    const oneLine = (label: string) => `-----BEGIN ${label}-----\\nMIIB\\n-----END ${label}-----\\n`;
    const { handlerEnv } = parseLocalStartSettings(
      {
        REFUND_CHECK_SCHEDULE: '5,10',
        WECHATPAY_API_CLIENT_CERT: oneLine('CERTIFICATE'),
        WECHATPAY_API_CLIENT_KEY: oneLine('PRIVATE KEY'),
        WECHATPAY_TRUSTED_CA: oneLine('CERTIFICATE'),
      },
      defaults,
    );
    expect(handlerEnv).toEqual({
      REFUND_CHECK_SCHEDULE: '5,10',
      WECHATPAY_API_CLIENT_CERT: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      WECHATPAY_API_CLIENT_KEY: '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n',
      WECHATPAY_TRUSTED_CA: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
    });
    expect(loadSettings({ TABLE_NAME: 'orders', ...handlerEnv }).REFUND_CHECK_SCHEDULE).toEqual([5, 10]);
  });

  it('stops the start when only one half of the API client certificate is given, naming the other', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const key = '-----BEGIN PRIVATE KEY-----\nsecret-key-body\n-----END PRIVATE KEY-----\n';
    expect(() => parseLocalStartSettings({ WECHATPAY_API_CLIENT_CERT: cert }, defaults)).toThrow(
      /set WECHATPAY_API_CLIENT_KEY too/,
    );
    let error: unknown;
    try {
      parseLocalStartSettings({ WECHATPAY_API_CLIENT_KEY: key }, defaults);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LocalSettingsError);
    expect((error as Error).message).toMatch(/set WECHATPAY_API_CLIENT_CERT too/);
    expect((error as Error).message).not.toContain('secret-key-body');
    expect(
      parseLocalStartSettings({ WECHATPAY_API_CLIENT_CERT: cert, WECHATPAY_API_CLIENT_KEY: key }, defaults).handlerEnv,
    ).toEqual({ WECHATPAY_API_CLIENT_CERT: cert, WECHATPAY_API_CLIENT_KEY: key });
  });

  it('names each bad variable and never echoes a value', () => {
    const secret = 'this-api-key-must-not-leak';
    let error: unknown;
    try {
      parseLocalStartSettings({ PORT: '70000', SIMULATOR_TIME_SCALE: '-1', WECHATPAY_BASE_URL: secret }, defaults);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(LocalSettingsError);
    const message = (error as Error).message;
    expect(message).toContain('PORT');
    expect(message).toContain('SIMULATOR_TIME_SCALE');
    expect(message).toContain('WECHATPAY_BASE_URL');
    expect(message).not.toContain(secret);
  });
});

describe('parseLocalStartSettings: webhooks', () => {
  const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

  it('has webhooks off and no secret by default, and passes WEBHOOK_RETRY_SCHEDULE through', () => {
    expect(parseLocalStartSettings({}, defaults)).toMatchObject({ webhookUrl: undefined, webhookSecret: undefined });
    expect(parseLocalStartSettings({ WEBHOOK_RETRY_SCHEDULE: '1,1' }, defaults).handlerEnv).toEqual({
      WEBHOOK_RETRY_SCHEDULE: '1,1',
    });
  });

  it('takes an https URL, or plain http to a loopback host, and a whsec_ secret', () => {
    for (const url of [
      'https://merchant.example/hooks',
      'http://127.0.0.1:8080/h',
      'http://localhost/h',
      'http://[::1]:1/',
    ]) {
      expect(parseLocalStartSettings({ MERCHANT_WEBHOOK_URL: url }, defaults).webhookUrl).toBe(url);
    }
    expect(parseLocalStartSettings({ MERCHANT_WEBHOOK_SECRET: secret }, defaults).webhookSecret).toBe(secret);
  });

  it('refuses plain http to another host, naming the variable', () => {
    expect(() => parseLocalStartSettings({ MERCHANT_WEBHOOK_URL: 'http://merchant.example/hooks' }, defaults)).toThrow(
      /MERCHANT_WEBHOOK_URL: must be https/,
    );
  });

  it('refuses a URL carrying credentials, as the handlers would, without repeating them', () => {
    let message = '';
    try {
      parseLocalStartSettings({ MERCHANT_WEBHOOK_URL: 'https://user:hunter2@merchant.example/hooks' }, defaults);
    } catch (error) {
      expect(error).toBeInstanceOf(LocalSettingsError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/MERCHANT_WEBHOOK_URL: must not carry credentials/);
    expect(message).not.toContain('hunter2');
  });

  it('refuses a secret without whsec_ by the variable and the rule, never the value', () => {
    const bad = 'c2VjcmV0LXZhbHVlLXRoYXQtaXMtbG9uZy1lbm91Z2g=';
    let message = '';
    try {
      parseLocalStartSettings({ MERCHANT_WEBHOOK_SECRET: bad }, defaults);
    } catch (error) {
      expect(error).toBeInstanceOf(LocalSettingsError);
      message = (error as Error).message;
    }
    expect(message).toMatch(/MERCHANT_WEBHOOK_SECRET: must be a whsec_ secret/);
    expect(message).not.toContain(bad);
    expect(message).not.toContain(bad.slice(0, 12));
  });
});

describe('parseLocalStartSettings: the developer’s own v3 keys with the simulator', () => {
  const pair = () =>
    generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
  const merchantKey = pair();
  const wechatKey = pair();
  const oneLine = (pem: string) => pem.replaceAll('\n', '\\n');
  const v3 = {
    WECHATPAY_API_VERSION: 'v3',
    WECHATPAY_PRIVATE_KEY: oneLine(merchantKey.privateKey),
    WECHATPAY_CERT_SERIAL: '5157F09EFDC096DE15EBE81A47057A7232F1B8E1',
    WECHATPAY_APIV3_KEY: 'OwnApiV3Key0123456789abcdefghijk',
    WECHATPAY_PUBLIC_KEY: wechatKey.publicKey,
    WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_0114232134912410000000000077',
  };

  function refusal(env: Record<string, string>): string {
    try {
      parseLocalStartSettings(env, defaults);
    } catch (e) {
      expect(e).toBeInstanceOf(LocalSettingsError);
      expect((e as Error).message).not.toContain('BEGIN');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  }

  it('passes SIMULATOR_PLATFORM_PRIVATE_KEY on, and PEMs written on one line with \\n as PEMs', () => {
    const s = parseLocalStartSettings(
      { ...v3, SIMULATOR_PLATFORM_PRIVATE_KEY: oneLine(wechatKey.privateKey), SIMULATOR_SIGN_WITH: 'certificate' },
      defaults,
    );
    expect(s.simulatorPlatformPrivateKey).toBe(wechatKey.privateKey);
    expect(s.simulatorSignWith).toBe('certificate');
    expect(s.handlerEnv.WECHATPAY_PRIVATE_KEY).toBe(merchantKey.privateKey);
    expect(s.handlerEnv.WECHATPAY_PUBLIC_KEY).toBe(wechatKey.publicKey);
  });

  it('stops when WECHATPAY_PUBLIC_KEY comes without the simulator key, or with another one', () => {
    expect(refusal(v3)).toMatch(/WECHATPAY_PUBLIC_KEY is set but SIMULATOR_PLATFORM_PRIVATE_KEY is not/);
    expect(refusal({ ...v3, SIMULATOR_PLATFORM_PRIVATE_KEY: pair().privateKey })).toMatch(
      /SIMULATOR_PLATFORM_PRIVATE_KEY's public half is not WECHATPAY_PUBLIC_KEY/,
    );
    expect(refusal({ ...v3, SIMULATOR_PLATFORM_PRIVATE_KEY: 'not a key' })).toMatch(
      /SIMULATOR_PLATFORM_PRIVATE_KEY is not an RSA private key/,
    );
  });

  it('stops on half a key pair or half the merchant keys, naming what to set', () => {
    const { WECHATPAY_PUBLIC_KEY_ID: _id, ...withoutId } = v3;
    expect(refusal({ ...withoutId, SIMULATOR_PLATFORM_PRIVATE_KEY: wechatKey.privateKey })).toMatch(
      /set WECHATPAY_PUBLIC_KEY_ID/,
    );
    expect(
      refusal({
        ...v3,
        WECHATPAY_PUBLIC_KEY_ID: 'PUB_KEY_ID_abc',
        SIMULATOR_PLATFORM_PRIVATE_KEY: wechatKey.privateKey,
      }),
    ).toMatch(/WECHATPAY_PUBLIC_KEY_ID must be PUB_KEY_ID_ followed by digits/);
    expect(refusal({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_APIV3_KEY: v3.WECHATPAY_APIV3_KEY })).toMatch(
      /set WECHATPAY_PRIVATE_KEY and WECHATPAY_CERT_SERIAL too/,
    );
    expect(refusal({ SIMULATOR_PLATFORM_PRIVATE_KEY: wechatKey.privateKey })).toMatch(
      /SIMULATOR_PLATFORM_PRIVATE_KEY is only used with WECHATPAY_API_VERSION=v3/,
    );
  });

  it('leaves the keys alone against a real WeChat Pay (WECHATPAY_BASE_URL)', () => {
    const s = parseLocalStartSettings({ ...v3, WECHATPAY_BASE_URL: 'https://api.mch.weixin.qq.com' }, defaults);
    expect(s.handlerEnv.WECHATPAY_PUBLIC_KEY_ID).toBe(v3.WECHATPAY_PUBLIC_KEY_ID);
  });
});

describe('handlerEnvironment', () => {
  const input = {
    tableName: 'orders-t',
    queueUrl: 'http://127.0.0.1:9324/000000000000/q',
    notifyUrl: 'http://127.0.0.1:3000/notify/pay',
    dynamodbEndpoint: 'http://127.0.0.1:8000',
    sqsEndpoint: 'http://127.0.0.1:9324',
    region: 'us-east-1',
    merchant: SANDBOX_MERCHANT,
    wechatpayBaseUrl: 'http://127.0.0.1:3100',
  };

  it('is what the handlers need, and loadSettings accepts it', () => {
    const settings = loadSettings(handlerEnvironment(input));
    expect(settings).toMatchObject({
      TABLE_NAME: 'orders-t',
      QUEUE_URL: input.queueUrl,
      NOTIFY_URL: input.notifyUrl,
      WECHATPAY_BASE_URL: input.wechatpayBaseUrl,
      WECHATPAY_APPID: SANDBOX_MERCHANT.appid,
      WECHATPAY_MCHID: SANDBOX_MERCHANT.mchid,
      WECHATPAY_API_KEY: SANDBOX_MERCHANT.apiKey,
      AWS_ENDPOINT_URL_DYNAMODB: input.dynamodbEndpoint,
      AWS_ENDPOINT_URL_SQS: input.sqsEndpoint,
      CLOSE_MIN_AGE_SECONDS: 300,
      PREPAY_TTL_SECONDS: 7200,
    });
  });

  it("shrinks WeChat's durations with the simulator's time scale, to whole seconds, at least one", () => {
    expect(handlerEnvironment({ ...input, timeScale: 60 })).toMatchObject({
      CLOSE_MIN_AGE_SECONDS: '5',
      PREPAY_TTL_SECONDS: '120',
    });
    expect(handlerEnvironment({ ...input, timeScale: 1000 })).toMatchObject({
      CLOSE_MIN_AGE_SECONDS: '1',
      PREPAY_TTL_SECONDS: '8',
    });
    expect(handlerEnvironment({ ...input, timeScale: 10_000 })).toMatchObject({ PREPAY_TTL_SECONDS: '1' });
    expect(handlerEnvironment(input).CLOSE_MIN_AGE_SECONDS).toBeUndefined();
  });

  it('names the mini program login API and AppSecret only when given: the handlers default to WeChat’s own', () => {
    const appSecret = '0123456789abcdef0123456789abcdef';
    expect(
      handlerEnvironment({ ...input, wechatApiBaseUrl: 'https://127.0.0.1:3100', miniProgramAppSecret: appSecret }),
    ).toMatchObject({ WECHAT_API_BASE_URL: 'https://127.0.0.1:3100', WECHAT_APPSECRET: appSecret });
    const plain = handlerEnvironment(input);
    expect(plain).not.toHaveProperty('WECHAT_API_BASE_URL');
    expect(plain).not.toHaveProperty('WECHAT_APPSECRET');
    expect(loadSettings(plain).WECHAT_API_BASE_URL).toBe('https://api.weixin.qq.com');
  });

  it('lets extra settings win', () => {
    const env = handlerEnvironment({
      ...input,
      timeScale: 60,
      extra: { CLOSE_MIN_AGE_SECONDS: '42', WECHATPAY_API_VERSION: 'v3' },
    });
    expect(env.CLOSE_MIN_AGE_SECONDS).toBe('42');
    expect(env.WECHATPAY_API_VERSION).toBe('v3');
  });
});
