import { createRequire } from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Decorator, Hash, Transformer } from 'wechatpay-axios-plugin';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import {
  LoopbackEndpoint,
  MERCHANT,
  clearFaults,
  delivered,
  newOutTradeNo,
  payOrder,
  setNotifyFault,
  simulatorOrder,
  simulatorRecord,
  sleep,
  startTamperingProxy,
  waitFor,
} from './independent-clients-support';
import type { Relayed } from './independent-clients-support';

// API v2 interop with clients that share no code with ours: tenpay (and, where tenpay stops, the
// wechatpay-axios-plugin's v2 tools) sign the requests, verify the simulator's signed answers and
// notifications, and parse its XML. The simulator signs with shared/wechatpay, so a bug there that
// our own client mirrors would pass our other tests and fail these.

// ---- tenpay has no types: the part of its API these tests use (node_modules/tenpay/lib/index.js) ----

type SignType = 'MD5' | 'HMAC-SHA256';
/** WeChat's XML fields as tenpay hands them back (xml2js, no arrays): strings. */
type TenpayFields = Record<string, string>;
type TenpayParams = Record<string, string>;

interface TenpayConfig {
  appid: string;
  mchid: string;
  partnerKey: string;
  notify_url?: string;
  spbill_create_ip?: string;
}

/** getPayParams: what a JSAPI page or mini program passes to WeixinJSBridge / wx.requestPayment. */
interface TenpayJsapiParams {
  appId: string;
  timeStamp: string;
  nonceStr: string;
  package: string;
  signType: SignType;
  paySign: string;
  timestamp: string;
}

/** getAppParams: what an app passes to the WeChat SDK's PayReq. */
interface TenpayAppParams {
  appid: string;
  partnerid: string;
  prepayid: string;
  package: string;
  noncestr: string;
  timestamp: string;
  sign: string;
}

/** The Koa context tenpay's notification middleware reads and writes. */
interface TenpayKoaContext {
  request: { body: unknown; weixin?: TenpayFields };
  type?: string;
  body?: string;
  reply?: (failure?: string) => void;
}

interface TenpayPayment {
  /** WeChat's endpoint addresses, by API name (tenpay has no base URL option). */
  urls: Record<string, string>;
  unifiedOrder(params: TenpayParams): Promise<TenpayFields>;
  orderQuery(params: TenpayParams): Promise<TenpayFields>;
  closeOrder(params: TenpayParams): Promise<TenpayFields>;
  getPayParams(params: TenpayParams): Promise<TenpayJsapiParams>;
  getAppParams(params: TenpayParams): Promise<TenpayAppParams>;
  middleware(type: 'pay'): (ctx: TenpayKoaContext, next: () => Promise<void>) => Promise<void>;
}

type TenpayConstructor = new (config: TenpayConfig, debug?: boolean) => TenpayPayment;
const Tenpay = createRequire(import.meta.url)('tenpay') as TenpayConstructor;

const WECHAT_ORIGIN = 'https://api.mch.weixin.qq.com';

/** tenpay for MERCHANT, its WeChat addresses rewritten to `baseUrl` (the simulator, or a proxy in front of it). */
function tenpayAt(baseUrl: string, overrides: Partial<TenpayConfig> = {}): TenpayPayment {
  const api = new Tenpay({
    appid: MERCHANT.appid,
    mchid: MERCHANT.mchid,
    partnerKey: MERCHANT.apiKey,
    notify_url: notifyUrl,
    spbill_create_ip: '203.0.113.9',
    ...overrides,
  });
  api.urls = Object.fromEntries(
    Object.entries(api.urls).map(([name, url]) => [name, url.replace(WECHAT_ORIGIN, baseUrl)]),
  );
  return api;
}

// ---- The simulator, tenpay, and a notify endpoint run by tenpay's Koa middleware ----

const TIME_SCALE = 1000; // closeorder's 5 minutes: 300 ms; notification retries: 15 ms, 15 ms, 30 ms, ...
const CLOSE_MINIMUM_MS = (5 * 60_000) / TIME_SCALE;
const OPENID = 'oIndependentTenpay0001';

interface TenpayNotification {
  raw: string;
  /** What tenpay's middleware made of it; undefined when it refused the notification. */
  weixin: TenpayFields | undefined;
  /** tenpay's own reply XML, sent back to the simulator as is. */
  reply: string;
}

