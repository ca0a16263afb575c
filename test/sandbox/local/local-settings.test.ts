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
      handlerEnv: {},
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
