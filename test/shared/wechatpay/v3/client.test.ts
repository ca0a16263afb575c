import { generateKeyPairSync } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { backoffDelay } from '#shared/wechatpay/core/retry';
import { RETRY_BACKOFF, WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { WechatPayV3ClientOptions } from '#shared/wechatpay/v3/client';
import { verifyAppClientParams, verifyJsapiClientParams } from '#shared/wechatpay/v3/testing/wechat-checks';
import { buildCertificatesAnswer } from '#shared/wechatpay/v3/testing/wechat-messages';
import {
  TEST_APIV3_KEY,
  asCertificateSigner,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  fixedClock,
  paidTransaction,
  startWechatV3StandIn,
} from '#test/helpers/wechatpay-v3';
import type { PlatformIdentity, Signer, StandIn, StandInAnswer, StandInRequest } from '#test/helpers/wechatpay-v3';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const oldPlatform = createPlatformIdentity();
const now = new Date('2024-06-01T04:00:00Z');

const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

type Handler = (request: StandInRequest) => StandInAnswer | Promise<StandInAnswer>;

/** Serves /v3/certificates with these certificates (signed by `signer`), everything else by `handler`. */
function withCertificates(certs: PlatformIdentity[], signer: Signer, handler: Handler): Handler {
  return (request) =>
    request.path === '/v3/certificates'
      ? {
          status: 200,
          body: buildCertificatesAnswer(
            certs.map((c) => ({ pem: c.certificatePem })),
            TEST_APIV3_KEY,
          ),
          signer,
        }
      : handler(request);
}

async function setup(opts: {
  handler: Handler;
  signer?: Signer;
  client?: Partial<WechatPayV3ClientOptions>;
  publicKeyMode?: boolean;
}) {
  const clock = fixedClock(now);
  const standIn = await startWechatV3StandIn({
    merchant,
    signer: opts.signer ?? asPublicKeySigner(platform),
    handler: opts.handler,
    clock,
  });
  standIns.push(standIn);
  const sleeps: number[] = [];
  const publicKeyMode = opts.publicKeyMode ?? true;
  const client = new WechatPayV3Client({
    baseUrl: standIn.baseUrl,
    mchid: merchant.mchid,
    appid: merchant.appid,
    privateKey: merchant.privateKeyPem,
    certSerial: merchant.serial,
    apiV3Key: TEST_APIV3_KEY,
    ...(publicKeyMode ? { publicKey: platform.publicKeyPem, publicKeyId: platform.publicKeyId } : {}),
    clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    timeoutMs: 2_000,
    ...opts.client,
  });
  return { client, standIn, sleeps, clock };
}

const order = {
  description: 'Image形象店-深圳腾大-QQ公仔',
  outTradeNo: 'ORDER20240001',
  notifyUrl: 'https://merchant.example.com/notify/pay',
  amount: { total: 1999 },
  timeExpire: '2024-06-01T06:00:00.000Z',
  attach: 'cart=42',
  payerClientIp: '203.0.113.7',
};

describe('WechatPayV3Client construction', () => {
  const base = {
    baseUrl: 'https://api.mch.weixin.qq.com',
    mchid: merchant.mchid,
    appid: merchant.appid,
    privateKey: merchant.privateKeyPem,
    certSerial: merchant.serial,
    apiV3Key: TEST_APIV3_KEY,
  };

  it('accepts a complete configuration, with or without the public key', () => {
    expect(new WechatPayV3Client(base).mchid).toBe(merchant.mchid);
    expect(
      new WechatPayV3Client({ ...base, publicKey: platform.publicKeyPem, publicKeyId: platform.publicKeyId }).appid,
    ).toBe(merchant.appid);
  });

  it.each([
    ['a 16-byte APIv3 key (the wechatpay-go test key)', { apiV3Key: 'testMchAPIv3Key0' }, 'apiV3Key'],
    ['a 33-byte APIv3 key', { apiV3Key: `${TEST_APIV3_KEY}x` }, 'apiV3Key'],
    ['a public key without its id', { publicKey: platform.publicKeyPem }, 'publicKeyId'],
    [
      'an id that is not PUB_KEY_ID_…',
      { publicKey: platform.publicKeyPem, publicKeyId: platform.serial },
      'publicKeyId',
    ],
    ['a public key that is not a key', { publicKey: 'garbage', publicKeyId: platform.publicKeyId }, 'publicKey'],
    ['a private key that is not PEM', { privateKey: 'garbage' }, 'privateKey'],
    ['a non-hex certificate serial', { certSerial: 'not-hex' }, 'certSerial'],
    ['a base URL that is not http(s)', { baseUrl: 'ftp://x' }, 'baseUrl'],
    ['zero attempts', { maxAttempts: 0 }, 'maxAttempts'],
  ])('refuses %s', (_what, change, field) => {
    let thrown: unknown;
    try {
      new WechatPayV3Client({ ...base, ...change });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(WechatPayValidationError);
    expect((thrown as WechatPayValidationError).field).toBe(field);
    expect((thrown as Error).message).not.toContain(TEST_APIV3_KEY);
  });

  it('refuses an RSA key shorter than 2048 bits', () => {
    const weak = generateKeyPairSync('rsa', { modulusLength: 1024 })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(() => new WechatPayV3Client({ ...base, privateKey: weak })).toThrow(/2048/);
  });
});

describe('prepay', () => {
  it('JSAPI: signed request with WeChat v3 fields; prepay_id; client params re-signed with RSA', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 200, body: { prepay_id: 'wx26112221580621e9b071c00d9e093b0000' } }),
    });
    const answer = await client.prepayJsapi({ ...order, payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' });
    expect(answer).toEqual({ prepayId: 'wx26112221580621e9b071c00d9e093b0000' });
    const [request] = standIn.requests;
    expect(request?.authorization.ok).toBe(true);
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/v3/pay/transactions/jsapi');
    expect(request?.json).toEqual({
      appid: merchant.appid,
      mchid: merchant.mchid,
      description: order.description,
      out_trade_no: 'ORDER20240001',
      time_expire: '2024-06-01T14:00:00+08:00',
      attach: 'cart=42',
      notify_url: order.notifyUrl,
      amount: { total: 1999, currency: 'CNY' },
      payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' },
      scene_info: { payer_client_ip: '203.0.113.7' },
    });
    const params = client.jsapiClientParams(answer.prepayId);
    expect(params).toMatchObject({
      appId: merchant.appid,
      timeStamp: String(now.getTime() / 1000),
      package: `prepay_id=${answer.prepayId}`,
      signType: 'RSA',
    });
    expect(verifyJsapiClientParams(params, merchant.publicKey)).toBe(true);
  });

  it('APP: prepay_id and OpenSDK params', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 200, body: { prepay_id: 'wx-app-1' } }) });
    const answer = await client.prepayApp(order);
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/app');
    expect(answer.prepayId).toBe('wx-app-1');
    const params = client.appClientParams(answer.prepayId);
    expect(params).toMatchObject({
      appid: merchant.appid,
      partnerid: merchant.mchid,
      prepayid: 'wx-app-1',
      package: 'Sign=WXPay',
    });
    expect(verifyAppClientParams(params, merchant.publicKey)).toBe(true);
  });

  it('NATIVE: code_url; no payer, scene_info only when an IP is given', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 200, body: { code_url: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' } }),
    });
    const { payerClientIp: _ip, attach: _attach, timeExpire: _t, ...bare } = order;
    await expect(client.prepayNative(bare)).resolves.toEqual({ codeUrl: 'weixin://wxpay/bizpayurl?pr=p4lpSuKzz' });
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/native');
    expect(standIn.requests[0]?.json).toEqual({
      appid: merchant.appid,
      mchid: merchant.mchid,
      description: order.description,
      out_trade_no: order.outTradeNo,
      notify_url: order.notifyUrl,
      amount: { total: 1999, currency: 'CNY' },
    });
  });

  it('H5: h5_url; scene_info with payer_client_ip and h5_info', async () => {
    const { client, standIn } = await setup({
      handler: () => ({
        status: 200,
        body: { h5_url: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx1' },
      }),
    });
    const answer = await client.prepayH5({
      ...order,
      h5Info: { type: 'iOS', app_name: '王者荣耀', bundle_id: 'com.tencent.wzryiOS' },
    });
    expect(answer.h5Url).toContain('checkmweb');
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/h5');
    expect((standIn.requests[0]?.json as { scene_info: unknown }).scene_info).toEqual({
      payer_client_ip: '203.0.113.7',
      h5_info: { type: 'iOS', app_name: '王者荣耀', bundle_id: 'com.tencent.wzryiOS' },
    });
  });

  it('validates the input before anything is sent', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 200, body: { prepay_id: 'x' } }) });
    await expect(client.prepayApp({ ...order, outTradeNo: 'has space' })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayApp({ ...order, amount: { total: 0 } })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayApp({ ...order, amount: { total: 1.5 } })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayApp({ ...order, notifyUrl: 'https://m.example.com/notify?x=1' })).rejects.toThrow(
      /query string/,
    );
    await expect(client.prepayApp({ ...order, description: 'x'.repeat(128) })).rejects.toThrow(
      WechatPayValidationError,
    );
    await expect(client.prepayApp({ ...order, timeExpire: 'tomorrow' })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayApp({ ...order, payerClientIp: '999.1.1.1' })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayJsapi({ ...order, payerOpenid: '' })).rejects.toThrow(WechatPayValidationError);
    await expect(client.prepayH5({ ...order, h5Info: { type: '' } })).rejects.toThrow(WechatPayValidationError);
    expect(standIn.requests).toHaveLength(0);
  });
});

