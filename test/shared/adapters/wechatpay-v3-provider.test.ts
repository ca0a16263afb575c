import { afterEach, describe, expect, it } from 'vitest';
import { isReportProblem, transactionToReport, WechatPayV3Provider } from '#shared/adapters/wechatpay-v3-provider';
import { ProviderError, ValidationError } from '#shared/domain/errors';
import type { PaymentRequest } from '#shared/domain/order';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { AppClientParams, JsapiClientParams } from '#shared/wechatpay/v3/client-params';
import { verifyAppClientParams, verifyJsapiClientParams } from '#shared/wechatpay/v3/testing/wechat-checks';
import { transactionSchema } from '#shared/wechatpay/v3/responses';
import {
  TEST_APIV3_KEY,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  fixedClock,
  paidTransaction,
  startWechatV3StandIn,
} from '#test/helpers/wechatpay-v3';
import type { StandIn, StandInAnswer, StandInRequest } from '#test/helpers/wechatpay-v3';
import { ClosePayment } from '#shared/domain/close-payment';
import { OrderCloser } from '#shared/domain/order-closer';
import { TradeReports } from '#shared/domain/trade-reports';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { at } from '#test/helpers/order-fixtures';
import { pendingOrder } from '#test/helpers/payment-harness';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { TestClock } from '#test/helpers/test-clock';

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const clock = fixedClock('2024-06-01T04:00:00Z');
const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function provider(handler: (r: StandInRequest) => StandInAnswer) {
  const standIn = await startWechatV3StandIn({ merchant, signer: asPublicKeySigner(platform), handler, clock });
  standIns.push(standIn);
  const client = new WechatPayV3Client({
    baseUrl: standIn.baseUrl,
    mchid: merchant.mchid,
    appid: merchant.appid,
    privateKey: merchant.privateKeyPem,
    certSerial: merchant.serial,
    apiV3Key: TEST_APIV3_KEY,
    publicKey: platform.publicKeyPem,
    publicKeyId: platform.publicKeyId,
    clock,
    sleep: async () => {},
  });
  return { provider: new WechatPayV3Provider(client), standIn };
}

const request: PaymentRequest = {
  outTradeNo: '0020240601001',
  description: 'Coffee',
  amount: { total: 1999, currency: 'CNY' },
  tradeType: 'NATIVE',
  payerClientIp: '203.0.113.7',
  expiresAt: '2024-06-01T06:00:00.000Z',
};
const notifyUrl = 'https://notify.example.com/notify/pay';

