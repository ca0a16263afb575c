import { generateKeyPairSync } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { verifyAppClientParams, verifyJsapiClientParams } from '#shared/wechatpay/v3/testing/wechat-checks';
import type { V3PrepayInput, WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { controlPost, debugOrder, newOutTradeNo, pay, sleep } from './support';
import { V3_MERCHANT, platformOf, startV3Simulator, v3Client } from './v3-support';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

// The product's own v3 client against the simulator, over HTTP: what a merchant written against the
// simulator sends and reads is what it would send to and read from WeChat.

const TIME_SCALE = 1000; // close's 5 minutes: 300 ms
const HOLD_MS = 3000;
const NOTIFY_URL = 'http://127.0.0.1:9/notify/pay'; // nothing listens: these tests look at the API only
let sim: RunningSimulator;
let client: WechatPayV3Client;

beforeAll(async () => {
  sim = await startV3Simulator({ timeScale: TIME_SCALE, apiTimeoutHoldMs: HOLD_MS });
  client = v3Client(sim).client;
});
afterEach(async () => {
  await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
});
afterAll(async () => {
  await sim.close();
});

const input = (overrides: Partial<V3PrepayInput> = {}): V3PrepayInput => ({
  description: '沙箱商品 - test goods',
  outTradeNo: newOutTradeNo('V3'),
  notifyUrl: NOTIFY_URL,
  amount: { total: 1999 },
  attach: 'cart=42',
  ...overrides,
});

const setFaults = (body: Record<string, unknown>) => controlPost(sim.url, '/sandbox/faults', body);

type TradeCase = {
  name: string;
  tradeType: 'JSAPI' | 'APP' | 'NATIVE' | 'MWEB';
  create: (i: V3PrepayInput) => Promise<Record<string, string>>;
  check: (answer: Record<string, string>) => void;
};

const TRADE_CASES: TradeCase[] = [
  {
    name: 'jsapi',
    tradeType: 'JSAPI',
    create: (i) => client.prepayJsapi({ ...i, payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' }),
    check: (a) => {
      expect(a.prepayId).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
      expect(verifyJsapiClientParams(client.jsapiClientParams(a.prepayId as string), V3_MERCHANT.publicKey)).toBe(true);
    },
  },
  {
    name: 'app',
    tradeType: 'APP',
    create: (i) => client.prepayApp(i),
    check: (a) => {
      expect(a.prepayId).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
      expect(verifyAppClientParams(client.appClientParams(a.prepayId as string), V3_MERCHANT.publicKey)).toBe(true);
    },
  },
  {
    name: 'native',
    tradeType: 'NATIVE',
    create: (i) => client.prepayNative(i),
    check: (a) => expect(a.codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=\w+$/),
  },
  {
    name: 'h5',
    tradeType: 'MWEB',
    create: (i) =>
      client.prepayH5({
        ...i,
        payerClientIp: '203.0.113.7',
        h5Info: { type: 'Wap', app_name: 'shop', app_url: 'https://shop.example' },
      }),
    check: (a) =>
      expect(a.h5Url).toMatch(
        /^https:\/\/wx\.tenpay\.com\/cgi-bin\/mmpayweb-bin\/checkmweb\?prepay_id=wx\w+&package=\d+$/,
      ),
  },
];

describe('v3 client ↔ simulator, every trade type', () => {
  it.each(TRADE_CASES)(
    '$name: prepay, query NOTPAY, pay, query SUCCESS by out_trade_no and by transaction_id',
    async ({ tradeType, create, check }) => {
      const i = input();
      const answer = await create(i);
      check(answer);

      const open = await client.queryByOutTradeNo(i.outTradeNo);
      expect(open).toMatchObject({
        appid: V3_MERCHANT.appid,
        mchid: V3_MERCHANT.mchid,
        out_trade_no: i.outTradeNo,
        trade_type: tradeType,
        trade_state: 'NOTPAY',
        attach: 'cart=42',
        amount: { total: 1999, currency: 'CNY' },
      });
      expect(open.transaction_id).toBeUndefined();
      expect(open.success_time).toBeUndefined();

      const paid = await pay(sim.url, i.outTradeNo, 'SUCCESS', 'oPayerOpenid');
      expect(paid.status).toBe(200);
      const transactionId = paid.json.transaction_id as string;
      const byNo = await client.queryByOutTradeNo(i.outTradeNo);
      expect(byNo).toMatchObject({
        out_trade_no: i.outTradeNo,
        transaction_id: transactionId,
        trade_type: tradeType,
        trade_state: 'SUCCESS',
        trade_state_desc: '支付成功',
        bank_type: 'OTHERS',
        payer: { openid: 'oPayerOpenid' },
        amount: { total: 1999, payer_total: 1999, currency: 'CNY', payer_currency: 'CNY' },
      });
      expect(transactionId).toMatch(/^42000\d{23}$/);
      expect(byNo.success_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
      expect(Math.abs(Date.parse(byNo.success_time as string) - Date.now())).toBeLessThan(60_000);
      expect(await client.queryByTransactionId(transactionId)).toEqual(byNo);
    },
  );

  it('the same out_trade_no and content get the same prepay_id; other content is OUT_TRADE_NO_USED', async () => {
    const i = input();
    const first = await client.prepayApp(i);
    expect(await client.prepayApp(i)).toEqual(first);
    const changed = await wechatPayErrorOf(client.prepayApp({ ...i, amount: { total: 2000 } }));
    expect(changed).toMatchObject({ code: 'OUT_TRADE_NO_USED', retryable: false, kind: 'business' });
    // Another trade type is other content too.
    expect(await wechatPayErrorOf(client.prepayNative(i))).toMatchObject({ code: 'OUT_TRADE_NO_USED' });
    expect((await client.queryByOutTradeNo(i.outTradeNo)).amount?.total).toBe(1999);
  });

  it('unknown out_trade_no or transaction_id: ORDERNOTEXIST; an unpaid order has no transaction to find', async () => {
    expect(await wechatPayErrorOf(client.queryByOutTradeNo('NoSuchOrder123'))).toMatchObject({
      code: 'ORDERNOTEXIST',
      retryable: false,
    });
    expect(await wechatPayErrorOf(client.queryByTransactionId('4200000000202401010000000000'))).toMatchObject({
      code: 'ORDERNOTEXIST',
    });
  });
});

describe('close', () => {
  it('is refused within 5 minutes (scaled), then closes (204); closing again is fine; it stays CLOSED', async () => {
    const i = input();
    await client.prepayNative(i);
    const early = await wechatPayErrorOf(client.close(i.outTradeNo));
    expect(early).toMatchObject({ code: 'INVALID_REQUEST', retryable: false, kind: 'business' });
    expect(early.message).toContain('5');
    expect((await client.queryByOutTradeNo(i.outTradeNo)).trade_state).toBe('NOTPAY');

    await sleep(300_000 / TIME_SCALE + 50);
    await expect(client.close(i.outTradeNo)).resolves.toBeUndefined();
    expect(await client.queryByOutTradeNo(i.outTradeNo)).toMatchObject({
      trade_state: 'CLOSED',
      trade_state_desc: '已关闭',
    });
    await expect(client.close(i.outTradeNo)).resolves.toBeUndefined();

    expect(await wechatPayErrorOf(client.prepayNative(i))).toMatchObject({ code: 'ORDERCLOSED', retryable: false });
    expect((await pay(sim.url, i.outTradeNo)).status).toBe(409);
  });

  it('a paid order cannot be closed: ORDERPAID, final, and it stays paid; ordering it again is ORDERPAID', async () => {
    const i = input();
    await client.prepayApp(i);
    await pay(sim.url, i.outTradeNo);
    await sleep(300_000 / TIME_SCALE + 50);
    expect(await wechatPayErrorOf(client.close(i.outTradeNo))).toMatchObject({
      code: 'ORDERPAID',
      retryable: false,
      kind: 'business',
    });
    expect((await client.queryByOutTradeNo(i.outTradeNo)).trade_state).toBe('SUCCESS');
    expect(await wechatPayErrorOf(client.prepayApp(i))).toMatchObject({ code: 'ORDERPAID', retryable: false });
  });

  it('an unknown order is ORDERNOTEXIST', async () => {
    expect(await wechatPayErrorOf(client.close('NoSuchOrder456'))).toMatchObject({ code: 'ORDERNOTEXIST' });
  });
});

describe('platform certificates', () => {
  it('GET /v3/certificates hands out the platform certificate, decrypted with the APIv3 key', async () => {
    const [certificate, ...others] = await client.refreshCertificates();
    expect(others).toEqual([]);
    expect(certificate?.serial).toBe(platformOf(sim).certificateSerial);
    expect(certificate?.pem).toBe(platformOf(sim).certificatePem);
    expect(certificate?.certificate.publicKey.export({ type: 'spki', format: 'pem' })).toBe(
      platformOf(sim).publicKeyPem,
    );
  });

  it('a client holding another APIv3 key cannot decrypt them', async () => {
    const { client: other } = v3Client(sim, 'certificates', { apiV3Key: 'another32ByteApiV3KeyFor1Merchan' });
    await expect(other.refreshCertificates()).rejects.toBeInstanceOf(WechatPayError);
  });
});

describe('error classes', () => {
  it('SYSTEM_ERROR is retryable: the client retries through it; with no retries left it is SYSTEMERROR', async () => {
    const i = input();
    await setFaults({ api: 'systemerror', out_trade_no: i.outTradeNo, times: 1 });
    const created = await client.prepayApp(i);
    expect(created.prepayId).toMatch(/^wx/);
    expect((await debugOrder(sim.url, i.outTradeNo)).requests.map((r) => [r.httpStatus, r.fault ?? 'ok'])).toEqual([
      [500, 'systemerror'],
      [200, 'ok'],
    ]);

    await setFaults({ api: 'systemerror', out_trade_no: i.outTradeNo });
    const { client: once } = v3Client(sim, 'public_key', { maxAttempts: 1 });
    expect(await wechatPayErrorOf(once.queryByOutTradeNo(i.outTradeNo))).toMatchObject({
      code: 'SYSTEMERROR',
      retryable: true,
      kind: 'business',
    });
  });

  it('http500 is a bare HTTP 500: a retryable transport error, and nothing happened', async () => {
    const i = input();
    await setFaults({ api: 'http500', out_trade_no: i.outTradeNo, times: 1 });
    const { client: once } = v3Client(sim, 'public_key', { maxAttempts: 1 });
    expect(await wechatPayErrorOf(once.prepayNative(i))).toMatchObject({
      code: 'HTTP_500',
      retryable: true,
      kind: 'transport',
    });
    expect(await wechatPayErrorOf(client.queryByOutTradeNo(i.outTradeNo))).toMatchObject({ code: 'ORDERNOTEXIST' });
  });

  it('timeout: the client gives up (retryable), the order exists; asking again gives the same prepay_id', async () => {
    const i = input();
    await setFaults({ api: 'timeout', out_trade_no: i.outTradeNo, times: 1 });
    const { client: impatient } = v3Client(sim, 'public_key', { maxAttempts: 1, timeoutMs: 300 });
    expect(await wechatPayErrorOf(impatient.prepayApp(i))).toMatchObject({
      code: 'TIMEOUT',
      retryable: true,
      kind: 'transport',
    });
    expect((await client.queryByOutTradeNo(i.outTradeNo)).trade_state).toBe('NOTPAY');
    const again = await client.prepayApp(i);
    const held = (await debugOrder(sim.url, i.outTradeNo)).requests[0];
    expect(held?.fault).toBe('timeout');
    expect(JSON.parse(held?.response ?? '{}')).toEqual({ prepay_id: again.prepayId });
  });

  it('a merchant signing with the wrong key (or naming another certificate) gets 401 SIGN_ERROR, final', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { client: impostor } = v3Client(sim, 'public_key', {
      privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    });
    const i = input();
    expect(await wechatPayErrorOf(impostor.prepayApp(i))).toMatchObject({
      code: 'SIGNERROR',
      retryable: false,
      kind: 'business',
    });
    const { client: wrongSerial } = v3Client(sim, 'public_key', { certSerial: '1234567890ABCDEF' });
    expect(await wechatPayErrorOf(wrongSerial.prepayApp(i))).toMatchObject({ code: 'SIGNERROR', retryable: false });
    expect(await wechatPayErrorOf(client.queryByOutTradeNo(i.outTradeNo))).toMatchObject({ code: 'ORDERNOTEXIST' });
  });
});
