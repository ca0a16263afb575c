import { afterEach, describe, expect, it } from 'vitest';

import { ProviderError, ValidationError } from '#shared/domain/errors';
import type { PaymentRequest } from '#shared/domain/order';
import {
  WechatPayV2Provider,
  toClientParams,
  toTradeReport,
  toUnifiedOrderRequest,
} from '#shared/adapters/wechatpay-v2-provider';
import type { OrderQueryResponse, UnifiedOrderResponse } from '#shared/wechatpay/v2/client';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { signedV2Xml, startCraftedServer } from '#test/helpers/wechatpay-v2';
import { ClosePayment } from '#shared/domain/close-payment';
import { OrderCloser } from '#shared/domain/order-closer';
import { TradeReports } from '#shared/domain/trade-reports';
import { toXml } from '#shared/wechatpay/v2/xml';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { at } from '#test/helpers/order-fixtures';
import { pendingOrder } from '#test/helpers/payment-harness';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { TestClock } from '#test/helpers/test-clock';

const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };
const NOTIFY_URL = 'https://merchant.example.com/notify/pay';
const NOW = new Date('2026-11-25T04:00:00Z');

const request: PaymentRequest = {
  outTradeNo: '000123',
  description: '腾讯充值中心-QQ会员充值',
  amount: { total: 2501, currency: 'CNY' },
  tradeType: 'JSAPI',
  payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  payerClientIp: '123.12.12.123',
  attach: '深圳分店',
  expiresAt: '2026-11-25T04:30:00.000Z',
};

describe('toUnifiedOrderRequest', () => {
  it('maps our request onto WeChat’s fields, expiry in Beijing time', () => {
    expect(toUnifiedOrderRequest(request, NOTIFY_URL)).toEqual({
      body: '腾讯充值中心-QQ会员充值',
      out_trade_no: '000123',
      total_fee: 2501,
      spbill_create_ip: '123.12.12.123',
      notify_url: NOTIFY_URL,
      trade_type: 'JSAPI',
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      attach: '深圳分店',
      time_expire: '20261125123000',
    });
  });

  it('puts h5Info into scene_info as {"h5_info": …}', () => {
    const h5Info = { type: 'Wap', app_name: 'shop', app_url: 'https://m.example.com' };
    const req = toUnifiedOrderRequest({ ...request, tradeType: 'MWEB', payerOpenid: undefined, h5Info }, NOTIFY_URL);
    expect(JSON.parse(req.scene_info ?? '')).toEqual({ h5_info: h5Info });
    expect(req).not.toHaveProperty('openid');
  });

  it('writes scene_info the same whatever the order of h5Info’s keys: a repeated unifiedorder must match', () => {
    const mweb = (h5Info: { type: string; app_name?: string; app_url?: string }) =>
      toUnifiedOrderRequest({ ...request, tradeType: 'MWEB', payerOpenid: undefined, h5Info }, NOTIFY_URL).scene_info;
    expect(mweb({ app_url: 'https://m.example.com', app_name: 'shop', type: 'Wap' })).toBe(
      mweb({ type: 'Wap', app_name: 'shop', app_url: 'https://m.example.com' }),
    );
  });

  it('passes product_id for NATIVE and leaves absent optionals out', () => {
    const { payerOpenid: _o, attach: _a, ...rest } = request;
    const req = toUnifiedOrderRequest({ ...rest, tradeType: 'NATIVE', productId: 'sku-1' }, NOTIFY_URL);
    expect(req.product_id).toBe('sku-1');
    expect(Object.keys(req)).not.toEqual(expect.arrayContaining(['openid']));
    expect(Object.keys(req)).not.toContain('attach');
    expect(Object.keys(req)).not.toContain('scene_info');
  });

  it('refuses an expiry that is not an instant', () => {
    expect(() => toUnifiedOrderRequest({ ...request, expiresAt: 'tomorrow' }, NOTIFY_URL)).toThrow(ValidationError);
  });
});