describe('WechatPayV3Provider.prepay', () => {
  it('is the v3 provider', async () => {
    expect((await provider(() => ({ status: 204 }))).provider.apiVersion).toBe('v3');
  });

  it('JSAPI → prepay_id and re-signed JSAPI params', async () => {
    const { provider: p, standIn } = await provider(() => ({ status: 200, body: { prepay_id: 'wx-jsapi-1' } }));
    const result = await p.prepay({ ...request, tradeType: 'JSAPI', payerOpenid: 'openid-1', attach: 'a' }, notifyUrl);
    expect(result.prepayId).toBe('wx-jsapi-1');
    expect(result.client).toMatchObject({ appId: merchant.appid, package: 'prepay_id=wx-jsapi-1', signType: 'RSA' });
    expect(verifyJsapiClientParams(result.client as JsapiClientParams, merchant.publicKey)).toBe(true);
    expect(standIn.requests[0]?.json).toMatchObject({
      out_trade_no: '0020240601001',
      notify_url: notifyUrl,
      time_expire: '2024-06-01T14:00:00+08:00',
      attach: 'a',
      amount: { total: 1999, currency: 'CNY' },
      payer: { openid: 'openid-1' },
    });
  });

  it('JSAPI without an openid is refused before calling WeChat', async () => {
    const { provider: p, standIn } = await provider(() => ({ status: 200, body: { prepay_id: 'x' } }));
    await expect(p.prepay({ ...request, tradeType: 'JSAPI' }, notifyUrl)).rejects.toThrow(ValidationError);
    expect(standIn.requests).toHaveLength(0);
  });

  it('APP → prepay_id and re-signed OpenSDK params', async () => {
    const { provider: p } = await provider(() => ({ status: 200, body: { prepay_id: 'wx-app-1' } }));
    const result = await p.prepay({ ...request, tradeType: 'APP' }, notifyUrl);
    expect(result.prepayId).toBe('wx-app-1');
    expect(Object.keys(result.client).sort()).toEqual([
      'appid',
      'noncestr',
      'package',
      'partnerid',
      'prepayid',
      'sign',
      'timestamp',
    ]);
    expect(verifyAppClientParams(result.client as AppClientParams, merchant.publicKey)).toBe(true);
  });

  it('NATIVE → code_url, which is also the prepay reference', async () => {
    const { provider: p, standIn } = await provider(() => ({
      status: 200,
      body: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' },
    }));
    const result = await p.prepay({ ...request, productId: 'SKU-1' }, notifyUrl);
    expect(result).toEqual({
      prepayId: 'weixin://wxpay/bizpayurl?pr=abc',
      client: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' },
    });
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/native');
    expect(JSON.stringify(standIn.requests[0]?.json)).not.toContain('product_id');
  });

  it('MWEB → h5 prepay; mweb_url for the client; h5_info defaults to Wap', async () => {
    const url = 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wx2&package=1';
    const { provider: p, standIn } = await provider(() => ({ status: 200, body: { h5_url: url } }));
    const result = await p.prepay({ ...request, tradeType: 'MWEB' }, notifyUrl);
    expect(result).toEqual({ prepayId: url, client: { mweb_url: url } });
    expect(standIn.requests[0]?.path).toBe('/v3/pay/transactions/h5');
    expect((standIn.requests[0]?.json as { scene_info: unknown }).scene_info).toEqual({
      payer_client_ip: '203.0.113.7',
      h5_info: { type: 'Wap' },
    });
    await p.prepay(
      {
        ...request,
        tradeType: 'MWEB',
        h5Info: { type: 'Android', app_name: 'Shop', package_name: 'com.example.shop' },
      },
      notifyUrl,
    );
    expect((standIn.requests[1]?.json as { scene_info: { h5_info: unknown } }).scene_info.h5_info).toEqual({
      type: 'Android',
      app_name: 'Shop',
      package_name: 'com.example.shop',
    });
  });
});

describe('WechatPayV3Provider.validate', () => {
  it('refuses, without sending, what the prepay would refuse; passes what it sends', async () => {
    const { provider: p, standIn } = await provider(() => ({ status: 200, body: { code_url: 'weixin://x' } }));
    expect(() => p.validate({ ...request, payerClientIp: 'fe80::1%eth0' }, notifyUrl)).toThrow(ValidationError);
    expect(() => p.validate({ ...request, tradeType: 'JSAPI' }, notifyUrl)).toThrow(ValidationError);
    expect(() => p.validate(request, 'ftp://notify.example.com/x')).toThrow(ValidationError);
    expect(() => p.validate(request, notifyUrl)).not.toThrow();
    expect(standIn.requests).toHaveLength(0);
    await expect(p.prepay({ ...request, payerClientIp: 'fe80::1%eth0' }, notifyUrl)).rejects.toThrow(ValidationError);
    expect(standIn.requests).toHaveLength(0);
  });
});

describe('WechatPayV3Provider.query', () => {
  it('SUCCESS → report with amount and payment facts (amount.total even if a coupon cut payer_total)', async () => {
    const { provider: p } = await provider(() => ({
      status: 200,
      body: paidTransaction({
        out_trade_no: '0020240601001',
        amount: { total: 1999, payer_total: 1899, currency: 'CNY' },
      }),
    }));
    await expect(p.query('0020240601001')).resolves.toEqual({
      outTradeNo: '0020240601001',
      state: 'SUCCESS',
      appid: 'wx8888888888888888',
      mchid: '1900000109',
      description: '支付成功',
      amount: { total: 1999, currency: 'CNY' },
      payment: {
        transactionId: '4200001234202401011234567890',
        amountTotal: 1999,
        currency: 'CNY',
        paidAt: '2024-01-01T12:00:30+08:00',
        bankType: 'OTHERS',
        payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      },
    });
  });

  it('NOTPAY → no payment facts', async () => {
    const { provider: p } = await provider(() => ({
      status: 200,
      body: {
        appid: 'wxA',
        mchid: '1900000109',
        out_trade_no: '0020240601001',
        trade_state: 'NOTPAY',
        trade_state_desc: '订单未支付',
        amount: { total: 1999, currency: 'CNY' },
      },
    }));
    const report = await p.query('0020240601001');
    expect(report).toMatchObject({ state: 'NOTPAY', appid: 'wxA', amount: { total: 1999, currency: 'CNY' } });
    expect(report.payment).toBeUndefined();
  });

  it('404 ORDER_NOT_EXIST → state NOT_FOUND, not an error', async () => {
    const { provider: p } = await provider(() => ({
      status: 404,
      body: { code: 'ORDER_NOT_EXIST', message: '订单不存在' },
    }));
    await expect(p.query('0020240601001')).resolves.toMatchObject({
      outTradeNo: '0020240601001',
      state: 'NOT_FOUND',
      appid: merchant.appid,
      mchid: merchant.mchid,
    });
  });

  it('refuses what cannot be reported: another currency, SUCCESS without a transaction_id', async () => {
    for (const [body, code] of [
      [
        paidTransaction({ out_trade_no: '0020240601001', amount: { total: 1999, currency: 'USD' } }),
        'UNSUPPORTED_CURRENCY',
      ],
      [paidTransaction({ out_trade_no: '0020240601001', transaction_id: undefined }), 'INCOMPLETE_PAYMENT'],
    ] as const) {
      const { provider: p } = await provider(() => ({ status: 200, body }));
      const error = await p.query('0020240601001').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ProviderError);
      expect((error as ProviderError).code).toBe(code);
    }
  });
});

