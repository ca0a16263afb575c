import { randomBytes } from 'node:crypto';

import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { EventView } from '#shared/app/event-view';
import { eventIdOf, type EventType } from '#shared/domain/events';
import { startTestStack, type TestStack } from '../helpers/local-stack';
import {
  completeAtWechat,
  requestRefund,
  uniqueNo,
  waitForAcceptance,
  waitForRefundStatus,
} from '../helpers/refund-e2e';
import { waitFor } from '../helpers/wait-for';
import { type ReceivedWebhook, startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver';

/**
 * Events to the app backend end to end: the local stack's table stream feeds the events handler, which
 * records each event and queues it; the webhooks handler POSTs it to a receiver on loopback that
 * verifies every request with the off-the-shelf `standardwebhooks` library, as a merchant would. The
 * simulator acts as the payer and as WeChat's refund side; `GET /events` is read through the gateway.
 */

/** WeChat's durations ÷ 20: the 5-minute close rule is 15 s, a refund finishes by itself after 3 s. */
const TIME_SCALE = 20;
/** GET /events shows an event only 10 s after it was recorded (EVENTS_SETTLE_MS), plus slack. */
const LISTED_WITHIN_MS = 30_000;

let stack: TestStack;
let receiver: WebhookReceiver;
/** The `next` of a listing made before any event: a backend polling from it must see every event. */
let cursorBeforeAll: string;
const secret = `whsec_${randomBytes(32).toString('base64')}`;

beforeAll(async () => {
  receiver = await startWebhookReceiver({ secret });
  stack = await startTestStack({
    timeScale: TIME_SCALE,
    sweepIntervalMs: 500,
    visibilityTimeoutSeconds: 1,
    streamPollIntervalMs: 50,
    env: {
      WECHATPAY_API_VERSION: 'v2',
      MERCHANT_WEBHOOK_URL: receiver.url,
      MERCHANT_WEBHOOK_SECRET: secret,
      WEBHOOK_RETRY_SCHEDULE: '1,1,1',
      // An unpaid order expires 8 s after creation (WeChat wants time_expire a minute ahead, scaled: 3 s)
      // and is checked every second, so an expiry closes it as soon as WeChat's 5-minute rule (15 s) allows.
      PREPAY_TTL_SECONDS: '8',
      RECONCILE_SCHEDULE: '1',
      SWEEP_GRACE_SECONDS: '2',
      CLOSE_MIN_AGE_SECONDS: '1',
    },
  });
  const empty = await stack.api('GET', '/events');
  expect(empty.status, empty.text).toBe(200);
  expect(empty.json.events).toEqual([]);
  // Even an empty page hands out a cursor: the settled bound the listing read up to.
  expect(typeof empty.json.next).toBe('string');
  cursorBeforeAll = empty.json.next as string;
}, 60_000);

afterAll(async () => {
  await stack?.stop();
  await receiver?.close();
});

async function createOrder(total: number): Promise<string> {
  const no = uniqueNo('EV');
  const created = await stack.api('POST', '/orders', {
    out_trade_no: no,
    description: 'events test',
    amount: { total },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.9' },
  });
  expect(created.status, created.text).toBe(201);
  return no;
}

async function pay(no: string, result: 'SUCCESS' | 'FAIL' = 'SUCCESS'): Promise<Record<string, unknown>> {
  const paid = await stack.simulator('POST', `/sandbox/orders/${no}/pay`, { result });
  expect(paid.status, paid.text).toBe(200);
  return paid.json;
}

function wire(attempt: ReceivedWebhook): EventView {
  return JSON.parse(attempt.body) as EventView;
}

/** The attempts that carried events about this order (its payment's and its refunds'). */
function attemptsFor(attempts: readonly ReceivedWebhook[], no: string): ReceivedWebhook[] {
  return attempts.filter((a) => wire(a).data.out_trade_no === no);
}

/** Delivered (verified and answered 2xx) events of the order, in arrival order. */
function deliveredFor(no: string): EventView[] {
  return receiver.delivered().filter((e) => e.data.out_trade_no === no) as EventView[];
}

/** Waits until the receiver has been delivered an event of `type` for `no`, and returns it. */
async function delivery(no: string, type: EventType, outRefundNo?: string): Promise<EventView> {
  const match = (e: EventView) =>
    e.type === type &&
    e.data.out_trade_no === no &&
    (outRefundNo === undefined || e.data.out_refund_no === outRefundNo);
  await receiver.waitFor(() => (receiver.delivered() as EventView[]).some(match), 30_000);
  return (receiver.delivered() as EventView[]).find(match) as EventView;
}

/** What a Standard Webhooks receiver relies on, for one request. */
function expectStandardWebhook(attempt: ReceivedWebhook): void {
  const event = wire(attempt);
  expect(attempt.verified, attempt.verifyError).toBe(true);
  expect(attempt.headers['webhook-id']).toBe(event.id);
  expect(attempt.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+={0,2}$/);
  // The timestamp is this attempt's, not the event's: within a couple of seconds of its arrival.
  expect(Math.abs(Number(attempt.headers['webhook-timestamp']) - attempt.at / 1000)).toBeLessThan(3);
  expect(attempt.headers['content-type']).toContain('application/json');
  expect(event.id).toMatch(/^evt_[0-9a-f]{32}$/);
}

/** Nothing more arrives for a while: what was delivered once stays delivered once. */
async function quietFor(ms: number): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
}