describe('toClientParams', () => {
  const merchant = { ...MERCHANT, signType: 'HMAC-SHA256' as const };
  const order = (over: Partial<UnifiedOrderResponse>): UnifiedOrderResponse => ({
    prepay_id: 'wx201410272009395522657a690389285100',
    trade_type: 'JSAPI',
    raw: {},
    ...over,
  });

  it('JSAPI: appId, timeStamp, nonceStr, package, signType and a verifiable paySign', () => {
    const client = toClientParams(order({}), merchant, 'nonce1', NOW);
    expect(client).toMatchObject({
      appId: MERCHANT.appid,
      timeStamp: String(NOW.getTime() / 1000),
      nonceStr: 'nonce1',
      package: 'prepay_id=wx201410272009395522657a690389285100',
      signType: 'HMAC-SHA256',
    });
    const { paySign, ...signedFields } = client;
    expect(verifyV2({ ...signedFields, sign: paySign }, MERCHANT.apiKey)).toBe(true);
  });

  it('APP: appid, partnerid, prepayid, package Sign=WXPay, noncestr, timestamp, sign', () => {
    const client = toClientParams(order({ trade_type: 'APP' }), { ...merchant, signType: 'MD5' }, 'nonce1', NOW);
    expect(Object.keys(client).sort()).toEqual([
      'appid',
      'noncestr',
      'package',
      'partnerid',
      'prepayid',
      'sign',
      'timestamp',
    ]);
    expect(client).toMatchObject({
      partnerid: MERCHANT.mchid,
      package: 'Sign=WXPay',
      prepayid: 'wx201410272009395522657a690389285100',
    });
    expect(client.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyV2(client, MERCHANT.apiKey)).toBe(true);
  });

  it('NATIVE: only code_url; MWEB: only mweb_url', () => {
    expect(
      toClientParams(order({ trade_type: 'NATIVE', code_url: 'weixin://wxpay/bizpayurl?pr=x' }), merchant, 'n', NOW),
    ).toEqual({
      code_url: 'weixin://wxpay/bizpayurl?pr=x',
    });
    expect(
      toClientParams(order({ trade_type: 'MWEB', mweb_url: 'https://wx.tenpay.com/x' }), merchant, 'n', NOW),
    ).toEqual({
      mweb_url: 'https://wx.tenpay.com/x',
    });
    expect(() => toClientParams(order({ trade_type: 'NATIVE' }), merchant, 'n', NOW)).toThrow(ProviderError);
  });
});

describe('toTradeReport', () => {
  const base = { appid: MERCHANT.appid, mch_id: MERCHANT.mchid, out_trade_no: '000123', raw: {} };
  const paid: OrderQueryResponse = {
    found: true,
    ...base,
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    transaction_id: '1004400740201409030005092168',
    total_fee: 2501,
    cash_fee: 2401,
    time_end: '20261125120000',
    bank_type: 'CMC',
    openid: 'oPayer',
  };

  it('a paid order carries the payment facts, amount in CNY when fee_type is absent', () => {
    expect(toTradeReport(paid, '000123')).toEqual({
      outTradeNo: '000123',
      state: 'SUCCESS',
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      description: '支付成功',
      amount: { total: 2501, currency: 'CNY' },
      payment: {
        transactionId: '1004400740201409030005092168',
        amountTotal: 2501,
        currency: 'CNY',
        paidAt: '20261125120000',
        bankType: 'CMC',
        payerOpenid: 'oPayer',
      },
    });
  });

  it('a refunded order was paid: it keeps the payment facts', () => {
    expect(toTradeReport({ ...paid, trade_state: 'REFUND' }, '000123')).toMatchObject({
      state: 'REFUND',
      payment: { transactionId: '1004400740201409030005092168' },
    });
  });

  it.each(['NOTPAY', 'CLOSED', 'REVOKED', 'USERPAYING', 'PAYERROR'] as const)(
    '%s maps to itself with no payment facts',
    (state) => {
      const report = toTradeReport({ found: true, ...base, trade_state: state, total_fee: 2501 }, '000123');
      expect(report.state).toBe(state);
      expect(report.payment).toBeUndefined();
      expect(report.amount).toEqual({ total: 2501, currency: 'CNY' });
    },
  );

  it('ACCEPT (awaiting debit) is still in progress', () => {
    expect(toTradeReport({ found: true, ...base, trade_state: 'ACCEPT' }, '000123').state).toBe('USERPAYING');
  });

  it('ORDERNOTEXIST is NOT_FOUND with WeChat’s merchant ids', () => {
    expect(
      toTradeReport(
        {
          found: false,
          err_code: 'ORDERNOTEXIST',
          err_code_des: 'order not exist',
          appid: 'wxA',
          mch_id: '1',
          raw: {},
        },
        '000123',
      ),
    ).toEqual({ outTradeNo: '000123', state: 'NOT_FOUND', appid: 'wxA', mchid: '1', description: 'order not exist' });
  });

  it('refuses a currency we do not hold', () => {
    expect(() => toTradeReport({ ...paid, fee_type: 'USD' }, '000123')).toThrow(ProviderError);
  });
});

