import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signTypeOf, verifyV2 } from '#shared/wechatpay/v2/sign';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { NOTIFY_MAX_ATTEMPTS, NOTIFY_RETRY_INTERVALS_MS } from '#sandbox/simulator/time-rules';
import {
  FAIL_REPLY,
  MERCHANT,
  Receiver,
  SUCCESS_REPLY,
  callV2,
  createOrder,
  debugOrder,
  pay,
  queryParams,
  sleep,
  waitFor,
} from './support';

// 15 s become 150 ms: the first retries are far enough apart to tell apart on a busy machine.
const TIME_SCALE = 100;
const REPLY_TIMEOUT_MS = 1000;
let sim: RunningSimulator;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await Receiver.start();
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE, notifyReplyTimeoutMs: REPLY_TIMEOUT_MS });
});
afterEach(() => {
  receiver.respond = () => ({ body: SUCCESS_REPLY });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

const order = (overrides: Record<string, string | undefined> = {}) =>
  createOrder(sim.url, { notify_url: receiver.url, ...overrides });
const notificationStatus = async (outTradeNo: string) => (await debugOrder(sim.url, outTradeNo)).order?.notification;

describe('payment notification', () => {
  it.each([
    ['MD5', undefined],
    ['MD5', 'MD5'],
    ['HMAC-SHA256', 'HMAC-SHA256'],
  ] as const)(
    'is POSTed as text/xml, signed %s (order signed %s), with the payment facts',
    async (expected, signType) => {
      const { outTradeNo } = await order({ sign_type: signType, attach: '支付测试', trade_type: 'JSAPI' });
      const paid = await pay(sim.url, outTradeNo, 'SUCCESS', 'oNotifyOpenid');
      const [note] = await waitFor(
        () => receiver.for(outTradeNo).length > 0 && receiver.for(outTradeNo),
        5000,
        'notification',
      );
      expect(note?.contentType).toMatch(/^text\/xml/);
      const fields = note?.fields ?? {};
      expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
      expect(signTypeOf(fields.sign ?? '')).toBe(expected);
      expect(fields.sign_type).toBeUndefined(); // WeChat's v2 notifications carry none
      expect(fields).toMatchObject({
        return_code: 'SUCCESS',
        result_code: 'SUCCESS',
        appid: MERCHANT.appid,
        mch_id: MERCHANT.mchid,
        out_trade_no: outTradeNo,
        transaction_id: paid.json.transaction_id,
        total_fee: '1999',
        cash_fee: '1999',
        fee_type: 'CNY',
        trade_type: 'JSAPI',
        openid: 'oNotifyOpenid',
        attach: '支付测试',
        time_end: paid.json.time_end,
      });
      // The query tells the same story as the notification.
      const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
      expect(query.fields.transaction_id).toBe(fields.transaction_id);
      expect(query.fields.time_end).toBe(fields.time_end);
      await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 2000, 'delivered');
      expect(receiver.for(outTradeNo)).toHaveLength(1);
    },
  );

  it('tells of a failed payment too (result_code FAIL, no transaction_id)', async () => {
    const { outTradeNo } = await order();
    await pay(sim.url, outTradeNo, 'FAIL');
    const [note] = await waitFor(
      () => receiver.for(outTradeNo).length > 0 && receiver.for(outTradeNo),
      5000,
      'notification',
    );
    expect(verifyV2(note?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(note?.fields.result_code).toBe('FAIL');
    expect(note?.fields.err_code).toBeTruthy();
    expect(note?.fields.transaction_id).toBeUndefined();
  });

  it('is retried on WeChat’s schedule until the exact SUCCESS reply: attempt count and spacing', async () => {
    const { outTradeNo } = await order();
    const failures = 4;
    receiver.respond = (index, received) =>
      received.fields.out_trade_no === outTradeNo && receiver.for(outTradeNo).length <= failures
        ? { body: FAIL_REPLY }
        : { body: SUCCESS_REPLY };
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 10_000, 'delivery');
    const arrivals = receiver.for(outTradeNo).map((r) => r.at);
    expect(arrivals).toHaveLength(failures + 1);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
    const expected = NOTIFY_RETRY_INTERVALS_MS.slice(0, failures).map((ms) => ms / TIME_SCALE); // 150, 150, 300, 1800
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual((expected[i] as number) - 5);
      expect(gap).toBeLessThan((expected[i] as number) + 400);
    });
    expect(gaps[2]).toBeGreaterThan((gaps[0] as number) + 75);
    expect(gaps[3]).toBeGreaterThan((gaps[2] as number) + 500);
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications.map((n) => [n.attempt, n.outcome])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
      [4, 'failed'],
      [5, 'delivered'],
    ]);
    expect(debug.order?.notification).toMatchObject({ status: 'delivered', attempts: 5 });
  });

  it.each([
    ['a FAIL reply', { body: FAIL_REPLY }],
    ['HTTP 500 with a SUCCESS body', { status: 500, body: SUCCESS_REPLY }],
    ['a plain-text "success"', { body: 'success' }],
    ['an empty 200', { body: '' }],
    ['SUCCESS in lower case', { body: '<xml><return_code>success</return_code></xml>' }],
  ])('counts %s as a failure and retries', async (_what, answer) => {
    const { outTradeNo } = await order();
    receiver.respond = (_i, received) =>
      received.fields.out_trade_no === outTradeNo && receiver.for(outTradeNo).length === 1
        ? answer
        : { body: SUCCESS_REPLY };
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 5000, 'delivery');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications.map((n) => n.outcome)).toEqual(['failed', 'delivered']);
    expect(receiver.for(outTradeNo)).toHaveLength(2);
  });

  it('counts a reply slower than the reply timeout as a failure', async () => {
    const { outTradeNo } = await order();
    receiver.respond = (_i, received) =>
      received.fields.out_trade_no === outTradeNo && receiver.for(outTradeNo).length === 1
        ? { body: SUCCESS_REPLY, delayMs: REPLY_TIMEOUT_MS + 500 }
        : { body: SUCCESS_REPLY };
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 10_000, 'delivery');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications.map((n) => n.outcome)).toEqual(['timeout', 'delivered']);
    expect(debug.notifications[0]?.durationMs).toBeGreaterThanOrEqual(REPLY_TIMEOUT_MS - 5);
  });

  it('keeps retrying when the endpoint is down, and records the connection errors', async () => {
    const { outTradeNo } = await createOrder(sim.url, { notify_url: 'http://127.0.0.1:9/notify/pay' });
    await pay(sim.url, outTradeNo);
    await waitFor(async () => ((await notificationStatus(outTradeNo))?.attempts ?? 0) >= 2, 5000, 'two attempts');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications[0]?.outcome).toBe('error');
    expect(debug.order?.notification?.status).toBe('pending');
  });

  it('gives up after the 16th attempt (the whole 24h4m schedule at a high time scale)', async () => {
    const fast = await startSimulator({ merchant: MERCHANT, timeScale: 50_000 });
    try {
      const { outTradeNo } = await createOrder(fast.url, { notify_url: receiver.url });
      receiver.respond = () => ({ body: FAIL_REPLY });
      await pay(fast.url, outTradeNo);
      await waitFor(
        async () => (await debugOrder(fast.url, outTradeNo)).order?.notification?.status === 'gave_up',
        15_000,
        'give up',
      );
      expect(NOTIFY_MAX_ATTEMPTS).toBe(16);
      expect(receiver.for(outTradeNo)).toHaveLength(16);
      const debug = await debugOrder(fast.url, outTradeNo);
      expect(debug.order?.notification).toMatchObject({ status: 'gave_up', attempts: 16 });
      await sleep(100);
      expect(receiver.for(outTradeNo)).toHaveLength(16);
      // Giving up on notifying does not undo the payment.
      const query = await callV2(fast.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
      expect(query.fields.trade_state).toBe('SUCCESS');
    } finally {
      await fast.close();
    }
  });

  it('a new payer action replaces an unfinished notification (FAIL, then SUCCESS)', async () => {
    const { outTradeNo } = await order();
    receiver.respond = (_i, received) =>
      received.fields.result_code === 'FAIL' ? { body: FAIL_REPLY } : { body: SUCCESS_REPLY };
    await pay(sim.url, outTradeNo, 'FAIL');
    await waitFor(() => receiver.for(outTradeNo).length >= 1, 5000, 'FAIL notification');
    await pay(sim.url, outTradeNo, 'SUCCESS');
    await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 5000, 'delivery');
    await sleep(400); // longer than the FAIL job's next retry
    const results = receiver.for(outTradeNo).map((r) => r.fields.result_code);
    expect(results).toEqual(['FAIL', 'SUCCESS']);
  });

  it('lists what was received and sent for an order', async () => {
    const { outTradeNo } = await order();
    await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await notificationStatus(outTradeNo))?.status === 'delivered', 5000, 'delivery');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.requests.map((r) => r.path)).toEqual(['/pay/unifiedorder', '/pay/orderquery']);
    expect(debug.requests[0]?.request).toContain(outTradeNo);
    expect(debug.requests[0]?.response).toContain('<prepay_id>');
    expect(debug.payer).toEqual([expect.objectContaining({ result: 'SUCCESS', outcome: 'SUCCESS' })]);
    expect(debug.notifications[0]).toMatchObject({ attempt: 1, copy: 1, outcome: 'delivered', httpStatus: 200 });
    expect(debug.notifications[0]?.body).toContain(outTradeNo);
    expect(JSON.stringify(debug)).not.toContain(MERCHANT.apiKey);
    expect((await fetch(`${sim.url}/sandbox/orders/never-seen-1`)).status).toBe(404);
  });
});
