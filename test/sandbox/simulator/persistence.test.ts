import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SimulatorOptionsError } from '#sandbox/simulator/options';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator, SimulatorOptions } from '#sandbox/simulator/server';
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

let receiver: Receiver;
let dataDir: string;
const running: RunningSimulator[] = [];

beforeAll(async () => {
  receiver = await Receiver.start();
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
  receiver.respond = () => ({ body: SUCCESS_REPLY });
  rmSync(dataDir, { recursive: true, force: true });
});
afterAll(async () => {
  await receiver.close();
});

async function start(options: Partial<SimulatorOptions> = {}): Promise<RunningSimulator> {
  const sim = await startSimulator({ merchant: MERCHANT, dataDir, ...options });
  running.push(sim);
  return sim;
}
async function stop(sim: RunningSimulator): Promise<void> {
  running.splice(running.indexOf(sim), 1);
  await sim.close();
}

describe('state kept under dataDir', () => {
  it('survives a restart: paid and unpaid orders, transaction_id, prepay_id, idempotency', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const first = await start();
    const paidOrder = await createOrder(first.url, { notify_url: receiver.url });
    const openOrder = await createOrder(first.url, {
      notify_url: receiver.url,
      trade_type: 'NATIVE',
      sign_type: 'HMAC-SHA256',
    });
    const paid = await pay(first.url, paidOrder.outTradeNo);
    await waitFor(
      async () => (await debugOrder(first.url, paidOrder.outTradeNo)).order?.notification?.status === 'delivered',
      5000,
    );
    await stop(first);

    expect(existsSync(join(dataDir, 'state.json'))).toBe(true);
    expect(readdirSync(dataDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(() => JSON.parse(readFileSync(join(dataDir, 'state.json'), 'utf8'))).not.toThrow();

    const second = await start();
    const paidQuery = await callV2(
      second.url,
      '/pay/orderquery',
      queryParams({ transaction_id: paid.json.transaction_id as string }),
    );
    expect(paidQuery.fields.trade_state).toBe('SUCCESS');
    expect(paidQuery.fields.out_trade_no).toBe(paidOrder.outTradeNo);
    expect(paidQuery.fields.time_end).toBe(paid.json.time_end);
    const again = await callV2(second.url, '/pay/unifiedorder', openOrder.params);
    expect(again.fields.prepay_id).toBe(openOrder.response.fields.prepay_id);
    expect(again.fields.code_url).toBe(openOrder.response.fields.code_url);
    expect(
      (await callV2(second.url, '/pay/unifiedorder', { ...openOrder.params, total_fee: '1' })).fields.err_code,
    ).toBe('OUT_TRADE_NO_USED');
    expect((await callV2(second.url, '/pay/unifiedorder', paidOrder.params)).fields.err_code).toBe('ORDERPAID');
    // The journal came back too.
    const debug = await debugOrder(second.url, paidOrder.outTradeNo);
    expect(debug.notifications.map((n) => n.outcome)).toEqual(['delivered']);
    // And the restarted simulator does not notify a delivered payment again.
    await sleep(100);
    expect(receiver.for(paidOrder.outTradeNo)).toHaveLength(1);
  });

  it('resumes a pending notification schedule after a restart, counting on from where it stopped', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const timeScale = 100; // the retry after attempt 1 is due 150 ms later
    const first = await start({ timeScale });
    const { outTradeNo } = await createOrder(first.url, { notify_url: receiver.url });
    receiver.respond = () => ({ body: FAIL_REPLY });
    await pay(first.url, outTradeNo);
    await waitFor(
      async () => (await debugOrder(first.url, outTradeNo)).order?.notification?.attempts === 1,
      5000,
      'attempt 1',
    );
    await stop(first);
    await sleep(400); // the retry falls due while the simulator is down
    expect(receiver.for(outTradeNo)).toHaveLength(1);

    receiver.respond = () => ({ body: SUCCESS_REPLY });
    const second = await start({ timeScale });
    await waitFor(
      async () => (await debugOrder(second.url, outTradeNo)).order?.notification?.status === 'delivered',
      5000,
      'delivery',
    );
    const debug = await debugOrder(second.url, outTradeNo);
    expect(debug.notifications.map((n) => [n.attempt, n.outcome])).toEqual([
      [1, 'failed'],
      [2, 'delivered'],
    ]);
    expect(receiver.for(outTradeNo)).toHaveLength(2);
  });

  it('refuses to start on a state file it cannot read back, rather than forget orders', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    writeFileSync(join(dataDir, 'state.json'), '{"version":1,"orders":[{"outTradeNo":1}],"journal":{}}');
    await expect(start()).rejects.toThrow(/state file/);
    writeFileSync(join(dataDir, 'state.json'), '{not json');
    await expect(start()).rejects.toThrow(/not JSON/);
  });

  it('keeps nothing on disk without dataDir', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const sim = await startSimulator({ merchant: MERCHANT });
    running.push(sim);
    const { outTradeNo } = await createOrder(sim.url);
    await stop(sim);
    const again = await startSimulator({ merchant: MERCHANT });
    running.push(again);
    expect(
      (await callV2(again.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }))).fields.err_code,
    ).toBe('ORDERNOTEXIST');
    expect(readdirSync(dataDir)).toEqual([]);
  });
});

describe('options', () => {
  it.each([
    ['a key that is not 32 characters', { merchant: { ...MERCHANT, apiKey: 'short' } }, 'merchant.apiKey'],
    ['a non-numeric mchid', { merchant: { ...MERCHANT, mchid: 'abc' } }, 'merchant.mchid'],
    ['a non-loopback host', { merchant: MERCHANT, host: '0.0.0.0' }, 'host'],
    ['a zero time scale', { merchant: MERCHANT, timeScale: 0 }, 'timeScale'],
    ['a negative port', { merchant: MERCHANT, port: -1 }, 'port'],
    ['an unknown option', { merchant: MERCHANT, colour: 'blue' }, 'colour'],
  ])('refuses %s, naming the field', async (_what, options, field) => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const attempt = startSimulator(options as unknown as SimulatorOptions);
    await expect(attempt).rejects.toBeInstanceOf(SimulatorOptionsError);
    await expect(attempt).rejects.toThrow(field);
  });

  it('never echoes the key in its error', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const secret = 'S3cr3t-with-dash-0000000000000000';
    await expect(startSimulator({ merchant: { ...MERCHANT, apiKey: secret } })).rejects.toSatisfy(
      (err: Error) => !err.message.includes(secret),
    );
  });

  it('binds the port it is given, and a busy port fails loudly', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'sim-state-'));
    const sim = await start();
    const port = Number(new URL(sim.url).port);
    expect(sim.url).toBe(`http://127.0.0.1:${port}`);
    await expect(startSimulator({ merchant: MERCHANT, port })).rejects.toThrow(/EADDRINUSE/);
  });
});