/**
 * Every settled event GET /events lists from `from` (the start without it), walking the pages with
 * `next`: a full page's `next` is its last event; a page that is not full has read everything settled,
 * and its `next` (the settled bound) is where the following walk starts.
 */
async function listAll(limit = 100, from?: string): Promise<{ events: EventView[]; pages: number; next: string }> {
  const events: EventView[] = [];
  let after = from;
  for (let pages = 1; ; pages += 1) {
    const query = new URLSearchParams({ limit: String(limit), ...(after === undefined ? {} : { after }) });
    const page = await stack.api('GET', `/events?${query.toString()}`);
    expect(page.status, page.text).toBe(200);
    const got = page.json.events as EventView[];
    expect(got.length).toBeLessThanOrEqual(limit);
    events.push(...got);
    const next = page.json.next as unknown;
    expect(typeof next).toBe('string');
    after = next as string;
    if (got.length < limit) return { events, pages, next: after };
  }
}

async function listedEvents(ids: readonly string[], from?: string): Promise<EventView[]> {
  const { events } = await waitFor(
    () => listAll(100, from),
    ({ events: listed }) => ids.every((id) => listed.some((e) => e.id === id)),
    { timeoutMs: LISTED_WITHIN_MS, intervalMs: 500 },
  );
  return events;
}

