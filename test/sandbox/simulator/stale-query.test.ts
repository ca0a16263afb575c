import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import type { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import {
  MERCHANT,
  callV2,
  controlPost,
  createOrder,
  debugOrder,
  newOutTradeNo,
  pay,
  queryParams,
  sleep,
} from './support';
import { startV3Simulator, v3Client } from './v3-support';

// The "stale_query" fault: WeChat's query lags a payment while close tells the truth. It drives the
// race "paid at the moment it expires": query NOTPAY → close → ORDERPAID → query again → SUCCESS.

const TIME_SCALE = 1000; // close's 5 minutes: 300 ms
const CLOSABLE_AFTER_MS = 300_000 / TIME_SCALE + 50;
let v2: RunningSimulator;
let v3: RunningSimulator;
let client: WechatPayV3Client;

beforeAll(async () => {
  [v2, v3] = await Promise.all([
    startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE }),
    startV3Simulator({ timeScale: TIME_SCALE }),
  ]);
  client = v3Client(v3).client;
});
afterEach(async () => {
  await Promise.all([v2, v3].map((sim) => fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' })));
});
afterAll(async () => {
  await Promise.all([v2.close(), v3.close()]);
});

const setFaults = (sim: RunningSimulator, body: Record<string, unknown>) =>
  controlPost(sim.url, '/sandbox/faults', body);

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  return promise.then(
    () => undefined,
    (e: unknown) => (e instanceof WechatPayError ? e.code : `not a WechatPayError: ${String(e)}`),
  );
}

describe('stale_query in v2', () => {
  const query = (key: { out_trade_no?: string; transaction_id?: string }) =>
    callV2(v2.url, '/pay/orderquery', queryParams(key));
  const close = (outTradeNo: string) => callV2(v2.url, '/pay/closeorder', queryParams({ out_trade_no: outTradeNo }));

  it('the race: query NOTPAY, close ORDERPAID, query again SUCCESS (times: 1)', async () => {
    const { outTradeNo } = await createOrder(v2.url);
    const paid = await pay(v2.url, outTradeNo);
    await setFaults(v2, { api: 'stale_query', out_trade_no: outTradeNo, times: 1 });
    const stale = await query({ out_trade_no: outTradeNo });
    expect(stale.fields).toMatchObject({ result_code: 'SUCCESS', trade_state: 'NOTPAY', total_fee: '1999' });
    expect(stale.fields.transaction_id).toBeUndefined();
    expect(stale.fields.time_end).toBeUndefined();
    await sleep(CLOSABLE_AFTER_MS);
    expect((await close(outTradeNo)).fields.err_code).toBe('ORDERPAID');
    const fresh = await query({ out_trade_no: outTradeNo });
    expect(fresh.fields).toMatchObject({ trade_state: 'SUCCESS', transaction_id: paid.json.transaction_id });
    const faults = (await debugOrder(v2.url, outTradeNo)).requests.map((r) => [r.path, r.fault ?? 'ok']);
    expect(faults).toEqual([
      ['/pay/unifiedorder', 'ok'],
      ['/pay/orderquery', 'stale_query'],
      ['/pay/closeorder', 'ok'],
      ['/pay/orderquery', 'ok'],
    ]);
  });

  it('without times it stays until cleared; the transaction_id is unknown meanwhile; close is truthful', async () => {
    const { outTradeNo } = await createOrder(v2.url);
    const paid = await pay(v2.url, outTradeNo);
    await setFaults(v2, { api: 'stale_query' }); // global
    for (let i = 0; i < 3; i += 1)
      expect((await query({ out_trade_no: outTradeNo })).fields.trade_state).toBe('NOTPAY');
    expect((await query({ transaction_id: paid.json.transaction_id as string })).fields.err_code).toBe('ORDERNOTEXIST');
    await sleep(CLOSABLE_AFTER_MS);
    expect((await close(outTradeNo)).fields.err_code).toBe('ORDERPAID');
    await fetch(`${v2.url}/sandbox/faults`, { method: 'DELETE' });
    expect((await query({ transaction_id: paid.json.transaction_id as string })).fields.trade_state).toBe('SUCCESS');
  });
});

describe('stale_query in v3', () => {
  async function paidOrder(): Promise<{ outTradeNo: string; transactionId: string }> {
    const outTradeNo = newOutTradeNo('S');
    await client.prepayNative({
      description: 'stale',
      outTradeNo,
      notifyUrl: 'http://127.0.0.1:9/notify',
      amount: { total: 1999 },
    });
    const paid = await pay(v3.url, outTradeNo);
    return { outTradeNo, transactionId: paid.json.transaction_id as string };
  }

  it('the race: query NOTPAY, close ORDERPAID, query again SUCCESS (times: 1)', async () => {
    const { outTradeNo, transactionId } = await paidOrder();
    await setFaults(v3, { api: 'stale_query', out_trade_no: outTradeNo, times: 1 });
    const stale = await client.queryByOutTradeNo(outTradeNo);
    expect(stale).toMatchObject({ trade_state: 'NOTPAY', amount: { total: 1999 } });
    expect(stale.transaction_id).toBeUndefined();
    expect(stale.success_time).toBeUndefined();
    await sleep(CLOSABLE_AFTER_MS);
    expect(await codeOf(client.close(outTradeNo))).toBe('ORDERPAID');
    expect(await client.queryByOutTradeNo(outTradeNo)).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: transactionId,
    });
  });

  it('times counts queries only: close and prepay in between neither see nor spend it', async () => {
    const { outTradeNo } = await paidOrder();
    await setFaults(v3, { api: 'stale_query', out_trade_no: outTradeNo, times: 2 });
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('NOTPAY');
    expect(await codeOf(client.close(outTradeNo))).toBe('ORDERPAID'); // the truth, and not counted
    expect(
      await codeOf(
        client.prepayNative({
          description: 'stale',
          outTradeNo,
          notifyUrl: 'http://127.0.0.1:9/notify',
          amount: { total: 1999 },
        }),
      ),
    ).toBe('ORDERPAID');
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('NOTPAY');
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('SUCCESS');
    const requests = (await debugOrder(v3.url, outTradeNo)).requests;
    expect(requests.map((r) => r.fault ?? 'ok')).toEqual(['ok', 'stale_query', 'ok', 'ok', 'stale_query', 'ok']);
  });

  it('while on, the transaction_id is unknown (404); unpaid and closed orders are told as they are', async () => {
    const { outTradeNo, transactionId } = await paidOrder();
    const open = newOutTradeNo('S');
    await client.prepayApp({
      description: 'open',
      outTradeNo: open,
      notifyUrl: 'http://127.0.0.1:9/notify',
      amount: { total: 5 },
    });
    await setFaults(v3, { api: 'stale_query' });
    expect(await codeOf(client.queryByTransactionId(transactionId))).toBe('ORDERNOTEXIST');
    expect((await client.queryByOutTradeNo(open)).trade_state).toBe('NOTPAY');
    await sleep(CLOSABLE_AFTER_MS);
    await client.close(open);
    expect((await client.queryByOutTradeNo(open)).trade_state).toBe('CLOSED');
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('NOTPAY');
    await fetch(`${v3.url}/sandbox/faults`, { method: 'DELETE' });
    expect((await client.queryByTransactionId(transactionId)).trade_state).toBe('SUCCESS');
  });

  it('is a valid fault switch, with times', async () => {
    expect((await setFaults(v3, { api: 'stale_query', times: 3 })).json).toMatchObject({
      global: { api: 'stale_query', apiCallsLeft: 3 },
    });
  });
});