let sim: RunningSimulator;
let api: TenpayPayment;
let endpoint: LoopbackEndpoint;
let notifyUrl = '';
const notifications: TenpayNotification[] = [];

beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE });
  // The merchant's notify handler: tenpay's middleware verifies and parses; the handler then
  // replies success through tenpay's ctx.reply(). A refused notification gets tenpay's FAIL reply.
  endpoint = await LoopbackEndpoint.start(async ({ body }) => {
    const ctx: TenpayKoaContext = { request: { body } };
    await api.middleware('pay')(ctx, async () => ctx.reply?.());
    notifications.push({ raw: body, weixin: ctx.request.weixin, reply: ctx.body ?? '' });
    return { status: 200, headers: { 'content-type': ctx.type ?? 'text/plain' }, body: ctx.body ?? '' };
  });
  notifyUrl = `${endpoint.url}/notify/pay`;
  api = tenpayAt(sim.url);
});
afterEach(async () => {
  await clearFaults(sim.url);
});
afterAll(async () => {
  await sim.close();
  await endpoint.close();
});

const goods = (overrides: TenpayParams = {}): TenpayParams => ({
  out_trade_no: newOutTradeNo('TP'),
  body: '沙箱商店-测试商品',
  total_fee: '1999',
  ...overrides,
});
const nativeOrder = (overrides: TenpayParams = {}): TenpayParams =>
  goods({ trade_type: 'NATIVE', product_id: 'sku-42', ...overrides });
const simOrder = (outTradeNo: string) => simulatorOrder(sim.url, outTradeNo);
/** Whether the simulator made an order (a refused request may still be journaled under its out_trade_no). */
const orderExists = async (outTradeNo: string) =>
  ((await simulatorRecord(sim.url, outTradeNo))?.order ?? null) !== null;
const pay = (outTradeNo: string) => payOrder(sim.url, outTradeNo, 'SUCCESS', OPENID);
/** Read with the plugin's XML parser, so that a notification tenpay refused can still be told apart. */
const notificationsFor = (outTradeNo: string) =>
  notifications.filter((n) => (Transformer.toObject(n.raw) as Record<string, string>).out_trade_no === outTradeNo);
const signLength: Record<SignType, number> = { MD5: 32, 'HMAC-SHA256': 64 };
const SIGN_TYPES: SignType[] = ['MD5', 'HMAC-SHA256'];

