import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import { toXml } from '#shared/wechatpay/v2/xml';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { DUPLICATE_COPIES } from '#sandbox/simulator/notification-scheduler';
import {
  FAIL_REPLY,
  MERCHANT,
  Receiver,
  SUCCESS_REPLY,
  callV2,
  controlPost,
  createOrder,
  debugOrder,
  pay,
  queryParams,
  sleep,
  unifiedOrderParams,
  waitFor,
} from './support';

const TIME_SCALE = 100; // first retry interval: 150 ms
const FIRST_RETRY_MS = 15_000 / TIME_SCALE;
const HOLD_MS = 1500;
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await Receiver.start();
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE, apiTimeoutHoldMs: HOLD_MS });
});
afterEach(async () => {
  receiver.respond = () => ({ body: SUCCESS_REPLY });
  const res = await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
  expect(res.status).toBe(200);
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const order = (overrides: Record<string, string | undefined> = {}) =>
  createOrder(sim.url, { notify_url: receiver.url, ...overrides });
const setFaults = (body: Record<string, unknown>) => controlPost(sim.url, '/sandbox/faults', body);
const notification = async (outTradeNo: string) => (await debugOrder(sim.url, outTradeNo)).order?.notification;
const delivered = (outTradeNo: string) =>
  waitFor(async () => (await notification(outTradeNo))?.status === 'delivered', 5000, `delivery for ${outTradeNo}`);

describe('notification faults', () => {
  it('drop: nothing is delivered, yet the order is paid and orderquery says so', async () => {
    const { outTradeNo } = await order();
    expect((await setFaults({ notify: 'drop', out_trade_no: outTradeNo })).status).toBe(200);
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await notification(outTradeNo))?.status === 'dropped', 3000, 'dropped');
    await sleep(FIRST_RETRY_MS * 3);
    expect(receiver.for(outTradeNo)).toHaveLength(0);
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(query.fields.trade_state).toBe('SUCCESS');
    expect((await debugOrder(sim.url, outTradeNo)).notifications).toEqual([
      expect.objectContaining({ outcome: 'dropped', fault: 'drop' }),
    ]);
  });

  it('duplicate: several identical copies arrive at once, concurrently', async () => {
    const { outTradeNo } = await order();
    await setFaults({ notify: 'duplicate', out_trade_no: outTradeNo });
    receiver.maxInFlight = 0;
    receiver.respond = () => ({ body: SUCCESS_REPLY, delayMs: 150 }); // hold each so overlaps show
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo);
    const copies = receiver.for(outTradeNo);
    expect(copies).toHaveLength(DUPLICATE_COPIES);
    expect(new Set(copies.map((c) => c.raw)).size).toBe(1);
    expect(copies.every((c) => verifyV2(c.fields, MERCHANT.apiKey))).toBe(true);
    expect(receiver.maxInFlight).toBeGreaterThan(1);
    const spread = Math.max(...copies.map((c) => c.at)) - Math.min(...copies.map((c) => c.at));
    expect(spread).toBeLessThan(150);
  });

  it('delay: the first delivery comes one retry interval late', async () => {
    const { outTradeNo: prompt } = await order();
    const { outTradeNo: late } = await order();
    await setFaults({ notify: 'delay', out_trade_no: late });
    const start = performance.now();
    await Promise.all([pay(sim.url, prompt), pay(sim.url, late)]);
    await delivered(late);
    await delivered(prompt);
    const promptAt = (receiver.for(prompt)[0]?.at ?? 0) - start;
    const lateAt = (receiver.for(late)[0]?.at ?? 0) - start;
    expect(lateAt).toBeGreaterThanOrEqual(FIRST_RETRY_MS - 5);
    expect(lateAt).toBeGreaterThan(promptAt + FIRST_RETRY_MS / 2);
    expect(receiver.for(late)).toHaveLength(1);
  });

  it('corrupt_sign: the signature fails; a merchant refusing it gets retries, correct again once cleared', async () => {
    const { outTradeNo } = await order();
    await setFaults({ notify: 'corrupt_sign', out_trade_no: outTradeNo });
    // A careful merchant: verify, and answer FAIL to anything that does not.
    receiver.respond = (_i, received) =>
      verifyV2(received.fields, MERCHANT.apiKey) ? { body: SUCCESS_REPLY } : { body: FAIL_REPLY };
    await pay(sim.url, outTradeNo);
    await waitFor(() => receiver.for(outTradeNo).length >= 1, 3000, 'corrupt notification');
    const [bad] = receiver.for(outTradeNo);
    expect(bad?.fields.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyV2(bad?.fields ?? {}, MERCHANT.apiKey)).toBe(false);
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    await delivered(outTradeNo);
    const last = receiver.for(outTradeNo).at(-1);
    expect(verifyV2(last?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(last?.fields.transaction_id).toBe(bad?.fields.transaction_id);
  });

  it('change_amount: a correctly signed notification for another amount', async () => {
    const { outTradeNo } = await order({ total_fee: '500' });
    await setFaults({ notify: 'change_amount', out_trade_no: outTradeNo });
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo);
    const [note] = receiver.for(outTradeNo);
    expect(verifyV2(note?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(note?.fields.total_fee).not.toBe('500');
    expect(Number(note?.fields.total_fee)).toBeGreaterThan(0);
    // WeChat's own record is unchanged.
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(query.fields.total_fee).toBe('500');
  });

  it('a global fault applies to every order; an order’s own setting wins over it', async () => {
    const { outTradeNo: a } = await order();
    const { outTradeNo: b } = await order();
    await setFaults({ notify: 'drop' });
    await setFaults({ notify: 'deliver', out_trade_no: b });
    await Promise.all([pay(sim.url, a), pay(sim.url, b)]);
    await delivered(b);
    await waitFor(async () => (await notification(a))?.status === 'dropped', 3000, 'dropped');
    expect(receiver.for(a)).toHaveLength(0);
    expect(receiver.for(b)).toHaveLength(1);
  });
});

describe('API faults', () => {
  it('systemerror: a signed SYSTEMERROR and no effect, for `times` calls, then normal again', async () => {
    const params = unifiedOrderParams({ notify_url: receiver.url, sign_type: 'HMAC-SHA256' });
    const outTradeNo = params.out_trade_no as string;
    await setFaults({ api: 'systemerror', out_trade_no: outTradeNo, times: 2 });
    for (let i = 0; i < 2; i += 1) {
      const { status, fields } = await callV2(sim.url, '/pay/unifiedorder', params);
      expect(status).toBe(200);
      expect(fields).toMatchObject({ return_code: 'SUCCESS', result_code: 'FAIL', err_code: 'SYSTEMERROR' });
      expect(fields.sign).toHaveLength(64);
      expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
    }
    const recovered = await callV2(sim.url, '/pay/unifiedorder', params);
    expect(recovered.fields.result_code).toBe('SUCCESS');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.requests.map((r) => r.fault ?? 'ok')).toEqual(['systemerror', 'systemerror', 'ok']);
  });

  it('systemerror without `times` stays until cleared, and only for its order', async () => {
    const { outTradeNo } = await order();
    const other = await order();
    await setFaults({ api: 'systemerror', out_trade_no: outTradeNo });
    for (let i = 0; i < 3; i += 1) {
      expect(
        (await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }))).fields.err_code,
      ).toBe('SYSTEMERROR');
    }
    expect(
      (await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: other.outTradeNo }))).fields.trade_state,
    ).toBe('NOTPAY');
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    expect(
      (await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }))).fields.trade_state,
    ).toBe('NOTPAY');
  });

  it('http500: HTTP 500 and no effect', async () => {
    const params = unifiedOrderParams({ notify_url: receiver.url });
    await setFaults({ api: 'http500', times: 1 });
    const res = await callV2(sim.url, '/pay/unifiedorder', params);
    expect(res.status).toBe(500);
    expect(res.text).not.toContain('<xml>');
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: params.out_trade_no }));
    expect(query.fields.err_code).toBe('ORDERNOTEXIST');
  });

  it('timeout: the reply is held past the caller’s patience, but WeChat did act', async () => {
    const params = unifiedOrderParams({ notify_url: receiver.url });
    await setFaults({ api: 'timeout', out_trade_no: params.out_trade_no as string, times: 1 });
    const started = performance.now();
    await expect(callV2(sim.url, '/pay/unifiedorder', params).then(() => 'answered')).resolves.toBe('answered');
    expect(performance.now() - started).toBeGreaterThanOrEqual(HOLD_MS - 10);
    const { fields } = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: params.out_trade_no }));
    expect(fields.trade_state).toBe('NOTPAY');
  });

  it('timeout: a client with a shorter timeout gives up; asking again gives the same prepay_id', async () => {
    const params = unifiedOrderParams({ notify_url: receiver.url });
    await setFaults({ api: 'timeout', out_trade_no: params.out_trade_no as string, times: 1 });
    const body = toXml({ ...params, sign: signV2(params, MERCHANT.apiKey) });
    await expect(
      fetch(`${sim.url}/pay/unifiedorder`, { method: 'POST', body, signal: AbortSignal.timeout(300) }),
    ).rejects.toThrow();
    const again = await callV2(sim.url, '/pay/unifiedorder', params);
    expect(again.fields.result_code).toBe('SUCCESS');
    const debug = await debugOrder(sim.url, params.out_trade_no as string);
    expect(debug.requests).toHaveLength(2);
    const firstPrepay = /<prepay_id><!\[CDATA\[(\w+)\]\]>/.exec(debug.requests[0]?.response ?? '')?.[1];
    expect(firstPrepay).toBe(again.fields.prepay_id);
  });

  it('rejects fault requests that name no fault, an unknown fault, or times without an api fault', async () => {
    expect((await setFaults({})).status).toBe(400);
    expect((await setFaults({ notify: 'explode' })).status).toBe(400);
    expect((await setFaults({ notify: 'drop', times: 2 })).status).toBe(400);
    expect((await setFaults({ api: 'systemerror', times: 0 })).status).toBe(400);
    expect((await setFaults({ api: 'ok', extra: true })).status).toBe(400);
    const snapshot = (await (await fetch(`${sim.url}/sandbox/faults`)).json()) as { global: object; orders: object };
    expect(snapshot).toEqual({ global: {}, orders: {} });
  });

  it('DELETE /sandbox/faults clears every switch', async () => {
    await setFaults({ api: 'http500' });
    await setFaults({ notify: 'drop', out_trade_no: 'abc123' });
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    const snapshot = (await (await fetch(`${sim.url}/sandbox/faults`)).json()) as { global: object; orders: object };
    expect(snapshot).toEqual({ global: {}, orders: {} });
    const { outTradeNo } = await order();
    expect(outTradeNo).toBeTruthy();
  });
});

describe('control API basics', () => {
  it('GET /health answers ok; unknown paths 404; wrong methods 405', async () => {
    const health = await fetch(`${sim.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    expect((await fetch(`${sim.url}/nope`)).status).toBe(404);
    expect((await fetch(`${sim.url}/sandbox/faults`, { method: 'PUT' })).status).toBe(405);
  });

  it('refuses a payer body that is not JSON', async () => {
    const { outTradeNo } = await order();
    const res = await fetch(`${sim.url}/sandbox/orders/${outTradeNo}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{result:',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('INVALID_REQUEST');
  });
});