describe('query and close', () => {
  it('queries by out_trade_no with ?mchid= and returns the verified transaction', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 200, body: paidTransaction({ appid: merchant.appid, mchid: merchant.mchid }) }),
    });
    const transaction = await client.queryByOutTradeNo('ORDER20240001');
    expect(transaction).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: '4200001234202401011234567890',
      amount: { total: 1999 },
    });
    expect(standIn.requests[0]?.method).toBe('GET');
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/out-trade-no/ORDER20240001');
    expect(standIn.requests[0]?.query.get('mchid')).toBe(merchant.mchid);
    expect(standIn.requests[0]?.authorization.ok).toBe(true);
  });

  it('keeps out_trade_no as a string with leading zeros and escapes it in the path', async () => {
    const { client, standIn } = await setup({
      handler: (r) => ({
        status: 200,
        body: paidTransaction({ out_trade_no: decodeURIComponent(r.path.split('/').pop()!) }),
      }),
    });
    await expect(client.queryByOutTradeNo('000123|A*')).resolves.toMatchObject({ out_trade_no: '000123|A*' });
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/out-trade-no/000123%7CA*');
    expect(standIn.requests[0]?.authorization.ok).toBe(true);
  });

  it('queries by transaction_id', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 200, body: paidTransaction() }) });
    await expect(client.queryByTransactionId('4200001234202401011234567890')).resolves.toMatchObject({
      out_trade_no: 'ORDER20240001',
    });
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/id/4200001234202401011234567890');
    expect(standIn.requests[0]?.query.get('mchid')).toBe(merchant.mchid);
  });

  it('refuses an answer about another order', async () => {
    const { client } = await setup({
      handler: () => ({ status: 200, body: paidTransaction({ out_trade_no: 'SOMEONE_ELSE' }) }),
    });
    expect((await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'))).code).toBe('INVALID_RESPONSE');
  });

  it('refuses a verified answer without the documented shape', async () => {
    const { client } = await setup({ handler: () => ({ status: 200, body: { trade_state: 'SUCCESS' } }) });
    const error = await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
    expect([error.code, error.retryable]).toEqual(['INVALID_RESPONSE', false]);
  });

  it('closes with POST …/close {mchid} → 204', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 204 }) });
    await expect(client.close('ORDER20240001')).resolves.toBeUndefined();
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/out-trade-no/ORDER20240001/close');
    expect(standIn.requests[0]?.json).toEqual({ mchid: merchant.mchid });
  });

  it.each([
    [404, 'ORDER_NOT_EXIST', 'ORDERNOTEXIST'],
    [400, 'ORDERPAID', 'ORDERPAID'],
    [400, 'ORDER_CLOSED', 'ORDERCLOSED'],
    [403, 'NO_AUTH', 'NOAUTH'],
  ])('a signed %i %s is final: %s, asked once', async (status, code, domainCode) => {
    const { client, standIn, sleeps } = await setup({ handler: () => ({ status, body: { code, message: '…' } }) });
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.retryable, error.kind]).toEqual([domainCode, false, 'business']);
    expect(standIn.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });
});

