import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTypeOf, verifyV2 } from '#shared/wechatpay/v2/sign';
import { toWechatTime } from '#shared/wechatpay/v2/time';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, callV2, createOrder, newOutTradeNo, pay, queryParams } from './support';

let sim: RunningSimulator;
beforeAll(async () => {
  // timeScale 1: nothing expires during these tests.
  sim = await startSimulator({ merchant: MERCHANT });
});
afterAll(async () => {
  await sim.close();
});

const query = (key: { out_trade_no?: string; transaction_id?: string }, signType?: 'MD5' | 'HMAC-SHA256') =>
  callV2(sim.url, '/pay/orderquery', queryParams(key, signType));

describe('orderquery', () => {
  it('an unpaid order is NOTPAY with its amount', async () => {
    const { outTradeNo } = await createOrder(sim.url, { attach: 'shop-7' });
    const { fields } = await query({ out_trade_no: outTradeNo });
    expect(fields.return_code).toBe('SUCCESS');
    expect(fields.result_code).toBe('SUCCESS');
    expect(fields.trade_state).toBe('NOTPAY');
    expect(fields.total_fee).toBe('1999');
    expect(fields.attach).toBe('shop-7');
    expect(fields.transaction_id).toBeUndefined();
    expect(fields.time_end).toBeUndefined();
    expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
  });

  it('a paid order is SUCCESS with WeChat’s payment facts', async () => {
    const { outTradeNo } = await createOrder(sim.url, { trade_type: 'JSAPI' });
    const before = Date.now();
    const paid = await pay(sim.url, outTradeNo, 'SUCCESS', 'oPayerOpenid123');
    expect(paid.status).toBe(200);
    expect(paid.json.trade_state).toBe('SUCCESS');
    const { fields } = await query({ out_trade_no: outTradeNo }, 'HMAC-SHA256');
    expect(fields.trade_state).toBe('SUCCESS');
    expect(fields.transaction_id).toMatch(/^42000\d{23}$/);
    expect(fields.transaction_id).toBe(paid.json.transaction_id);
    expect(fields.openid).toBe('oPayerOpenid123');
    expect(fields.total_fee).toBe('1999');
    expect(fields.cash_fee).toBe('1999');
    expect(fields.fee_type).toBe('CNY');
    expect(fields.bank_type).toMatch(/^[A-Z_]+$/);
    expect(fields.trade_type).toBe('JSAPI');
    // time_end is Beijing time (UTC+8) of the payment.
    expect(fields.time_end).toMatch(/^\d{14}$/);
    expect([toWechatTime(new Date(before)), toWechatTime(new Date())]).toContain(fields.time_end);
    expect(signTypeOf(fields.sign ?? '')).toBe('HMAC-SHA256');
    expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
  });

  it('finds a paid order by its 28-digit transaction_id, kept as a string', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const paid = await pay(sim.url, outTradeNo);
    const transactionId = paid.json.transaction_id as string;
    expect(transactionId).toHaveLength(28);
    const { fields } = await query({ transaction_id: transactionId });
    expect(fields.out_trade_no).toBe(outTradeNo);
    expect(fields.transaction_id).toBe(transactionId);
    // A neighbouring number (what a double would round to) is another order: none.
    const neighbour = (BigInt(transactionId) + 1n).toString();
    expect((await query({ transaction_id: neighbour })).fields.err_code).toBe('ORDERNOTEXIST');
  });

  it('a payer entering the password is USERPAYING, and no notification is due yet', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const marked = await pay(sim.url, outTradeNo, 'USERPAYING');
    expect(marked.status).toBe(200);
    expect(marked.json.notification).toBeNull();
    expect((await query({ out_trade_no: outTradeNo })).fields.trade_state).toBe('USERPAYING');
    // …and can still pay.
    expect((await pay(sim.url, outTradeNo)).status).toBe(200);
    expect((await query({ out_trade_no: outTradeNo })).fields.trade_state).toBe('SUCCESS');
  });

  it('a failed payment is PAYERROR, and the payer may try again', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    expect((await pay(sim.url, outTradeNo, 'FAIL')).json.trade_state).toBe('PAYERROR');
    const { fields } = await query({ out_trade_no: outTradeNo });
    expect(fields.trade_state).toBe('PAYERROR');
    expect(fields.transaction_id).toBeUndefined();
    expect((await pay(sim.url, outTradeNo)).json.trade_state).toBe('SUCCESS');
  });

  it('an unknown order is ORDERNOTEXIST, signed', async () => {
    const { fields } = await query({ out_trade_no: newOutTradeNo('none') });
    expect(fields.return_code).toBe('SUCCESS');
    expect(fields.result_code).toBe('FAIL');
    expect(fields.err_code).toBe('ORDERNOTEXIST');
    expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
  });

  it('needs out_trade_no or transaction_id', async () => {
    const { fields } = await query({});
    expect(fields.err_code).toBe('LACK_PARAMS');
    expect(fields.err_code_des).toContain('out_trade_no');
  });

  it('refuses a bad signature', async () => {
    const { fields } = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: 'x1' }), {
      key: 'b'.repeat(32),
    });
    expect(fields).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
  });

  it('a payer action on an unknown order is 404; a bad payer body is 400', async () => {
    const missing = await pay(sim.url, newOutTradeNo('none'));
    expect(missing.status).toBe(404);
    const { outTradeNo } = await createOrder(sim.url);
    const bad = await pay(sim.url, outTradeNo, 'MAYBE');
    expect(bad.status).toBe(400);
    expect((bad.json.error as { field: string }).field).toBe('result');
    expect((await query({ out_trade_no: outTradeNo })).fields.trade_state).toBe('NOTPAY');
  });

  it('paying a paid order is 409 ORDERPAID and changes nothing', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const first = await pay(sim.url, outTradeNo);
    const again = await pay(sim.url, outTradeNo);
    expect(again.status).toBe(409);
    expect((again.json.error as { code: string }).code).toBe('ORDERPAID');
    expect((await query({ out_trade_no: outTradeNo })).fields.transaction_id).toBe(first.json.transaction_id);
  });
});
