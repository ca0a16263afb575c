import { createPublicKey } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { type AppClientParams, type JsapiClientParams } from '#shared/wechatpay/v3/client-params';
import { verifyAppClientParams, verifyJsapiClientParams } from '#shared/wechatpay/v3/testing/wechat-checks';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { startTestStack, type TestStack } from '../helpers/local-stack';
import { waitFor } from '../helpers/wait-for';

/**
 * The main path end to end over HTTP: our gateway → orders/notify handlers → DynamoDB Local, and the
 * simulator acting as WeChat Pay and as the payer.
 */
const TIME_SCALE = 300;

let seq = 0;

function outTradeNo(): string {
  seq += 1;
  return `E2E${Date.now()}${String(seq).padStart(4, '0')}`;
}

function orderBody(tradeType: 'APP' | 'JSAPI' | 'NATIVE' | 'MWEB', no = outTradeNo(), total = 101) {
  return {
    out_trade_no: no,
    description: `test ${tradeType}`,
    amount: { total },
    trade_type: tradeType,
    scene_info: {
      payer_client_ip: '203.0.113.9',
      ...(tradeType === 'MWEB'
        ? { h5_info: { type: 'Wap', app_name: 'shop', app_url: 'https://shop.example.com' } }
        : {}),
    },
    ...(tradeType === 'JSAPI' ? { payer: { openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' } } : {}),
    ...(tradeType === 'NATIVE' ? { product_id: 'sku1' } : {}),
  };
}

let stack: TestStack;

async function simulator(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${stack.simulatorUrl}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function statusOf(no: string): Promise<string> {
  const { json } = await stack.api('GET', `/orders/${no}`);
  return String(json.status);
}

describe.each(['v2', 'v3'] as const)('payment flow (%s)', (apiVersion) => {
  beforeAll(async () => {
    stack = await startTestStack({
      timeScale: TIME_SCALE,
      env: {
        WECHATPAY_API_VERSION: apiVersion,
        CLOSE_MIN_AGE_SECONDS: String(300 / TIME_SCALE),
        RECONCILE_SCHEDULE: '3600',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  /** The client params are signed with the merchant's key: v2 the API key, v3 the RSA key. */
  function clientSignatureValid(tradeType: 'APP' | 'JSAPI', client: Record<string, string>): boolean {
    if (apiVersion === 'v3') {
      const merchantKey = createPublicKey(stack.settings.WECHATPAY_PRIVATE_KEY ?? '');
      return tradeType === 'APP'
        ? verifyAppClientParams(client as unknown as AppClientParams, merchantKey)
        : verifyJsapiClientParams(client as unknown as JsapiClientParams, merchantKey);
    }
    if (tradeType === 'APP') return verifyV2(client, SANDBOX_MERCHANT.apiKey);
    const { paySign, ...signed } = client;
    return verifyV2({ ...signed, sign: paySign }, SANDBOX_MERCHANT.apiKey);
  }

  it('refuses an IP WeChat’s validator refuses (400), leaving its out_trade_no free for a good one', async () => {
    const no = outTradeNo();
    const zoned = { ...orderBody('NATIVE', no), scene_info: { payer_client_ip: 'fe80::1%eth0' } };
    const refused = await stack.api('POST', '/orders', zoned);
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { field: 'scene_info.payer_client_ip' } });
    expect(await stack.store.get(no)).toBeUndefined();
    const created = await stack.api('POST', '/orders', orderBody('NATIVE', no));
    expect(created.status).toBe(201);
    expect(created.json).toMatchObject({ out_trade_no: no, status: 'PENDING' });
  });

  it('refuses a time_expire beyond WeChat’s seven days with a 400 that says so', async () => {
    const late = new Date(Date.now() + 7 * 24 * 3600 * 1000 + 60_000).toISOString();
    const refused = await stack.api('POST', '/orders', { ...orderBody('NATIVE'), time_expire: late });
    expect(refused.status).toBe(400);
    expect(refused.json).toMatchObject({ error: { field: 'time_expire', message: expect.stringContaining('7 days') } });
  });

  it.each(['APP', 'JSAPI', 'NATIVE', 'MWEB'] as const)(
    'pays a %s order through the simulator’s notification',
    async (tradeType) => {
      const no = outTradeNo();
      const created = await stack.api('POST', '/orders', orderBody(tradeType, no));
      expect(created.status).toBe(201);
      expect(created.json).toMatchObject({ out_trade_no: no, status: 'PENDING', trade_type: tradeType });
      const client = created.json.client as Record<string, string>;
      if (tradeType === 'APP') {
        expect(client).toMatchObject({
          appid: SANDBOX_MERCHANT.appid,
          partnerid: SANDBOX_MERCHANT.mchid,
          prepayid: created.json.prepay_id,
          package: 'Sign=WXPay',
        });
        expect(clientSignatureValid('APP', client)).toBe(true);
        expect(clientSignatureValid('APP', { ...client, prepayid: 'tampered' })).toBe(false);
      }
      if (tradeType === 'JSAPI') {
        expect(client).toMatchObject({
          appId: SANDBOX_MERCHANT.appid,
          package: `prepay_id=${String(created.json.prepay_id)}`,
          signType: apiVersion === 'v3' ? 'RSA' : 'HMAC-SHA256',
        });
        expect(clientSignatureValid('JSAPI', client)).toBe(true);
        expect(clientSignatureValid('JSAPI', { ...client, nonceStr: 'tampered' })).toBe(false);
      }
      if (tradeType === 'NATIVE') expect(client.code_url).toMatch(/^weixin:\/\//);
      if (tradeType === 'MWEB') expect(client.mweb_url).toMatch(/^https:\/\//);

      expect((await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' })).status).toBe(200);
      await waitFor(
        () => statusOf(no),
        (s) => s === 'PAID',
      );
      const paid = await stack.api('GET', `/orders/${no}`);
      const payment = paid.json.payment as Record<string, unknown>;
      expect(payment.transaction_id).toMatch(/^\d{28}$/);
      expect(payment.amount).toEqual({ total: 101, currency: 'CNY' });
    },
  );

  it('answers the same payment again for the same request, 409 for other content', async () => {
    const no = outTradeNo();
    const first = await stack.api('POST', '/orders', orderBody('NATIVE', no));
    const again = await stack.api('POST', '/orders', orderBody('NATIVE', no));
    expect(again.status).toBe(201);
    expect(again.json.prepay_id).toBe(first.json.prepay_id);
    expect(again.json.client).toEqual(first.json.client);
    const other = await stack.api('POST', '/orders', orderBody('NATIVE', no, 999));
    expect(other.status).toBe(409);
    expect(other.json).toMatchObject({ error: { code: 'OUT_TRADE_NO_USED' } });
    expect((await stack.api('GET', `/orders/${no}`)).json.amount).toEqual({ total: 101, currency: 'CNY' });
  });

  it('keeps out_trade_no with leading zeros as a string', async () => {
    const no = `000${Date.now()}`;
    const created = await stack.api('POST', '/orders', orderBody('NATIVE', no));
    expect(created.json.out_trade_no).toBe(no);
    expect((await stack.api('GET', `/orders/${no}`)).json.out_trade_no).toBe(no);
  });

  it.each([
    [{ description: 'x' }, 'amount'],
    [{ ...orderBody('NATIVE'), amount: { total: -1 } }, 'amount.total'],
    [{ ...orderBody('NATIVE'), amount: { total: 1.01 } }, 'amount.total'],
    [{ ...orderBody('JSAPI'), payer: undefined }, 'payer.openid'],
    [{ ...orderBody('NATIVE'), product_id: undefined }, 'product_id'],
    [{ ...orderBody('MWEB'), scene_info: { payer_client_ip: '203.0.113.9' } }, 'scene_info.h5_info'],
    [{ ...orderBody('NATIVE'), scene_info: { payer_client_ip: 'localhost' } }, 'scene_info.payer_client_ip'],
    [{ ...orderBody('NATIVE'), out_trade_no: 'bad no!' }, 'out_trade_no'],
    [{ ...orderBody('NATIVE'), time_expire: new Date(Date.now() + 10_000).toISOString() }, 'time_expire'],
  ])('answers 400 naming the field for %j', async (body, field) => {
    const res = await stack.api('POST', '/orders', body);
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: { code: 'INVALID_REQUEST', field } });
  });

  it('answers 400 for a body that is not JSON, 404 for an unknown order', async () => {
    const res = await fetch(`${stack.gatewayUrl}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{nope',
    });
    expect(res.status).toBe(400);
    expect((await stack.api('GET', '/orders/NOSUCHORDER1')).status).toBe(404);
  });

  it('brings a dropped notification in with ?sync=1', async () => {
    const no = outTradeNo();
    await stack.api('POST', '/orders', orderBody('NATIVE', no));
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    expect(await statusOf(no)).toBe('PENDING');
    const synced = await stack.api('GET', `/orders/${no}?sync=1`);
    expect(synced.json.status).toBe('PAID');
    expect((synced.json.payment as Record<string, unknown>).transaction_id).toMatch(/^\d{28}$/);
  });

  it('asks WeChat again with ?sync=1 about a failed order, which the payer may still pay', async () => {
    const no = outTradeNo();
    await stack.api('POST', '/orders', orderBody('NATIVE', no));
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'FAIL' });
    await waitFor(
      async () => (await stack.api('GET', `/orders/${no}?sync=1`)).json.status,
      (s) => s === 'FAILED',
    );
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    const synced = await stack.api('GET', `/orders/${no}?sync=1`);
    expect(synced.json.status).toBe('PAID');
  });

  it('refuses to close an order WeChat says is paid, even before its query shows the payment', async () => {
    const no = outTradeNo();
    await stack.api('POST', '/orders', orderBody('NATIVE', no));
    await simulator('POST', '/sandbox/faults', { notify: 'drop', api: 'stale_query', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await new Promise((r) => setTimeout(r, (300 / TIME_SCALE) * 1000 + 200));
    const refused = await stack.api('POST', `/orders/${no}/close`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'ORDERPAID' } });
    expect(await statusOf(no)).toBe('PENDING');
    await simulator('DELETE', '/sandbox/faults');
    expect((await stack.api('GET', `/orders/${no}?sync=1`)).json.status).toBe('PAID');
  });

  it('closes an unpaid order only after five minutes, and never a paid one', async () => {
    const no = outTradeNo();
    await stack.api('POST', '/orders', orderBody('NATIVE', no));
    const early = await stack.api('POST', `/orders/${no}/close`);
    expect(early.status).toBe(409);
    expect(early.json).toMatchObject({ error: { code: 'TOO_EARLY' } });
    await new Promise((r) => setTimeout(r, (300 / TIME_SCALE) * 1000 + 200));
    const closed = await stack.api('POST', `/orders/${no}/close`);
    expect(closed.status).toBe(200);
    expect(closed.json.status).toBe('CLOSED');
    const atWeChat = await simulator('GET', `/sandbox/orders/${no}`);
    expect(JSON.stringify(atWeChat.json)).toContain('CLOSED');

    const paidNo = outTradeNo();
    await stack.api('POST', '/orders', orderBody('NATIVE', paidNo));
    await simulator('POST', `/sandbox/orders/${paidNo}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(paidNo),
      (s) => s === 'PAID',
    );
    const refused = await stack.api('POST', `/orders/${paidNo}/close`);
    expect(refused.status).toBe(409);
    expect(refused.json).toMatchObject({ error: { code: 'ORDERPAID' } });
  });
});