describe('retries', () => {
  it('retries SYSTEM_ERROR with bounded jittered waits, then succeeds', async () => {
    let calls = 0;
    const { client, standIn, sleeps } = await setup({
      handler: () =>
        ++calls < 3
          ? { status: 500, body: { code: 'SYSTEM_ERROR', message: '系统错误' }, signer: null }
          : { status: 204 },
    });
    await client.close('ORDER20240001');
    expect(standIn.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(100);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
    expect(sleeps[1]).toBeGreaterThanOrEqual(200);
    expect(sleeps[1]).toBeLessThanOrEqual(400);
    // Every attempt is signed afresh.
    const nonces = standIn.requests.map((r) => (r.authorization.ok ? r.authorization.fields.nonce_str : ''));
    expect(new Set(nonces).size).toBe(3);
  });

  it('gives up after maxAttempts with the last retryable error', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 429, body: { code: 'FREQUENCY_LIMITED', message: '频率超限' } }),
      client: { maxAttempts: 2 },
    });
    const error = await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
    expect([error.code, error.retryable]).toEqual(['FREQUENCY_LIMITED', true]);
    expect(standIn.requests).toHaveLength(2);
  });

  it('treats an unsigned 502 from a proxy as a retryable transport failure', async () => {
    const { client } = await setup({
      handler: () => ({ status: 502, body: '<html>Bad Gateway</html>', signer: null }),
      client: { maxAttempts: 1 },
    });
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.retryable, error.kind]).toEqual(['HTTP_502', true, 'transport']);
  });

  it('times out a silent server (TIMEOUT, retryable)', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 204, delayMs: 400 }),
      client: { timeoutMs: 100, maxAttempts: 2 },
    });
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.retryable, error.kind]).toEqual(['TIMEOUT', true, 'transport']);
    expect(standIn.requests).toHaveLength(2);
  });

  it('reports an unreachable server (NETWORK, retryable)', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 204 }), client: { maxAttempts: 2 } });
    await standIn.close();
    standIns.splice(standIns.indexOf(standIn), 1);
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.retryable, error.kind]).toEqual(['NETWORK', true, 'transport']);
  });

  it('backoff stays within half and all of min(2 s, 200 ms · 2^(n-1))', () => {
    const backoffMs = (attempt: number, random: () => number) => backoffDelay(attempt, RETRY_BACKOFF, random);
    expect([backoffMs(1, () => 0), backoffMs(1, () => 1)]).toEqual([100, 200]);
    expect([backoffMs(3, () => 0), backoffMs(3, () => 1)]).toEqual([400, 800]);
    expect([backoffMs(9, () => 0), backoffMs(9, () => 1)]).toEqual([1000, 2000]);
  });
});

