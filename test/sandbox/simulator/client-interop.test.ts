import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayV2Client } from '#shared/wechatpay/v2/client';
import type { UnifiedOrderRequest, V2TradeType } from '#shared/wechatpay/v2/client';
import { notificationReply, parseV2Notification } from '#shared/wechatpay/v2/notification';
import type { SignType } from '#shared/wechatpay/v2/sign';
import { toWechatTime } from '#shared/wechatpay/v2/time';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, Receiver, controlPost, debugOrder, newOutTradeNo, pay, sleep, waitFor } from './support';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

// The product's own v2 client against the simulator, over HTTP: what a merchant written against the
// simulator sends and reads is what it would send to and read from WeChat.

const TIME_SCALE = 1000; // closeorder's 5 minutes: 300 ms
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await Receiver.start();
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE, apiTimeoutHoldMs: 3000 });
});
afterEach(async () => {
  await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

function client(overrides: Partial<ConstructorParameters<typeof WechatPayV2Client>[0]> = {}): WechatPayV2Client {
  return new WechatPayV2Client({
    baseUrl: sim.url,
    appid: MERCHANT.appid,
    mchid: MERCHANT.mchid,
    apiKey: MERCHANT.apiKey,
    timeoutMs: 2000,
    maxAttempts: 3,
    sleep: async () => {}, // retries at once; the backoff itself is the client's own unit tests' business
    ...overrides,
  });
}

function request(tradeType: V2TradeType, overrides: Partial<UnifiedOrderRequest> = {}): UnifiedOrderRequest {
  return {
    body: '沙箱商店-测试商品',
    out_trade_no: newOutTradeNo('I'),
    total_fee: 2500,
    spbill_create_ip: '203.0.113.9',
    notify_url: receiver.url,
    trade_type: tradeType,
    openid: tradeType === 'JSAPI' ? 'oInteropOpenid0001' : undefined,
    product_id: tradeType === 'NATIVE' ? 'sku-1' : undefined,
    scene_info:
      tradeType === 'MWEB'
        ? '{"h5_info":{"type":"Wap","wap_url":"https://shop.example","wap_name":"shop"}}'
        : undefined,
    ...overrides,
  };
}

describe('client ↔ simulator: every trade type and sign type', () => {
  const cases: Array<[V2TradeType, SignType]> = [];
  for (const t of ['JSAPI', 'NATIVE', 'APP', 'MWEB'] as const)
    for (const s of ['MD5', 'HMAC-SHA256'] as const) cases.push([t, s]);

  it.each(cases)('%s with %s: order, query, pay, notification, query again', async (tradeType, signType) => {
    const c = client({ signType });
    // A merchant notify endpoint built from the product's own notification parser.
    receiver.respond = (_i, received) => ({
      body: notificationReply(parseV2Notification(received.raw, MERCHANT.apiKey).ok, 'bad'),
    });
    const req = request(tradeType, { attach: 'interop' });
    const created = await c.unifiedOrder(req);
    expect(created.trade_type).toBe(tradeType);
    expect(created.prepay_id).toMatch(/^wx\d{14}/);
    expect(created.code_url !== undefined).toBe(tradeType === 'NATIVE');
    expect(created.mweb_url !== undefined).toBe(tradeType === 'MWEB');
    expect((await c.unifiedOrder(req)).prepay_id).toBe(created.prepay_id);

    const before = await c.orderQuery({ out_trade_no: req.out_trade_no });
    expect(before).toMatchObject({ found: true, trade_state: 'NOTPAY', out_trade_no: req.out_trade_no });

    await pay(sim.url, req.out_trade_no);
    const [note] = await waitFor(
      () => receiver.for(req.out_trade_no).length > 0 && receiver.for(req.out_trade_no),
      5000,
      'notification',
    );
    const parsed = parseV2Notification(note?.raw ?? '', MERCHANT.apiKey);
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) return;
    expect(parsed.notification).toMatchObject({
      result_code: 'SUCCESS',
      sign_type: signType,
      total_fee: 2500,
      attach: 'interop',
    });
    await waitFor(
      async () => (await debugOrder(sim.url, req.out_trade_no)).order?.notification?.status === 'delivered',
      3000,
    );

    const after = await c.orderQuery({ out_trade_no: req.out_trade_no });
    expect(after).toMatchObject({
      found: true,
      trade_state: 'SUCCESS',
      total_fee: 2500,
      cash_fee: 2500,
      transaction_id: parsed.notification.transaction_id,
      time_end: parsed.notification.time_end,
    });
    const byTransaction = await c.orderQuery({ transaction_id: parsed.notification.transaction_id as string });
    expect(byTransaction).toMatchObject({ found: true, out_trade_no: req.out_trade_no, trade_state: 'SUCCESS' });
  });
});

describe('client ↔ simulator: error classes', () => {
  it('an unknown order is found: false', async () => {
    expect(await client().orderQuery({ out_trade_no: newOutTradeNo('none') })).toMatchObject({
      found: false,
      err_code: 'ORDERNOTEXIST',
    });
  });

  it('SYSTEMERROR is retryable: one SYSTEMERROR, then the client’s retry succeeds', async () => {
    const req = request('APP');
    await controlPost(sim.url, '/sandbox/faults', { api: 'systemerror', out_trade_no: req.out_trade_no, times: 1 });
    const created = await client().unifiedOrder(req);
    expect(created.prepay_id).toBeTruthy();
    const debug = await debugOrder(sim.url, req.out_trade_no);
    expect(debug.requests.map((r) => r.fault ?? 'ok')).toEqual(['systemerror', 'ok']);
  });

  it('SYSTEMERROR that outlasts the retries surfaces as a retryable business error', async () => {
    const req = request('APP');
    await controlPost(sim.url, '/sandbox/faults', { api: 'systemerror', out_trade_no: req.out_trade_no });
    const err = await wechatPayErrorOf(client({ maxAttempts: 2 }).unifiedOrder(req));
    expect(err).toMatchObject({ code: 'SYSTEMERROR', retryable: true, kind: 'business' });
    expect((await debugOrder(sim.url, req.out_trade_no)).requests).toHaveLength(2);
  });

  it('HTTP 500 is a retryable transport error, retried up to maxAttempts', async () => {
    const req = request('APP');
    await controlPost(sim.url, '/sandbox/faults', { api: 'http500', out_trade_no: req.out_trade_no });
    const err = await wechatPayErrorOf(client({ maxAttempts: 3 }).unifiedOrder(req));
    expect(err).toMatchObject({ code: 'HTTP_500', retryable: true, kind: 'transport' });
    expect((await debugOrder(sim.url, req.out_trade_no)).requests).toHaveLength(3);
  });

  it('a timeout is a retryable transport error, and the retry finds the order WeChat did create', async () => {
    const req = request('NATIVE');
    await controlPost(sim.url, '/sandbox/faults', { api: 'timeout', out_trade_no: req.out_trade_no, times: 1 });
    const created = await client({ timeoutMs: 500 }).unifiedOrder(req);
    const debug = await debugOrder(sim.url, req.out_trade_no);
    expect(debug.requests.map((r) => r.fault ?? 'ok')).toEqual(['timeout', 'ok']);
    expect(debug.requests[0]?.response).toContain(created.prepay_id);

    await controlPost(sim.url, '/sandbox/faults', { api: 'timeout', out_trade_no: req.out_trade_no });
    const err = await wechatPayErrorOf(
      client({ timeoutMs: 300, maxAttempts: 1 }).orderQuery({ out_trade_no: req.out_trade_no }),
    );
    expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, kind: 'transport' });
  });

  it('ORDERPAID is final, for unifiedorder and closeorder', async () => {
    const c = client();
    const req = request('APP');
    await c.unifiedOrder(req);
    await pay(sim.url, req.out_trade_no);
    expect(await wechatPayErrorOf(c.unifiedOrder(req))).toMatchObject({
      code: 'ORDERPAID',
      retryable: false,
      kind: 'business',
    });
    await sleep(300 + 50);
    expect(await wechatPayErrorOf(c.closeOrder(req.out_trade_no))).toMatchObject({
      code: 'ORDERPAID',
      retryable: false,
    });
    expect(
      (await debugOrder(sim.url, req.out_trade_no)).requests.filter((r) => r.path === '/pay/closeorder'),
    ).toHaveLength(1);
  });

  it('closeorder: too early is final INVALID_REQUEST; later it closes; close or order again: ORDERCLOSED', async () => {
    const c = client({ signType: 'MD5' });
    const req = request('JSAPI');
    await c.unifiedOrder(req);
    expect(await wechatPayErrorOf(c.closeOrder(req.out_trade_no))).toMatchObject({
      code: 'INVALID_REQUEST',
      retryable: false,
    });
    await sleep(300 + 50);
    await expect(c.closeOrder(req.out_trade_no)).resolves.toBeUndefined();
    expect(await c.orderQuery({ out_trade_no: req.out_trade_no })).toMatchObject({
      found: true,
      trade_state: 'CLOSED',
    });
    expect(await wechatPayErrorOf(c.closeOrder(req.out_trade_no))).toMatchObject({
      code: 'ORDERCLOSED',
      retryable: false,
    });
    expect(await wechatPayErrorOf(c.unifiedOrder(req))).toMatchObject({ code: 'ORDERCLOSED', retryable: false });
  });

  it('OUT_TRADE_NO_USED is final', async () => {
    const c = client();
    const req = request('APP');
    await c.unifiedOrder(req);
    expect(await wechatPayErrorOf(c.unifiedOrder({ ...req, total_fee: 1 }))).toMatchObject({
      code: 'OUT_TRADE_NO_USED',
      retryable: false,
    });
  });

  it('a time_expire the client accepts but WeChat finds too short is a final INVALID_REQUEST', async () => {
    const req = request('APP', { time_expire: toWechatTime(new Date(Date.now() - 5_000)) });
    expect(await wechatPayErrorOf(client().unifiedOrder(req))).toMatchObject({
      code: 'INVALID_REQUEST',
      retryable: false,
    });
  });

  it('a wrong merchant key is a signature error, not retried', async () => {
    const req = request('APP');
    const err = await wechatPayErrorOf(
      client({ apiKey: 'ffffffffffffffffffffffffffffffff', maxAttempts: 3 }).unifiedOrder(req),
    );
    expect(err).toMatchObject({ code: 'SIGNERROR', retryable: false });
    expect((await debugOrder(sim.url, req.out_trade_no)).requests).toHaveLength(1);
    expect(await client().orderQuery({ out_trade_no: req.out_trade_no })).toMatchObject({ found: false });
  });

  it('an appid that is not the merchant’s is APPID_MCHID_NOT_MATCH, final', async () => {
    const err = await wechatPayErrorOf(client({ appid: 'wx0123456789abcdef' }).unifiedOrder(request('APP')));
    expect(err).toMatchObject({ code: 'APPID_MCHID_NOT_MATCH', retryable: false, kind: 'business' });
  });

  it('a mch_id WeChat does not know is a final return_code FAIL', async () => {
    const err = await wechatPayErrorOf(client({ mchid: '1900000109' }).orderQuery({ out_trade_no: 'abc123' }));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('mch_id');
  });
});