describe('tenpay against the simulator: requests signed by tenpay, answers verified by tenpay', () => {
  it.each(SIGN_TYPES)('NATIVE unifiedorder (%s): a signed answer with prepay_id and code_url', async (signType) => {
    const params = nativeOrder({ sign_type: signType });
    const answer = await api.unifiedOrder(params);

    expect(answer.result_code).toBe('SUCCESS');
    expect(answer.trade_type).toBe('NATIVE');
    expect(answer.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
    expect(answer.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);
    expect(answer.appid).toBe(MERCHANT.appid);
    // Signed in the request's sign type, and tenpay checked it under that type (it throws otherwise).
    expect(answer.sign).toHaveLength(signLength[signType]);
    const order = await simOrder(params.out_trade_no as string);
    expect(order).toMatchObject({ trade_state: 'NOTPAY', trade_type: 'NATIVE', total_fee: 1999, sign_type: signType });
    expect(order.prepay_id).toBe(answer.prepay_id);
  });

  it.each(SIGN_TYPES)(
    'JSAPI getPayParams (%s): orders with the openid; paySign recomputed independently',
    async (t) => {
      const params = goods({ openid: OPENID, sign_type: t });
      const outTradeNo = params.out_trade_no as string;
      const jsapi = await api.getPayParams(params);

      const order = await simOrder(outTradeNo);
      expect(order).toMatchObject({ trade_type: 'JSAPI', openid: OPENID, sign_type: t, trade_state: 'NOTPAY' });
      expect(jsapi.package).toBe(`prepay_id=${String(order.prepay_id)}`);
      expect(jsapi).toMatchObject({ appId: MERCHANT.appid, signType: t });
      expect(jsapi.timeStamp).toMatch(/^\d{10}$/);
      // The simulator does not check paySign (its payer is the control API): the plugin's Hash recomputes it
      // over WeChat's five JSAPI fields. tenpay's extra `timestamp` copy is not part of the signature.
      const { appId, timeStamp, nonceStr, signType } = jsapi;
      const expected = Hash.sign(t, { appId, timeStamp, nonceStr, package: jsapi.package, signType }, MERCHANT.apiKey);
      expect(jsapi.paySign).toBe(expected);
      expect(jsapi.paySign).toHaveLength(signLength[t]);
    },
  );

  it('JSAPI without an openid: the simulator answers LACK_PARAMS, and tenpay rejects with that err_code', async () => {
    const params = goods({ trade_type: 'JSAPI' });
    await expect(api.unifiedOrder(params)).rejects.toThrow(/^LACK_PARAMS$/);
    expect(await orderExists(params.out_trade_no as string)).toBe(false);
  });

  it('APP getAppParams: an APP order, and the app-side sign recomputed independently', async () => {
    const params = goods();
    const app = await api.getAppParams(params);

    const order = await simOrder(params.out_trade_no as string);
    expect(order).toMatchObject({ trade_type: 'APP', trade_state: 'NOTPAY' });
    expect(app).toMatchObject({
      appid: MERCHANT.appid,
      partnerid: MERCHANT.mchid,
      prepayid: order.prepay_id,
      package: 'Sign=WXPay',
    });
    const { sign, ...signed } = app;
    expect(sign).toBe(Hash.sign('MD5', signed, MERCHANT.apiKey));
  });

  it('orderquery: NOTPAY, then SUCCESS with the payment, by out_trade_no and by transaction_id', async () => {
    const params = nativeOrder();
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);
    expect(await api.orderQuery({ out_trade_no: outTradeNo })).toMatchObject({
      trade_state: 'NOTPAY',
      out_trade_no: outTradeNo,
      total_fee: '1999',
    });

    expect((await pay(outTradeNo)).status).toBe(200);
    const paid = await api.orderQuery({ out_trade_no: outTradeNo, sign_type: 'HMAC-SHA256' });
    expect(paid).toMatchObject({
      trade_state: 'SUCCESS',
      out_trade_no: outTradeNo,
      trade_type: 'NATIVE',
      total_fee: '1999',
      cash_fee: '1999',
      fee_type: 'CNY',
      openid: OPENID,
    });
    expect(paid.sign).toHaveLength(64);
    expect(paid.transaction_id).toMatch(/^42000\d{23}$/);
    expect(paid.time_end).toMatch(/^\d{14}$/);

    const byTransaction = await api.orderQuery({ transaction_id: paid.transaction_id as string });
    expect(byTransaction).toMatchObject({ trade_state: 'SUCCESS', out_trade_no: outTradeNo });
    expect(byTransaction.sign).toHaveLength(32);
  });

  it('orderquery of an unknown order: tenpay rejects with ORDERNOTEXIST', async () => {
    await expect(api.orderQuery({ out_trade_no: newOutTradeNo('none') })).rejects.toThrow(/^ORDERNOTEXIST$/);
  });

  it.each(SIGN_TYPES)('closeorder (%s): INVALID_REQUEST within 5 minutes (scaled), closed after', async (signType) => {
    const params = nativeOrder();
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);

    await expect(api.closeOrder({ out_trade_no: outTradeNo, sign_type: signType })).rejects.toThrow(
      /^INVALID_REQUEST$/,
    );
    expect((await api.orderQuery({ out_trade_no: outTradeNo })).trade_state).toBe('NOTPAY');

    await sleep(CLOSE_MINIMUM_MS + 50);
    const closed = await api.closeOrder({ out_trade_no: outTradeNo, sign_type: signType });
    expect(closed).toMatchObject({ return_code: 'SUCCESS', result_code: 'SUCCESS' });
    expect(closed.sign).toHaveLength(signLength[signType]);
    expect((await api.orderQuery({ out_trade_no: outTradeNo })).trade_state).toBe('CLOSED');
    await expect(api.closeOrder({ out_trade_no: outTradeNo })).rejects.toThrow(/^ORDERCLOSED$/);
    await expect(api.unifiedOrder(params)).rejects.toThrow(/^ORDERCLOSED$/);
  });

  it('closeorder of a paid order: tenpay rejects with ORDERPAID, and the order stays SUCCESS', async () => {
    const params = nativeOrder();
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);
    await pay(outTradeNo);
    await sleep(CLOSE_MINIMUM_MS + 50);
    await expect(api.closeOrder({ out_trade_no: outTradeNo })).rejects.toThrow(/^ORDERPAID$/);
    expect((await api.orderQuery({ out_trade_no: outTradeNo })).trade_state).toBe('SUCCESS');
  });
});

