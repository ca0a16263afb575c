import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, callV2, createOrder, newOutTradeNo, pay, queryParams, sleep } from './support';

// 5 minutes become 300 ms: long enough to try too early, short enough to wait out.
const TIME_SCALE = 1000;
const CLOSE_MINIMUM_MS = (5 * 60_000) / TIME_SCALE;
let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE });
});
afterAll(async () => {
  await sim.close();
});

const close = (outTradeNo: string, signType?: 'MD5' | 'HMAC-SHA256') =>
  callV2(sim.url, '/pay/closeorder', queryParams({ out_trade_no: outTradeNo }, signType));
const tradeState = async (outTradeNo: string) =>
  (await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }))).fields.trade_state;

describe('closeorder', () => {
  it('refuses within 5 minutes (scaled) of creation, then closes; the order then queries CLOSED', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const early = await close(outTradeNo);
    expect(early.fields.result_code).toBe('FAIL');
    expect(early.fields.err_code).toBe('INVALID_REQUEST');
    expect(early.fields.err_code_des).toContain('5');
    expect(await tradeState(outTradeNo)).toBe('NOTPAY');

    await sleep(CLOSE_MINIMUM_MS + 50);
    const closed = await close(outTradeNo, 'HMAC-SHA256');
    expect(closed.fields.return_code).toBe('SUCCESS');
    expect(closed.fields.result_code).toBe('SUCCESS');
    expect(closed.fields.sign).toHaveLength(64);
    expect(verifyV2(closed.fields, MERCHANT.apiKey)).toBe(true);
    expect(await tradeState(outTradeNo)).toBe('CLOSED');
  });

  it('a closed order: closing again is ORDERCLOSED, paying it is 409, ordering it again is ORDERCLOSED', async () => {
    const { outTradeNo, params } = await createOrder(sim.url);
    await sleep(CLOSE_MINIMUM_MS + 50);
    expect((await close(outTradeNo)).fields.result_code).toBe('SUCCESS');
    expect((await close(outTradeNo)).fields.err_code).toBe('ORDERCLOSED');
    const paid = await pay(sim.url, outTradeNo);
    expect(paid.status).toBe(409);
    expect((paid.json.error as { code: string }).code).toBe('ORDERCLOSED');
    const again = await callV2(sim.url, '/pay/unifiedorder', params);
    expect(again.fields.err_code).toBe('ORDERCLOSED');
    expect(await tradeState(outTradeNo)).toBe('CLOSED');
  });

  it('a paid order cannot be closed: ORDERPAID, and it stays SUCCESS', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    await pay(sim.url, outTradeNo);
    await sleep(CLOSE_MINIMUM_MS + 50);
    const res = await close(outTradeNo);
    expect(res.fields.result_code).toBe('FAIL');
    expect(res.fields.err_code).toBe('ORDERPAID');
    expect(await tradeState(outTradeNo)).toBe('SUCCESS');
  });

  it('USERPAYING and PAYERROR orders can be closed', async () => {
    const a = await createOrder(sim.url);
    const b = await createOrder(sim.url);
    await pay(sim.url, a.outTradeNo, 'USERPAYING');
    await pay(sim.url, b.outTradeNo, 'FAIL');
    await sleep(CLOSE_MINIMUM_MS + 50);
    expect((await close(a.outTradeNo)).fields.result_code).toBe('SUCCESS');
    expect((await close(b.outTradeNo)).fields.result_code).toBe('SUCCESS');
    expect(await tradeState(a.outTradeNo)).toBe('CLOSED');
    expect(await tradeState(b.outTradeNo)).toBe('CLOSED');
  });

  it('an unknown order is ORDERNOTEXIST; a missing out_trade_no is LACK_PARAMS', async () => {
    expect((await close(newOutTradeNo('none'))).fields.err_code).toBe('ORDERNOTEXIST');
    const missing = await callV2(sim.url, '/pay/closeorder', queryParams({}));
    expect(missing.fields.err_code).toBe('LACK_PARAMS');
  });

  it('refuses a bad signature and leaves the order open', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    await sleep(CLOSE_MINIMUM_MS + 50);
    const res = await callV2(sim.url, '/pay/closeorder', queryParams({ out_trade_no: outTradeNo }), {
      key: 'c'.repeat(32),
    });
    expect(res.fields.return_code).toBe('FAIL');
    expect(await tradeState(outTradeNo)).toBe('NOTPAY');
  });
});