describe('WechatPayV2Provider over HTTP', () => {
  let server: CraftedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function signed(req: CraftedRequest, extra: Record<string, string | undefined>): CraftedAnswer {
    const fields = {
      return_code: 'SUCCESS',
      appid: req.fields.appid,
      mch_id: req.fields.mch_id,
      nonce_str: 'x',
      result_code: 'SUCCESS',
      ...extra,
    };
    return { body: signedV2Xml(fields, MERCHANT.apiKey, req.fields.sign_type === 'MD5' ? 'MD5' : 'HMAC-SHA256') };
  }

  async function provider(
    answer: (req: CraftedRequest) => CraftedAnswer,
    signType: 'MD5' | 'HMAC-SHA256' = 'HMAC-SHA256',
  ): Promise<{ provider: WechatPayV2Provider; server: CraftedServer }> {
    server = await startCraftedServer(answer);
    return {
      provider: new WechatPayV2Provider({
        baseUrl: server.url,
        ...MERCHANT,
        signType,
        clock: { now: () => NOW },
        nonce: () => 'fixednonce',
        sleep: async () => {},
      }),
      server,
    };
  }

  it('validate: refuses, without sending, what unifiedorder would refuse; passes what it sends', async () => {
    const { provider: p, server: s } = await provider((req) => signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }));
    expect(() => p.validate({ ...request, payerClientIp: 'fe80::1%eth0' }, NOTIFY_URL)).toThrow(ValidationError);
    expect(() => p.validate({ ...request, payerOpenid: undefined }, NOTIFY_URL)).toThrow(ValidationError);
    expect(() => p.validate(request, `${NOTIFY_URL}?x=1`)).toThrow(ValidationError);
    expect(() => p.validate(request, NOTIFY_URL)).not.toThrow();
    expect(s.requests).toHaveLength(0);
  });

  it('prepay: JSAPI re-signed with the order’s sign type', async () => {
    const { provider: p, server: s } = await provider(
      (req) => signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }),
      'MD5',
    );
    expect(p.apiVersion).toBe('v2');
    const result = await p.prepay(request, NOTIFY_URL);
    expect(s.requests[0]?.fields).toMatchObject({
      sign_type: 'MD5',
      time_expire: '20261125123000',
      notify_url: NOTIFY_URL,
      total_fee: '2501',
    });
    expect(result.prepayId).toBe('wx1');
    expect(result.client).toMatchObject({
      appId: MERCHANT.appid,
      timeStamp: '1795579200',
      nonceStr: 'fixednonce',
      package: 'prepay_id=wx1',
      signType: 'MD5',
    });
    const { paySign, ...rest } = result.client;
    expect(paySign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyV2({ ...rest, sign: paySign }, MERCHANT.apiKey)).toBe(true);
  });

  it('prepay: MWEB sends scene_info and returns mweb_url', async () => {
    const { provider: p, server: s } = await provider((req) =>
      signed(req, { prepay_id: 'wxM', trade_type: 'MWEB', mweb_url: 'https://wx.tenpay.com/m' }),
    );
    const result = await p.prepay(
      {
        ...request,
        tradeType: 'MWEB',
        payerOpenid: undefined,
        h5Info: { type: 'Wap', app_name: 'shop', app_url: 'https://m.example.com' },
      },
      NOTIFY_URL,
    );
    expect(result).toEqual({ prepayId: 'wxM', client: { mweb_url: 'https://wx.tenpay.com/m' } });
    expect(JSON.parse(s.requests[0]?.fields.scene_info ?? '')).toEqual({
      h5_info: { type: 'Wap', app_name: 'shop', app_url: 'https://m.example.com' },
    });
  });

  it('query: a paid order as a TradeReport', async () => {
    const { provider: p } = await provider((req) =>
      signed(req, {
        trade_state: 'SUCCESS',
        out_trade_no: req.fields.out_trade_no,
        transaction_id: '4200000000202611250000000001',
        total_fee: '2501',
        fee_type: 'CNY',
        time_end: '20261125120000',
      }),
    );
    const report = await p.query('000123');
    expect(report).toMatchObject({
      outTradeNo: '000123',
      state: 'SUCCESS',
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      amount: { total: 2501, currency: 'CNY' },
      payment: { transactionId: '4200000000202611250000000001', amountTotal: 2501, paidAt: '20261125120000' },
    });
  });

  it('query: an unknown order is NOT_FOUND, not an error', async () => {
    const { provider: p } = await provider((req) => signed(req, { result_code: 'FAIL', err_code: 'ORDERNOTEXIST' }));
    expect((await p.query('000123')).state).toBe('NOT_FOUND');
  });

  it('close: WeChat’s refusal comes through as a final ProviderError', async () => {
    const { provider: p } = await provider((req) =>
      signed(req, { result_code: 'FAIL', err_code: 'ORDERPAID', err_code_des: '订单已支付' }),
    );
    await expect(p.close('000123')).rejects.toMatchObject({ code: 'ORDERPAID', retryable: false });
  });

  it.each([
    ['an unsigned result_code FAIL ORDERCLOSED', { body: '' }],
    ['an HTTP 500 naming ORDERCLOSED', { status: 500, body: '' }],
    [
      'a return_code FAIL (unsigned by WeChat’s rules)',
      { body: toXml({ return_code: 'FAIL', return_msg: 'ORDERCLOSED' }) },
    ],
  ])('close: %s leaves an open order open', async (_what, answer) => {
    const unsigned = toXml({
      return_code: 'SUCCESS',
      result_code: 'FAIL',
      err_code: 'ORDERCLOSED',
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
    });
    const { provider: p } = await provider(() => ({ ...answer, body: answer.body || unsigned }));
    const store = new InMemoryOrderStore();
    const open = pendingOrder();
    await store.create(open);
    const clock = new TestClock(at(600));
    const observer = new RecordingObserver();
    const reports = new TradeReports({ store, clock, merchant: MERCHANT, observer });
    const closePayment = new ClosePayment({
      store,
      closer: new OrderCloser({ store, provider: p, clock, reports, observer, closeMinAgeSeconds: 300 }),
    });
    const error = await closePayment.execute(open.outTradeNo).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).not.toBe('business');
    expect(await store.get(open.outTradeNo)).toEqual(open);
  });

  it('close: resolves when WeChat closes the order', async () => {
    const { provider: p, server: s } = await provider((req) => signed(req, {}));
    await expect(p.close('000123')).resolves.toBeUndefined();
    expect(s.requests[0]?.path).toBe('/pay/closeorder');
  });
});