describe('events to the app backend', () => {
  // The two orders left to expire are made first, so their 15 s wait for WeChat's close rule runs
  // while the other cases do; their own cases come later and find them (nearly) closed.
  let failedThenExpired: Promise<string>;
  let expired: Promise<string>;
  beforeAll(() => {
    failedThenExpired = createOrder(303).then(async (no) => {
      await pay(no, 'FAIL');
      return no;
    });
    expired = createOrder(404);
    // Awaited by their cases, which report a failure; not an unhandled rejection meanwhile.
    for (const pending of [failedThenExpired, expired]) pending.catch(() => undefined);
  });

  // First, while no other order is about: the retry is the only traffic.
  it('retries a receiver that fails twice with the same webhook-id, freshly signed, until a 2xx', async () => {
    const hung = await createOrder(101);
    const dropped = await createOrder(102);
    const hungId = eventIdOf({ outTradeNo: hung }, 'payment.succeeded');
    const droppedId = eventIdOf({ outTradeNo: dropped }, 'payment.succeeded');
    receiver.failNext(1, 500, hungId);
    receiver.hangNext(1, hungId);
    receiver.closeNext(1, droppedId);
    receiver.failNext(1, 503, droppedId);
    await Promise.all([pay(hung), pay(dropped)]);

    for (const [no, id, outcomes] of [
      [hung, hungId, [500, 'hang', 204]],
      [dropped, droppedId, ['close', 503, 204]],
    ] as const) {
      await receiver.waitFor((all) => attemptsFor(all, no).some((a) => a.answered === 204), 45_000);
      const attempts = attemptsFor(receiver.attempts, no);
      expect(attempts.map((a) => a.answered)).toEqual(outcomes);
      expect(attempts.map((a) => a.headers['webhook-id'])).toEqual([id, id, id]);
      attempts.forEach(expectStandardWebhook);
      // The same bytes each time, each signed at its own time.
      expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
      const stamps = attempts.map((a) => Number(a.headers['webhook-timestamp']));
      expect(stamps[2]! - stamps[0]!).toBeGreaterThanOrEqual(2);
      expect(new Set(attempts.map((a) => a.headers['webhook-signature'])).size).toBeGreaterThan(1);
    }
    await quietFor(2_500);
    expect(attemptsFor(receiver.attempts, hung)).toHaveLength(3);
    expect(attemptsFor(receiver.attempts, dropped)).toHaveLength(3);
  }, 90_000);

  it('sends one payment.succeeded with the order view when an order is paid', async () => {
    const no = await createOrder(2501);
    await pay(no);
    const event = await delivery(no, 'payment.succeeded');
    const view = await stack.api('GET', `/orders/${no}`);
    expect(view.json).toMatchObject({ status: 'PAID', amount: expect.objectContaining({ total: 2501 }) });
    expect(event.data).toEqual(view.json);
    const order = await stack.store.get(no);
    const paidAt = order?.history.find((h) => h.to === 'PAID')?.at;
    expect(Date.parse(event.created_at)).toBe(Date.parse(paidAt ?? ''));
    await quietFor(2_000);
    const attempts = attemptsFor(receiver.attempts, no);
    expect(attempts).toHaveLength(1);
    attempts.forEach(expectStandardWebhook);
  }, 45_000);

  it('sends payment.failed when the payer fails, then payment.closed at expiry, in that order', async () => {
    const no = await failedThenExpired;
    const failed = await delivery(no, 'payment.failed');
    expect(failed.data).toMatchObject({ out_trade_no: no, status: 'FAILED' });
    const closed = await delivery(no, 'payment.closed');
    expect(closed.data).toMatchObject({ out_trade_no: no, status: 'CLOSED' });
    expect(deliveredFor(no).map((e) => e.type)).toEqual(['payment.failed', 'payment.closed']);
    expect(Date.parse(closed.created_at)).toBeGreaterThan(Date.parse(failed.created_at));
    attemptsFor(receiver.attempts, no).forEach(expectStandardWebhook);
  }, 60_000);

  it('sends payment.closed when an unpaid order expires', async () => {
    const no = await expired;
    const closed = await delivery(no, 'payment.closed');
    expect(closed.data).toMatchObject({ out_trade_no: no, status: 'CLOSED' });
    expect((await stack.api('GET', `/orders/${no}`)).json.status).toBe('CLOSED');
    expect(deliveredFor(no).map((e) => e.type)).toEqual(['payment.closed']);
  }, 60_000);

  it('sends refund.succeeded, refund.closed and refund.abnormal with the refund view', async () => {
    const no = await createOrder(300);
    await pay(no);
    await delivery(no, 'payment.succeeded');
    const outcomes = [
      ['SUCCESS', 'refund.succeeded'],
      ['CLOSED', 'refund.closed'],
      ['ABNORMAL', 'refund.abnormal'],
    ] as const;
    for (const [result, type] of outcomes) {
      const rno = uniqueNo(`EVR${result.slice(0, 1)}`);
      const asked = await requestRefund(stack, no, { out_refund_no: rno, amount: { refund: 100 } });
      expect(asked.status, asked.text).toBe(201);
      await waitForAcceptance(stack, no, rno);
      await completeAtWechat(stack, rno, result);
      await waitForRefundStatus(stack, no, rno, result);
      const event = await delivery(no, type, rno);
      const view = await stack.api('GET', `/orders/${no}/refunds/${rno}`);
      expect(view.json).toMatchObject({ out_refund_no: rno, status: result });
      expect(event.data).toEqual(view.json);
      expect(event.id).toBe(eventIdOf({ outTradeNo: no, outRefundNo: rno }, type));
    }
    await quietFor(2_000);
    // A refund changes the order's counters, not its status: no second payment event.
    expect(deliveredFor(no).map((e) => e.type)).toEqual([
      'payment.succeeded',
      'refund.succeeded',
      'refund.closed',
      'refund.abnormal',
    ]);
    attemptsFor(receiver.attempts, no).forEach(expectStandardWebhook);
  }, 60_000);

  it('makes one event of 20 duplicate notifications racing a reconcile check and a sync GET', async () => {
    const no = await createOrder(777);
    // The simulator sends every attempt 5 times at once; the test adds 15 copies of its own.
    const fault = await stack.simulator('POST', '/sandbox/faults', { notify: 'duplicate', out_trade_no: no });
    expect(fault.status, fault.text).toBe(200);
    const paid = await pay(no);
    const transactionId = paid.transaction_id as string;
    expect(transactionId).toMatch(/^\d{28}$/);
    const [notified, synced] = await Promise.all([
      Promise.all(Array.from({ length: 15 }, () => stack.notifyPaid(no, transactionId, 777))),
      stack.api('GET', `/orders/${no}?sync=1`),
      stack.sqs.send(
        new SendMessageCommand({
          QueueUrl: stack.queueUrl,
          MessageBody: JSON.stringify({ outTradeNo: no, attempt: 1, dueAt: new Date().toISOString() }),
        }),
      ),
    ]);
    expect(notified.every((n) => n.ok)).toBe(true);
    expect(synced.json.status).toBe('PAID');
    await delivery(no, 'payment.succeeded');
    await waitFor(
      async () => (await stack.simulator('GET', `/sandbox/orders/${no}`)).text,
      (text) => (text.match(/"outcome":"delivered"/g) ?? []).length >= 5,
    );
    await quietFor(3_000);
    const attempts = attemptsFor(receiver.attempts, no);
    expect(new Set(attempts.map((a) => a.headers['webhook-id']))).toEqual(
      new Set([eventIdOf({ outTradeNo: no }, 'payment.succeeded')]),
    );
    expect(deliveredFor(no)).toHaveLength(1);
    expect((await stack.store.get(no))?.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    const listed = (await listedEvents([eventIdOf({ outTradeNo: no }, 'payment.succeeded')])).filter(
      (e) => e.data.out_trade_no === no,
    );
    expect(listed.map((e) => e.type)).toEqual(['payment.succeeded']);
    await stack.simulator('DELETE', '/sandbox/faults');
  }, 90_000);

  it('lists events oldest first, pages with next seeing each once and missing none, refuses a bad cursor', async () => {
    const sent = [...new Map(receiver.delivered().map((e) => [e.id, e])).values()] as EventView[];
    // 2 retried + 1 paid + failed and closed + 1 expired + 1 paid and 3 refunds + 1 from duplicates.
    expect(sent.length).toBeGreaterThanOrEqual(11);
    const listed = await listedEvents(sent.map((e) => e.id));
    // Each event once, the same as was sent.
    expect(new Set(listed.map((e) => e.id)).size).toBe(listed.length);
    for (const e of sent) expect(listed.find((l) => l.id === e.id)).toEqual(e);
    // Oldest first: per order in the order of its changes, and overall by time (recorded just after).
    const byOrder = new Map<string, EventView[]>();
    for (const e of listed) {
      const no = e.data.out_trade_no as string;
      byOrder.set(no, [...(byOrder.get(no) ?? []), e]);
    }
    for (const events of byOrder.values()) {
      const times = events.map((e) => Date.parse(e.created_at));
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    for (let i = 1; i < listed.length; i += 1) {
      expect(Date.parse(listed[i]!.created_at)).toBeGreaterThan(Date.parse(listed[i - 1]!.created_at) - 1_000);
    }

    const paged = await listAll(2);
    expect(paged.pages).toBeGreaterThanOrEqual(Math.ceil(listed.length / 2));
    expect(paged.events.map((e) => e.id).slice(0, listed.length)).toEqual(listed.map((e) => e.id));
    expect(new Set(paged.events.map((e) => e.id)).size).toBe(paged.events.length);

    // The cursor an empty listing handed out before the first event misses none of those recorded since.
    const sinceStart = await listAll(100, cursorBeforeAll);
    expect(sinceStart.events.map((e) => e.id).slice(0, listed.length)).toEqual(listed.map((e) => e.id));
    // The `next` of a walk that read everything repeats nothing when asked again.
    const again = await listAll(100, paged.next);
    const seen = new Set(paged.events.map((e) => e.id));
    expect(again.events.filter((e) => seen.has(e.id))).toEqual([]);

    // A cursor from the middle gives exactly what follows it.
    const first = await stack.api('GET', '/events?limit=3');
    const rest = await stack.api('GET', `/events?limit=100&after=${encodeURIComponent(first.json.next as string)}`);
    expect((rest.json.events as EventView[]).map((e) => e.id).slice(0, listed.length - 3)).toEqual(
      listed.slice(3).map((e) => e.id),
    );

    for (const bad of ['not-a-cursor!', 'AAAA', encodeURIComponent(Buffer.from('x').toString('base64url'))]) {
      const refused = await stack.api('GET', `/events?after=${bad}`);
      expect(refused.status, `${bad}: ${refused.text}`).toBe(400);
      expect(refused.json).toMatchObject({ error: { field: 'after' } });
    }
    const tooMany = await stack.api('GET', '/events?limit=101');
    expect(tooMany.status).toBe(400);
    expect(tooMany.json).toMatchObject({ error: { field: 'limit' } });
  }, 90_000);
});