describe('each side refuses what it cannot verify', () => {
  it('tenpay signing with another key: the simulator refuses (签名错误), and no order is made', async () => {
    const impostor = tenpayAt(sim.url, { partnerKey: 'ffffffffffffffffffffffffffffffff' });
    const params = nativeOrder();
    await expect(impostor.unifiedOrder(params)).rejects.toThrow(/签名错误/);
    await expect(impostor.unifiedOrder({ ...params, sign_type: 'HMAC-SHA256' })).rejects.toThrow(/签名错误/);
    expect(await orderExists(params.out_trade_no as string)).toBe(false);
  });

  it.each(SIGN_TYPES)('an answer altered on the way (%s) is refused by tenpay; unaltered, it passes', async (t) => {
    // A forged prepay_id, and an unpaid order made to read as paid: the sign stays the simulator's.
    const forge = (answer: Relayed): Relayed => ({
      ...answer,
      body: answer.body
        .replace(/(<prepay_id>(?:<!\[CDATA\[)?wx)/, '$1999')
        .replace(/(<trade_state>(?:<!\[CDATA\[)?)NOTPAY/, '$1SUCCESS'),
    });
    const honest = await startTamperingProxy(sim.url, (answer) => answer);
    const forger = await startTamperingProxy(sim.url, forge);
    try {
      const params = nativeOrder({ sign_type: t });
      const outTradeNo = params.out_trade_no as string;
      await expect(tenpayAt(forger.url).unifiedOrder(params)).rejects.toThrow(/^sign签名错误$/);
      // The same request again (idempotent) through the honest proxy: accepted, so the proxy is not the cause.
      expect((await tenpayAt(honest.url).unifiedOrder(params)).prepay_id).toBe((await simOrder(outTradeNo)).prepay_id);

      const query = { out_trade_no: outTradeNo, sign_type: t };
      await expect(tenpayAt(forger.url).orderQuery(query)).rejects.toThrow(/^sign签名错误$/);
      expect((await tenpayAt(honest.url).orderQuery(query)).trade_state).toBe('NOTPAY');
      expect(forger.tampered).toBe(2);
      expect(honest.tampered).toBe(0);
    } finally {
      await honest.close();
      await forger.close();
    }
  });
});

describe("notifications through tenpay's Koa middleware", () => {
  it('a paid order: verified and parsed by tenpay; its SUCCESS reply is acknowledged by the simulator', async () => {
    const params = nativeOrder({ attach: 'cart=7' });
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);
    await pay(outTradeNo);
    await delivered(sim.url, outTradeNo);

    const [received, ...more] = notificationsFor(outTradeNo);
    expect(more).toHaveLength(0);
    const queried = await api.orderQuery({ out_trade_no: outTradeNo });
    expect(received?.weixin).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      out_trade_no: outTradeNo,
      transaction_id: queried.transaction_id,
      time_end: queried.time_end,
      total_fee: '1999',
      cash_fee: '1999',
      fee_type: 'CNY',
      trade_type: 'NATIVE',
      openid: OPENID,
      attach: 'cart=7',
    });
    expect(received?.weixin?.sign).toHaveLength(32);
    expect(received?.reply).toMatch(/<return_code>(<!\[CDATA\[)?SUCCESS/);
  });

  it('a corrupted sign: tenpay refuses it (a failed attempt); after the fault clears, a retry passes', async () => {
    const params = nativeOrder();
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);
    await setNotifyFault(sim.url, outTradeNo, 'corrupt_sign');
    await pay(outTradeNo);

    await waitFor(() => notificationsFor(outTradeNo).length > 0, 'a first attempt');
    await clearFaults(sim.url);
    await delivered(sim.url, outTradeNo);

    const seen = notificationsFor(outTradeNo);
    const refused = seen.filter((n) => n.weixin === undefined);
    expect(refused.length).toBeGreaterThan(0);
    for (const n of refused) expect(n.reply).toMatch(/<return_code>(<!\[CDATA\[)?FAIL[\s\S]*sign签名错误/);
    expect(seen.at(-1)?.weixin?.out_trade_no).toBe(outTradeNo);
    const journal = (await simulatorRecord(sim.url, outTradeNo))?.notifications ?? [];
    expect(journal.filter((e) => e.outcome === 'failed')).toHaveLength(refused.length);
    expect(journal.at(-1)?.outcome).toBe('delivered');
  });

  it('an HMAC-SHA256 order: its notification carries no sign_type, so MD5-only tenpay refuses it', async () => {
    // tenpay's middleware checks every notification as MD5 (it has only the absent sign_type to go by);
    // WeChat signs an HMAC-SHA256 order's notification with HMAC-SHA256 and sends no sign_type (reported
    // by merchants: binarywang/WxJava#1585). A tenpay limitation, not the simulator's: the plugin's
    // Hash verifies the same notification as HMAC-SHA256.
    const params = nativeOrder({ sign_type: 'HMAC-SHA256' });
    const outTradeNo = params.out_trade_no as string;
    await api.unifiedOrder(params);
    await pay(outTradeNo);
    const [first] = await waitFor(() => {
      const seen = notificationsFor(outTradeNo);
      return seen.length > 0 && seen;
    }, 'a first attempt');

    expect(first?.weixin).toBeUndefined();
    expect(first?.reply).toMatch(/sign签名错误/);
    const fields = Transformer.toObject(first?.raw ?? '') as Record<string, string>;
    expect(fields.sign_type).toBeUndefined();
    expect(fields.sign).toHaveLength(64);
    expect(fields.sign).toBe(Hash.sign('HMAC-SHA256', fields, MERCHANT.apiKey));
    expect(fields.sign).not.toBe(Hash.sign('HMAC-SHA256', { ...fields, total_fee: '1998' }, MERCHANT.apiKey));
    expect(fields).toMatchObject({ out_trade_no: outTradeNo, result_code: 'SUCCESS', total_fee: '1999' });
  });
});

describe("wechatpay-axios-plugin's v2 client, a second independent v2 client", () => {
  it('HMAC-SHA256 unifiedorder and orderquery verified by the plugin; a forged answer is refused', async () => {
    const v2 = Decorator.xmlBased({ mchid: MERCHANT.mchid, secret: MERCHANT.apiKey });
    v2.defaults.baseURL = `${sim.url}/`;
    const outTradeNo = newOutTradeNo('AX');
    const order = {
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      sign_type: 'HMAC-SHA256',
      body: 'plugin v2',
      out_trade_no: outTradeNo,
      total_fee: '1',
      spbill_create_ip: '203.0.113.9',
      notify_url: notifyUrl,
      trade_type: 'NATIVE',
      product_id: 'sku-1',
    };
    const created = await v2.post<Record<string, string>>('pay/unifiedorder', order);
    expect(created.data).toMatchObject({ result_code: 'SUCCESS', trade_type: 'NATIVE' });
    expect(created.data.sign).toHaveLength(64);
    expect(created.data.prepay_id).toBe((await simOrder(outTradeNo)).prepay_id);

    const query = { appid: MERCHANT.appid, mch_id: MERCHANT.mchid, out_trade_no: outTradeNo };
    const queried = await v2.post<Record<string, string>>('pay/orderquery', query);
    expect(queried.data).toMatchObject({ trade_state: 'NOTPAY', total_fee: '1' });

    const forger = await startTamperingProxy(sim.url, (answer) => ({
      ...answer,
      body: answer.body.replace(/(<trade_state>(?:<!\[CDATA\[)?)NOTPAY/, '$1SUCCESS'),
    }));
    try {
      const forged = v2.post('pay/orderquery', query, { baseURL: `${forger.url}/` });
      await expect(forged).rejects.toMatchObject({ code: 'EV2_RES_SIGNATURE_NOT_EQUAL' });
      expect(forger.tampered).toBe(1);
    } finally {
      await forger.close();
    }
  });
});