describe('WechatPayV3Provider.close', () => {
  it('closes, and passes WeChat refusals on in the domain vocabulary', async () => {
    const answers: StandInAnswer[] = [
      { status: 204 },
      { status: 400, body: { code: 'ORDERPAID', message: '订单已支付' } },
      { status: 400, body: { code: 'ORDER_CLOSED', message: '订单已关闭' } },
    ];
    const { provider: p } = await provider(() => answers.shift() ?? { status: 500 });
    await expect(p.close('0020240601001')).resolves.toBeUndefined();
    await expect(p.close('0020240601001')).rejects.toMatchObject({ code: 'ORDERPAID', retryable: false });
    await expect(p.close('0020240601001')).rejects.toMatchObject({ code: 'ORDERCLOSED', retryable: false });
  });
});

describe('transactionToReport', () => {
  const parse = (t: Record<string, unknown>) => transactionSchema.parse(t);

  it.each([
    ['SUCCESS', 'SUCCESS'],
    ['REFUND', 'REFUND'],
    ['NOTPAY', 'NOTPAY'],
    ['CLOSED', 'CLOSED'],
    ['REVOKED', 'REVOKED'],
    ['USERPAYING', 'USERPAYING'],
    ['PAYERROR', 'PAYERROR'],
    ['ACCEPT', 'USERPAYING'],
  ])('trade_state %s → %s', (v3, domain) => {
    const report = transactionToReport(parse(paidTransaction({ trade_state: v3 })));
    expect(isReportProblem(report) ? report.code : report.state).toBe(domain);
  });

  it('an absent currency is CNY; REFUND keeps the payment facts', () => {
    const report = transactionToReport(parse(paidTransaction({ trade_state: 'REFUND', amount: { total: 5 } })));
    expect(report).toMatchObject({
      amount: { total: 5, currency: 'CNY' },
      payment: { amountTotal: 5, currency: 'CNY' },
    });
  });

  it('an unknown trade_state or a fractional amount does not parse', () => {
    expect(transactionSchema.safeParse(paidTransaction({ trade_state: 'PAID' })).success).toBe(false);
    expect(transactionSchema.safeParse(paidTransaction({ amount: { total: 19.99 } })).success).toBe(false);
  });
});

describe('only WeChat’s signed word moves an order', () => {
  it('three unsigned HTTP 500 {"code":"ORDER_CLOSED"} answers leave an open order open', async () => {
    const { provider: p, standIn } = await provider(() => ({
      status: 500,
      body: { code: 'ORDER_CLOSED', message: '订单已关闭' },
      signer: null,
    }));
    const store = new InMemoryOrderStore();
    const open = pendingOrder();
    await store.create(open);
    const testClock = new TestClock(at(600));
    const observer = new RecordingObserver();
    const reports = new TradeReports({ store, clock: testClock, merchant, observer });
    const closePayment = new ClosePayment({
      store,
      closer: new OrderCloser({ store, provider: p, clock: testClock, reports, observer, closeMinAgeSeconds: 300 }),
    });

    const error = await closePayment.execute(open.outTradeNo).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'HTTP_500', kind: 'transport', retryable: true });
    expect(standIn.requests).toHaveLength(3);
    expect(await store.get(open.outTradeNo)).toEqual(open);
  });
});