describe('verifying every answer', () => {
  const ok = (): StandInAnswer => ({ status: 200, body: paidTransaction() });

  it.each([
    ['unsigned', { signer: null }],
    ['signed by an unknown key', { signer: asCertificateSigner(createPlatformIdentity()) }],
    [
      'signed with a known serial but another key',
      { signer: { privateKey: oldPlatform.privateKey, serial: platform.publicKeyId } },
    ],
    ['with a stale timestamp', { timestampOffsetSeconds: -301 }],
    ['with a timestamp from the future', { timestampOffsetSeconds: 301 }],
    [
      'with a probe signature',
      {
        mutate: (s: { headers: Record<string, string>; body: string }) => ({
          ...s,
          headers: { ...s.headers, 'Wechatpay-Signature': 'WECHATPAY/SIGNTEST/abc' },
        }),
      },
    ],
    [
      'with a tampered body',
      {
        mutate: (s: { headers: Record<string, string>; body: string }) => ({ ...s, body: s.body.replace('1999', '1') }),
      },
    ],
  ])('refuses an answer %s (INVALID_SIGNATURE, not retried)', async (_what, change) => {
    const { client, standIn } = await setup({ handler: () => ({ ...ok(), ...change }) });
    const error = await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
    expect([error.code, error.kind, error.retryable]).toEqual(['INVALID_SIGNATURE', 'signature', false]);
    expect(standIn.requests.filter((r) => r.path !== '/v3/certificates')).toHaveLength(1);
  });

  it('does not take an unsigned 404 ORDER_NOT_EXIST for an answer: a retryable transport failure', async () => {
    const { client } = await setup({
      handler: () => ({ status: 404, body: { code: 'ORDER_NOT_EXIST', message: '订单不存在' }, signer: null }),
    });
    const error = await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
    expect([error.code, error.kind, error.retryable, error.rawCode]).toEqual([
      'HTTP_404',
      'transport',
      true,
      undefined,
    ]);
  });

  it.each([
    ['unsigned', { signer: null }],
    ['signed by a stranger', { signer: asCertificateSigner(createPlatformIdentity()) }],
  ])('an %s HTTP 500 {"code":"ORDER_CLOSED"} is a transport failure, retried, never ORDERCLOSED', async (_w, how) => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 500, body: { code: 'ORDER_CLOSED', message: '订单已关闭' }, ...how }),
    });
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.kind, error.retryable, error.rawCode]).toEqual([
      'HTTP_500',
      'transport',
      true,
      undefined,
    ]);
    expect(standIn.requests.filter((r) => r.path !== '/v3/certificates')).toHaveLength(3);
  });

  it('a signed HTTP 500 SYSTEM_ERROR keeps its code (WeChat said it)', async () => {
    const { client } = await setup({
      handler: () => ({ status: 500, body: { code: 'SYSTEM_ERROR', message: '系统错误' } }),
      client: { maxAttempts: 1 },
    });
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    expect([error.code, error.kind, error.retryable]).toEqual(['SYSTEMERROR', 'business', true]);
  });

  it('accepts answers signed within 5 minutes', async () => {
    const { client } = await setup({ handler: () => ({ ...ok(), timestampOffsetSeconds: -299 }) });
    await expect(client.queryByOutTradeNo('ORDER20240001')).resolves.toMatchObject({ trade_state: 'SUCCESS' });
  });
});

