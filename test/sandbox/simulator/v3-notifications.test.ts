import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { notificationEnvelopeSchema } from '#shared/wechatpay/v3/notification';
import type { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import { DUPLICATE_COPIES } from '#sandbox/simulator/notification-scheduler';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { NOTIFY_RETRY_INTERVALS_MS } from '#sandbox/simulator/time-rules';
import { controlPost, debugOrder, newOutTradeNo, pay, sleep, waitFor } from './support';
import { APIV3_KEY, platformKeys, platformOf, startV3Simulator, v3Client, V3Receiver } from './v3-support';
import type { V3Answer, V3Received } from './v3-support';

// v3 payment notifications delivered to a real endpoint on loopback that verifies and decrypts them
// with the product's own codec (shared/adapters/wechatpay-v3-notification-codec.ts).

const TIME_SCALE = 100; // 15 s become 150 ms
const FIRST_RETRY_MS = 15_000 / TIME_SCALE;
const REPLY_TIMEOUT_MS = 1000;
let sim: RunningSimulator;
let receiver: V3Receiver;
let client: WechatPayV3Client;

beforeAll(async () => {
  sim = await startV3Simulator({ timeScale: TIME_SCALE, notifyReplyTimeoutMs: REPLY_TIMEOUT_MS });
  receiver = await V3Receiver.start(platformKeys(sim));
  client = v3Client(sim).client;
});
afterEach(async () => {
  receiver.respond = () => undefined;
  await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

async function order(total = 1999): Promise<string> {
  const outTradeNo = newOutTradeNo('N');
  await client.prepayJsapi({
    description: '通知测试',
    outTradeNo,
    notifyUrl: receiver.url,
    amount: { total },
    attach: 'a=1',
    payerOpenid: 'oJsapiOpenid',
  });
  return outTradeNo;
}
const job = async (outTradeNo: string) => (await debugOrder(sim.url, outTradeNo)).order?.notification;
const delivered = (outTradeNo: string, timeoutMs = 5000) =>
  waitFor(async () => (await job(outTradeNo))?.status === 'delivered', timeoutMs, `delivery for ${outTradeNo}`);
const setFaults = (body: Record<string, unknown>) => controlPost(sim.url, '/sandbox/faults', body);
const isTrade = (r: V3Received | undefined) => r?.verified.kind === 'trade';

describe('v3 payment notification', () => {
  it('is a signed JSON envelope whose AES-256-GCM resource the product’s codec verifies and decrypts', async () => {
    const outTradeNo = await order();
    const paid = await pay(sim.url, outTradeNo, 'SUCCESS', 'oPaidOpenid');
    await delivered(outTradeNo);
    const [note, ...more] = receiver.for(outTradeNo);
    expect(more).toEqual([]);
    expect(note?.verified).toEqual({
      kind: 'trade',
      report: {
        outTradeNo,
        state: 'SUCCESS',
        appid: client.appid,
        mchid: client.mchid,
        description: '支付成功',
        amount: { total: 1999, currency: 'CNY' },
        payment: {
          transactionId: paid.json.transaction_id,
          amountTotal: 1999,
          currency: 'CNY',
          paidAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/),
          bankType: 'OTHERS',
          payerOpenid: 'oPaidOpenid',
        },
      },
    });
    expect(note?.headers['content-type']).toMatch(/^application\/json/);
    expect(note?.headers['wechatpay-serial']).toBe(platformOf(sim).publicKeyId);
    expect(Math.abs(Number(note?.headers['wechatpay-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
    const envelope = notificationEnvelopeSchema.parse(JSON.parse(note?.body ?? '{}'));
    expect(envelope).toMatchObject({
      event_type: 'TRANSACTION.SUCCESS',
      resource_type: 'encrypt-resource',
      summary: '支付成功',
      resource: { algorithm: 'AEAD_AES_256_GCM', associated_data: 'transaction', original_type: 'transaction' },
    });
    expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(envelope.resource.nonce).toHaveLength(12);
    // The resource is the transaction as the query API tells it.
    expect(note?.transaction).toEqual(await client.queryByOutTradeNo(outTradeNo));
    expect(note?.body).not.toContain(outTradeNo); // only inside the ciphertext
    expect(await job(outTradeNo)).toMatchObject({ status: 'delivered', attempts: 1 });
    const journal = (await debugOrder(sim.url, outTradeNo)).notifications;
    expect(journal).toEqual([expect.objectContaining({ outcome: 'delivered', httpStatus: 204 })]);
    expect(JSON.stringify(await debugOrder(sim.url, outTradeNo))).not.toContain(APIV3_KEY);
  });

  it('is acknowledged by 200 as well as 204, whatever the body', async () => {
    const outTradeNo = await order();
    receiver.respond = () => ({ status: 200, body: '' });
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo);
    expect(receiver.for(outTradeNo)).toHaveLength(1);
  });

  it('is retried on WeChat’s schedule until 200/204: attempts and spacing; same id, fresh signature', async () => {
    const outTradeNo = await order();
    const failures = 4;
    receiver.respond = (_i, r) =>
      r.transaction?.out_trade_no === outTradeNo && receiver.for(outTradeNo).length <= failures
        ? { status: 500, body: '{"code":"FAIL","message":"busy"}' }
        : undefined;
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo, 10_000);
    const notes = receiver.for(outTradeNo);
    expect(notes).toHaveLength(failures + 1);
    expect(notes.every(isTrade)).toBe(true);
    const gaps = notes.slice(1).map((n, i) => n.at - (notes[i] as V3Received).at);
    const expected = NOTIFY_RETRY_INTERVALS_MS.slice(0, failures).map((ms) => ms / TIME_SCALE); // 150, 150, 300, 1800
    gaps.forEach((gap, i) => {
      expect(gap).toBeGreaterThanOrEqual((expected[i] as number) - 5);
      expect(gap).toBeLessThan((expected[i] as number) + 400);
    });
    expect(gaps[3]).toBeGreaterThan((gaps[2] as number) + 500);
    const ids = notes.map((n) => (JSON.parse(n.body) as { id: string }).id);
    expect(new Set(ids).size).toBe(1);
    expect(new Set(notes.map((n) => n.headers['wechatpay-nonce'])).size).toBe(notes.length);
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications.map((n) => [n.attempt, n.outcome, n.httpStatus])).toEqual([
      [1, 'failed', 500],
      [2, 'failed', 500],
      [3, 'failed', 500],
      [4, 'failed', 500],
      [5, 'delivered', 204],
    ]);
  });

  it.each<[string, V3Answer]>([
    ['HTTP 400 with a JSON body', { status: 400, body: '{"code":"FAIL","message":"no"}' }],
    ['HTTP 202', { status: 202, body: '' }],
    ['a reply slower than the reply timeout', { delayMs: REPLY_TIMEOUT_MS + 300 }],
  ])('counts %s as a failure and retries', async (_what, answer) => {
    const outTradeNo = await order();
    receiver.respond = (_i, r) =>
      r.transaction?.out_trade_no === outTradeNo && receiver.for(outTradeNo).length === 1 ? answer : undefined;
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo, 10_000);
    const outcomes = (await debugOrder(sim.url, outTradeNo)).notifications.map((n) => n.outcome);
    expect(outcomes).toEqual([answer.delayMs === undefined ? 'failed' : 'timeout', 'delivered']);
  });

  it('a failed payment notifies nothing in v3 (only TRANSACTION.SUCCESS exists); the query says PAYERROR', async () => {
    const outTradeNo = await order();
    const failed = await pay(sim.url, outTradeNo, 'FAIL');
    expect(failed.json).toMatchObject({ trade_state: 'PAYERROR', notification: null });
    await sleep(FIRST_RETRY_MS * 3);
    expect(receiver.for(outTradeNo)).toEqual([]);
    expect((await debugOrder(sim.url, outTradeNo)).notifications).toEqual([]);
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('PAYERROR');
    // The payer may try again; that success is notified.
    await pay(sim.url, outTradeNo, 'SUCCESS');
    await delivered(outTradeNo);
    expect(receiver.for(outTradeNo)).toHaveLength(1);
  });

  it('gives up after the 16th attempt (the whole 24h4m schedule, time-scaled); the order stays paid', async () => {
    const fast = await startV3Simulator({ timeScale: 50_000 });
    try {
      const fastClient = v3Client(fast).client;
      const outTradeNo = newOutTradeNo('G');
      await fastClient.prepayNative({
        description: 'give up',
        outTradeNo,
        notifyUrl: receiver.url,
        amount: { total: 1 },
      });
      receiver.respond = () => ({ status: 500, body: '' });
      await pay(fast.url, outTradeNo);
      await waitFor(
        async () => (await debugOrder(fast.url, outTradeNo)).order?.notification?.status === 'gave_up',
        15_000,
        'give up',
      );
      expect(receiver.for(outTradeNo)).toHaveLength(16);
      await sleep(100);
      expect(receiver.for(outTradeNo)).toHaveLength(16);
      expect((await fastClient.queryByOutTradeNo(outTradeNo)).trade_state).toBe('SUCCESS');
    } finally {
      await fast.close();
    }
  });
});

describe('v3 notification faults', () => {
  it('drop: nothing is delivered, yet the order is paid and the query says so', async () => {
    const outTradeNo = await order();
    await setFaults({ notify: 'drop', out_trade_no: outTradeNo });
    await pay(sim.url, outTradeNo);
    await waitFor(async () => (await job(outTradeNo))?.status === 'dropped', 3000, 'dropped');
    await sleep(FIRST_RETRY_MS * 2);
    expect(receiver.for(outTradeNo)).toEqual([]);
    expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('SUCCESS');
  });

  it('duplicate: several identical, valid copies at once, concurrently', async () => {
    const outTradeNo = await order();
    await setFaults({ notify: 'duplicate', out_trade_no: outTradeNo });
    receiver.maxInFlight = 0;
    receiver.respond = () => ({ delayMs: 150 });
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo);
    const copies = receiver.for(outTradeNo);
    expect(copies).toHaveLength(DUPLICATE_COPIES);
    expect(new Set(copies.map((c) => c.body)).size).toBe(1);
    expect(new Set(copies.map((c) => c.headers['wechatpay-signature'])).size).toBe(1);
    expect(copies.every(isTrade)).toBe(true);
    expect(receiver.maxInFlight).toBeGreaterThan(1);
  });

  it('delay: the first delivery comes one retry interval late', async () => {
    const prompt = await order();
    const late = await order();
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

  it('corrupt_sign: the codec refuses the signature (500, so WeChat retries); valid again once cleared', async () => {
    const outTradeNo = await order();
    await setFaults({ notify: 'corrupt_sign', out_trade_no: outTradeNo });
    await pay(sim.url, outTradeNo);
    await waitFor(() => receiver.for(outTradeNo).length >= 2, 3000, 'two refused notifications');
    const [bad] = receiver.for(outTradeNo);
    expect(bad?.verified).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('bad_signature') });
    expect(bad?.headers['wechatpay-signature']).toMatch(/^[A-Za-z0-9+/]{342}==$/);
    expect(bad?.transaction?.out_trade_no).toBe(outTradeNo); // correctly encrypted: only the signature is wrong
    expect((await job(outTradeNo))?.status).toBe('pending');
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    await delivered(outTradeNo);
    const last = receiver.for(outTradeNo).at(-1);
    expect(last?.verified.kind).toBe('trade');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.notifications.at(0)).toMatchObject({ outcome: 'failed', httpStatus: 500, fault: 'corrupt_sign' });
  });

  it('change_amount: a correctly encrypted and signed notification for another amount', async () => {
    const outTradeNo = await order(500);
    await setFaults({ notify: 'change_amount', out_trade_no: outTradeNo });
    await pay(sim.url, outTradeNo);
    await delivered(outTradeNo);
    const [note] = receiver.for(outTradeNo);
    expect(note?.verified.kind).toBe('trade');
    const report = note?.verified.kind === 'trade' ? note.verified.report : undefined;
    expect(report?.amount?.total).not.toBe(500);
    expect(report?.payment?.amountTotal).toBe(report?.amount?.total);
    expect(note?.transaction?.amount).toMatchObject({ payer_total: report?.amount?.total });
    // WeChat's own record is unchanged.
    expect((await client.queryByOutTradeNo(outTradeNo)).amount).toMatchObject({ total: 500, payer_total: 500 });
  });
});
