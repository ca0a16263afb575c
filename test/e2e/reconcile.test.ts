import { PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { startTestStack, type TestStack } from '../helpers/local-stack';
import { waitFor } from '../helpers/wait-for';

/**
 * Reconciliation end to end: SQS (fauxqs) feeds the reconcile handler through the local event source,
 * which queries the simulator; faults switched on at the simulator.
 */
const TIME_SCALE = 600;

let stack: TestStack;
let seq = 0;

async function createOrder(overrides: Record<string, unknown> = {}): Promise<string> {
  seq += 1;
  const no = `R${Date.now()}${String(seq).padStart(3, '0')}`;
  const res = await stack.api('POST', '/orders', {
    out_trade_no: no,
    description: 'reconcile test',
    amount: { total: 888 },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.2' },
    ...overrides,
  });
  expect(res.status).toBe(201);
  return no;
}

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

async function statusOf(no: string): Promise<string | undefined> {
  return (await stack.store.get(no))?.status;
}

describe.each(['v2', 'v3'] as const)('reconciliation (%s)', (apiVersion) => {
  beforeAll(async () => {
    stack = await startTestStack({
      timeScale: TIME_SCALE,
      sweepIntervalMs: 500,
      visibilityTimeoutSeconds: 1,
      env: {
        WECHATPAY_API_VERSION: apiVersion,
        RECONCILE_SCHEDULE: '1',
        SWEEP_GRACE_SECONDS: '2',
        CLOSE_MIN_AGE_SECONDS: '1',
        // Orders without time_expire expire after this; short, so expiry tests run in seconds.
        PREPAY_TTL_SECONDS: '4',
      },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('marks a paid order PAID when its notification is dropped', async () => {
    const no = await createOrder();
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
    );
    const order = await stack.store.get(no);
    expect(order?.history.filter((h) => h.to === 'PAID')).toEqual([expect.objectContaining({ source: 'reconcile' })]);
  });

  it('still ends PAID when the WeChat API answers SYSTEMERROR for a while', async () => {
    const no = await createOrder();
    await simulator('POST', '/sandbox/faults', { notify: 'drop', api: 'systemerror', out_trade_no: no, times: 3 });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 20_000 },
    );
  });

  it('closes an order that expires unpaid, here and at WeChat', async () => {
    const longLived = await createOrder({ time_expire: new Date(Date.now() + 120_000).toISOString() });
    const no = await createOrder();
    await waitFor(
      () => statusOf(no),
      (s) => s === 'CLOSED',
      { timeoutMs: 30_000 },
    );
    const atWeChat = await simulator('GET', `/sandbox/orders/${no}`);
    expect(JSON.stringify(atWeChat.json)).toContain('CLOSED');
    expect(await statusOf(longLived)).toBe('PENDING');
  }, 40_000);

  it('goes on watching a failed payment, so a second try that is paid ends PAID', async () => {
    const no = await createOrder({ time_expire: new Date(Date.now() + 120_000).toISOString() });
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'FAIL' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'FAILED',
      { timeoutMs: 20_000 },
    );
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 20_000 },
    );
    expect((await stack.store.get(no))?.history.map((h) => h.to)).toEqual(['CREATED', 'PENDING', 'FAILED', 'PAID']);
  }, 45_000);

  it('closes a failed order when it expires, here and at WeChat', async () => {
    const no = await createOrder();
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'FAIL' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'CLOSED',
      { timeoutMs: 30_000 },
    );
    expect((await stack.store.get(no))?.history.map((h) => h.to)).toEqual(['CREATED', 'PENDING', 'FAILED', 'CLOSED']);
    expect(JSON.stringify((await simulator('GET', `/sandbox/orders/${no}`)).json)).toContain('CLOSED');
  }, 40_000);

  // Here because this stack gives prepays a 4-second life (PREPAY_TTL_SECONDS).
  it('renews a lapsed prepay when the same request comes again, and the payer can then pay', async () => {
    const body = {
      out_trade_no: `RN${Date.now()}`,
      description: 'renewal test',
      amount: { total: 888 },
      trade_type: 'NATIVE',
      product_id: 'sku',
      scene_info: { payer_client_ip: '198.51.100.2' },
      time_expire: new Date(Date.now() + 120_000).toISOString(),
    };
    expect((await stack.api('POST', '/orders', body)).status).toBe(201);
    const prepayOf = async () => (await stack.store.get(body.out_trade_no))?.prepay;
    const first = await prepayOf();

    // Lapsed here, but still alive at WeChat (2 h / TIME_SCALE = 12 s): WeChat answers the same
    // prepay_id, whose life is what it was, so nothing is stored.
    await new Promise((r) => setTimeout(r, 4_500));
    expect((await stack.api('POST', '/orders', body)).status).toBe(201);
    expect(await prepayOf()).toEqual(first);

    // Lapsed at WeChat too: a new prepay_id, valid from now.
    await new Promise((r) => setTimeout(r, 8_000));
    expect((await stack.api('POST', '/orders', body)).status).toBe(201);
    const renewed = await prepayOf();
    expect(renewed?.prepayId).not.toBe(first?.prepayId);
    expect(Date.parse(renewed?.validUntil ?? '')).toBeGreaterThan(Date.now());
    await simulator('POST', `/sandbox/orders/${body.out_trade_no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(body.out_trade_no),
      (s) => s === 'PAID',
      { timeoutMs: 20_000 },
    );
  }, 45_000);

  it('keeps the money when the order is paid as it expires', async () => {
    const no = await createOrder();
    // WeChat's query can lag its payment; the fault makes the query say NOTPAY so the close at expiry
    // meets ORDERPAID. The order must never be closed, and becomes PAID once the query catches up.
    await simulator('POST', '/sandbox/faults', { notify: 'drop', api: 'stale_query', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      async () => JSON.stringify((await simulator('GET', `/sandbox/orders/${no}`)).json),
      (debug) => debug.includes('close') && debug.includes('ORDERPAID'),
      { timeoutMs: 20_000 },
    );
    expect(await statusOf(no)).toBe('PENDING');
    await simulator('DELETE', '/sandbox/faults');
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 10_000 },
    );
    expect((await stack.store.get(no))?.history.map((h) => h.to)).toEqual(['CREATED', 'PENDING', 'PAID']);
  }, 40_000);

  it('moves a poisoned message to the dead-letter queue', async () => {
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: stack.queueUrl, MessageBody: '{"not":"a check"}' }));
    const dead = await waitFor(
      async () =>
        (
          await stack.sqs.send(
            new ReceiveMessageCommand({ QueueUrl: stack.dlqUrl, WaitTimeSeconds: 1, MaxNumberOfMessages: 10 }),
          )
        ).Messages ?? [],
      (messages) => messages.some((m) => m.Body === '{"not":"a check"}'),
      { timeoutMs: 30_000 },
    );
    expect(dead.length).toBeGreaterThan(0);
  }, 40_000);

  it('finds an order whose check message was lost, by the sweep', async () => {
    const no = await createOrder();
    await stack.sqs.send(new PurgeQueueCommand({ QueueUrl: stack.queueUrl }));
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 30_000 },
    );
  }, 40_000);

  it('answers a notification that comes after reconciliation with SUCCESS and changes nothing', async () => {
    const no = await createOrder();
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
    );
    const paid = await stack.store.get(no);
    const late = await stack.notifyPaid(no, paid?.payment?.transactionId ?? '', 888);
    expect(late.ok).toBe(true);
    expect((await stack.store.listNotifications(no)).map((n) => n.outcome)).toEqual(['accepted']);
    const after = await stack.store.get(no);
    expect(after?.updatedAt).toBe(paid?.updatedAt);
    expect(after?.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
  });
});

/**
 * The checks dense at first, when a lost notification is likeliest, then sparse (the default schedule's
 * shape, compressed to seconds): a payment whose notification is dropped is found in either phase, and
 * the checks in between write nothing (the order's watch bound stays its expiry).
 */
describe.each(['v2', 'v3'] as const)('reconciliation on a dense-then-sparse schedule (%s)', (apiVersion) => {
  beforeAll(async () => {
    stack = await startTestStack({
      timeScale: TIME_SCALE,
      visibilityTimeoutSeconds: 1,
      env: { WECHATPAY_API_VERSION: apiVersion, RECONCILE_SCHEDULE: '1,1,2,6', CLOSE_MIN_AGE_SECONDS: '1' },
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const expiringLater = () => ({ time_expire: new Date(Date.now() + 120_000).toISOString() });

  it('finds a payment made between the dense checks, its notification dropped', async () => {
    const no = await createOrder(expiringLater());
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    await sleep(1_500);
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 10_000 },
    );
    expect((await stack.store.get(no))?.history.at(-1)).toMatchObject({ to: 'PAID', source: 'reconcile' });
  }, 20_000);

  it('finds a payment made after the dense checks, which wrote nothing: the bound is still the expiry', async () => {
    const no = await createOrder(expiringLater());
    await simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: no });
    const created = await stack.store.get(no);
    expect(created?.nextCheckAt).toBe(created?.request.expiresAt);
    // The checks at about 1, 2 and 4 s have run; the next comes about 6 s later.
    await sleep(5_500);
    const waiting = await stack.store.get(no);
    expect(waiting).toMatchObject({ status: 'PENDING', nextCheckAt: created?.request.expiresAt });
    expect(waiting?.updatedAt).toBe(created?.updatedAt);
    await simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    await waitFor(
      () => statusOf(no),
      (s) => s === 'PAID',
      { timeoutMs: 15_000 },
    );
    expect((await stack.store.get(no))?.history.at(-1)).toMatchObject({ to: 'PAID', source: 'reconcile' });
  }, 30_000);
});