describe('platform certificates and the public key', () => {
  it('public-key mode: no certificate download at all', async () => {
    const { client, standIn } = await setup({ handler: () => ({ status: 200, body: paidTransaction() }) });
    await client.queryByOutTradeNo('ORDER20240001');
    await client.queryByOutTradeNo('ORDER20240001');
    expect(standIn.requests.map((r) => r.path).filter((p) => p === '/v3/certificates')).toHaveLength(0);
  });

  it('certificate mode: downloads /v3/certificates at the first unknown serial, once, then verifies', async () => {
    const signer = asCertificateSigner(platform);
    const { client, standIn } = await setup({
      publicKeyMode: false,
      signer,
      handler: withCertificates([platform], signer, () => ({ status: 200, body: paidTransaction() })),
    });
    await client.queryByOutTradeNo('ORDER20240001');
    await client.queryByOutTradeNo('ORDER20240001');
    expect(standIn.requests.map((r) => r.path)).toEqual([
      '/v3/pay/transactions/out-trade-no/ORDER20240001',
      '/v3/certificates',
      '/v3/pay/transactions/out-trade-no/ORDER20240001',
    ]);
    expect(standIn.requests[1]?.authorization.ok).toBe(true);
  });

  it('migration: the public key and platform certificates verify side by side', async () => {
    let n = 0;
    const certSigner = asCertificateSigner(oldPlatform);
    const { client } = await setup({
      handler: withCertificates([oldPlatform], certSigner, () => ({
        status: 200,
        body: paidTransaction(),
        signer: ++n % 2 === 0 ? certSigner : asPublicKeySigner(platform),
      })),
    });
    for (let i = 0; i < 4; i += 1) await expect(client.queryByOutTradeNo('ORDER20240001')).resolves.toBeDefined();
  });

  it('rotation: a new certificate serial triggers a refresh that brings it in', async () => {
    const rotated = createPlatformIdentity();
    let current = oldPlatform;
    const { client, standIn } = await setup({
      publicKeyMode: false,
      signer: asCertificateSigner(oldPlatform),
      handler: (r) =>
        r.path === '/v3/certificates'
          ? {
              status: 200,
              body: buildCertificatesAnswer(
                [oldPlatform, current].map((c) => ({ pem: c.certificatePem })),
                TEST_APIV3_KEY,
              ),
              signer: asCertificateSigner(current),
            }
          : { status: 200, body: paidTransaction(), signer: asCertificateSigner(current) },
      client: { certificateRefreshIntervalMs: 0 },
    });
    await client.queryByOutTradeNo('ORDER20240001');
    current = rotated;
    await client.queryByOutTradeNo('ORDER20240001');
    expect(standIn.requests.filter((r) => r.path === '/v3/certificates')).toHaveLength(2);
    const certificates = await client.refreshCertificates();
    expect(certificates.map((c) => c.serial).sort()).toEqual([oldPlatform.serial, rotated.serial].sort());
  });

  it('forged serials cannot make it download more than once a minute', async () => {
    const signer = asCertificateSigner(platform);
    const { client, standIn, clock } = await setup({
      publicKeyMode: false,
      signer,
      handler: withCertificates([platform], signer, () => ({
        status: 200,
        body: paidTransaction(),
        signer: asCertificateSigner(createPlatformIdentity()),
      })),
    });
    for (let i = 0; i < 3; i += 1)
      expect((await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'))).code).toBe('INVALID_SIGNATURE');
    expect(standIn.requests.filter((r) => r.path === '/v3/certificates')).toHaveLength(1);
    clock.advance(60_000);
    await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
    expect(standIn.requests.filter((r) => r.path === '/v3/certificates')).toHaveLength(2);
  });

  it('refuses a certificate download encrypted under another APIv3 key or signed by a stranger', async () => {
    const signer = asCertificateSigner(platform);
    const stranger = createPlatformIdentity();
    for (const certificates of [
      (): StandInAnswer => ({
        status: 200,
        body: buildCertificatesAnswer([{ pem: platform.certificatePem }], 'another-32-byte-apiv3-key-000000'),
        signer,
      }),
      (): StandInAnswer => ({
        status: 200,
        body: buildCertificatesAnswer([{ pem: platform.certificatePem }], TEST_APIV3_KEY),
        signer: asCertificateSigner(stranger),
      }),
    ]) {
      const { client } = await setup({
        publicKeyMode: false,
        signer,
        handler: (r) => (r.path === '/v3/certificates' ? certificates() : { status: 200, body: paidTransaction() }),
      });
      await expect(client.refreshCertificates()).rejects.toMatchObject({ code: 'INVALID_SIGNATURE' });
      const error = await wechatPayErrorOf(client.queryByOutTradeNo('ORDER20240001'));
      expect(error.code).toBe('INVALID_SIGNATURE');
      expect(error.message).toMatch(/certificate download failed/);
    }
  });
});

describe('the caller’s deadline', () => {
  it('cuts the attempt to the time left and ends the call: DEADLINE_EXCEEDED, not three 5 s attempts', async () => {
    let started = Date.now();
    const { client, standIn } = await setup({
      handler: () => ({ status: 204, delayMs: 5_000 }),
      client: { timeoutMs: 5_000, deadline: () => started + 1_200 },
    });
    started = Date.now();
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    const took = Date.now() - started;
    expect([error.code, error.retryable, error.kind]).toEqual(['DEADLINE_EXCEEDED', true, 'transport']);
    expect(took).toBeGreaterThanOrEqual(1_100);
    expect(took).toBeLessThan(2_000);
    expect(standIn.requests).toHaveLength(1);
  });

  it('sends nothing when less than minAttemptMs is left', async () => {
    const { client, standIn } = await setup({
      handler: () => ({ status: 204 }),
      client: { deadline: () => Date.now() + 500 },
    });
    expect((await wechatPayErrorOf(client.close('ORDER20240001'))).code).toBe('DEADLINE_EXCEEDED');
    expect(standIn.requests).toHaveLength(0);
  });

  it('retries only while another attempt can start before the deadline', async () => {
    let started = Date.now();
    const { client, standIn } = await setup({
      handler: () => ({ status: 500, body: { code: 'SYSTEM_ERROR', message: '系统错误' } }),
      client: {
        deadline: () => started + 1_500,
        minAttemptMs: 1_200,
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      },
    });
    started = Date.now();
    const error = await wechatPayErrorOf(client.close('ORDER20240001'));
    // The second wait (200-400 ms) would leave less than 1 200 ms: the call ends with WeChat's last answer.
    expect(error.code).toBe('SYSTEMERROR');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(standIn.requests).toHaveLength(2);
  });
});
