import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  BILL_DAY_BUDGET_MS,
  billDayWithRoom,
  clearOrderFaults,
  expectStillBillDay,
  createOrder,
  paidButLost,
  paymentSucceededEvents,
  reconcileDay,
  reconciledDay,
  setBillFaults,
  storedReconciliation,
} from '../helpers/bill-e2e';
import { startTestStack, type TestStack } from '../helpers/local-stack';
import { paidOrder, requestRefund, uniqueNo, waitForRefundStatus } from '../helpers/refund-e2e';
import { waitFor } from '../helpers/wait-for';

/**
 * Daily bill reconciliation end to end, in both API versions: the simulator builds today's (Beijing)
 * ALL bill from its own trades and refunds and serves it as WeChat does (v2 `pay/downloadbill`, v3
 * `/v3/bill/tradebill` + the signed download), the bills handler behind the local gateway downloads,
 * parses and compares it with DynamoDB Local's settled index, repairs through the notification path,
 * and stores the report. Each version has its own stack (and simulator), so a day's bill holds exactly
 * this suite's trades; the tests build on one another, in order, on that one day, which is chosen with
 * room enough before Beijing midnight for all of them (billDayWithRoom).
 */

/** GET /events lists an event 10 s after it is recorded (EVENTS_SETTLE_MS), plus slack. */
const LISTED_WITHIN_MS = 30_000;
/**
 * WeChat's durations ÷ 60: an order can be closed 5 s after its creation (WeChat: 5 minutes), a refund
 * finishes by itself within a second or so.
 */
const TIME_SCALE = 60;

describe.each(['v2', 'v3'] as const)('bill reconciliation (%s)', (apiVersion) => {
  let stack: TestStack;
  let billDate: string;
  /** Bill lines of the day so far: payments and refunds WeChat made today. */
  let lines = 0;

  beforeAll(async () => {
    billDate = await billDayWithRoom();
    stack = await startTestStack({
      timeScale: TIME_SCALE,
      env: {
        WECHATPAY_API_VERSION: apiVersion,
        REFUND_CHECK_SCHEDULE: '1',
        // No reconciler query during the suite: what WeChat never told us is found by the bill alone.
        RECONCILE_SCHEDULE: '3600',
      },
    });
    // Near Beijing midnight billDayWithRoom waits up to the budget, then the stack starts.
  }, BILL_DAY_BUDGET_MS + 60_000);

  beforeEach(() => {
    expectStillBillDay(billDate);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('reconciles a day of paid, unpaid, closed and refunded orders MATCHED, and serves the stored report', async () => {
    const closed = await createOrder(stack, 400);
    await paidOrder(stack, 100);
    const refunded = await paidOrder(stack, 250);
    const outRefundNo = uniqueNo('BLR');
    const asked = await requestRefund(stack, refunded.outTradeNo, {
      out_refund_no: outRefundNo,
      amount: { refund: 70 },
    });
    expect(asked.status, asked.text).toBe(201);
    // The simulator finishes it by itself (scaled) and notifies.
    await waitForRefundStatus(stack, refunded.outTradeNo, outRefundNo, 'SUCCESS');
    await createOrder(stack, 300); // unpaid: on no bill
    // WeChat closes an order only once it is old enough (scaled: seconds). Asked at the very first
    // moment the stack allows (its order's creation), WeChat may still refuse: its own order was made
    // a few milliseconds later.
    const closing = await waitFor(
      () => stack.api('POST', `/orders/${closed}/close`),
      (answer) => answer.status === 200,
      { timeoutMs: 20_000, intervalMs: 500 },
    );
    expect(closing.status, closing.text).toBe(200);
    expect(closing.json.status).toBe('CLOSED');
    lines = 3; // two payments and a refund

    const report = await reconciledDay(stack, billDate);
    expect(report).toMatchObject({
      bill_date: billDate,
      status: 'MATCHED',
      counts: { wechat: lines, here: lines, matched: lines, discrepancies: 0 },
      discrepancies: [],
      bill_found: true,
      api_version: apiVersion,
    });
    expect(Date.parse(report.reconciled_at)).toBeLessThanOrEqual(Date.now());

    const stored = await storedReconciliation(stack, billDate);
    expect(stored.status, stored.text).toBe(200);
    expect(stored.json).toEqual(report);
  });

  it('finds a payment WeChat never told us of (NOT_PAID_HERE), repairs it with its event, then MATCHED', async () => {
    const lost = await paidButLost(stack, 520);
    lines += 1;
    // WeChat's query tells the truth again (the order stays PENDING until someone asks).
    await clearOrderFaults(stack);

    const report = await reconciledDay(stack, billDate);
    expect(report.status).toBe('DISCREPANCIES');
    expect(report.counts).toEqual({ wechat: lines, here: lines, matched: lines - 1, discrepancies: 1 });
    expect(report.discrepancies).toEqual([
      {
        kind: 'NOT_PAID_HERE',
        out_trade_no: lost,
        wechat: { status: 'SUCCESS', amount: 520, transaction_id: expect.any(String) },
        here: { status: 'PENDING', amount: 520 },
        repaired: true,
      },
    ]);

    const order = await stack.api('GET', `/orders/${lost}`);
    expect(order.status, order.text).toBe(200);
    expect(order.json.status).toBe('PAID');
    expect((await stack.store.get(lost))?.history.filter((h) => h.to === 'PAID')).toEqual([
      expect.objectContaining({ source: 'bill' }),
    ]);
    const events = await waitFor(
      () => paymentSucceededEvents(stack, lost),
      (listed) => listed.length > 0,
      { timeoutMs: LISTED_WITHIN_MS, intervalMs: 500 },
    );
    expect(events).toHaveLength(1);

    // The day again: the repair is reflected, nothing is applied twice.
    const again = await reconciledDay(stack, billDate);
    expect(again).toMatchObject({
      status: 'MATCHED',
      counts: { wechat: lines, here: lines, matched: lines, discrepancies: 0 },
      discrepancies: [],
    });
    expect((await stack.store.get(lost))?.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    expect((await storedReconciliation(stack, billDate)).json).toEqual(again);
  });

  it('refuses a tampered bill with 502, applying and storing nothing', async () => {
    // A payment the bill would repair, were the bill believed: it must stay PENDING.
    const lost = await paidButLost(stack, 610);
    lines += 1;
    await clearOrderFaults(stack);
    const before = await storedReconciliation(stack, billDate);
    expect(before.status, before.text).toBe(200);

    await setBillFaults(stack, billDate, { tamper: true });
    const refused = await reconcileDay(stack, billDate);
    expect(refused.status, refused.text).toBe(502);
    expect(refused.json).toMatchObject({ error: { code: 'BILL_REFUSED', retryable: true } });
    // Each version's own proof refuses it: v3's file agrees with its summary and fails its SHA1 (the
    // simulator changes a transaction id); v2 has no hash, its summary disagrees with an amount.
    const message = (refused.json.error as { message: string }).message;
    if (apiVersion === 'v3') {
      expect(message).toMatch(/SHA1 [0-9a-f]{40} is not the hash_value [0-9a-f]{40}/);
    } else {
      expect(message).toMatch(/says \d+, the lines add up to \d+/);
      expect(message).not.toMatch(/SHA1|hash/);
    }

    expect((await stack.store.get(lost))?.status).toBe('PENDING');
    expect((await storedReconciliation(stack, billDate)).json).toEqual(before.json);

    // The genuine bill again: the payment is found and repaired, as the refused run would have.
    await setBillFaults(stack, billDate, {});
    const genuine = await reconciledDay(stack, billDate);
    expect(genuine.discrepancies).toEqual([
      expect.objectContaining({ kind: 'NOT_PAID_HERE', out_trade_no: lost, repaired: true }),
    ]);
    expect((await stack.store.get(lost))?.status).toBe('PAID');
  });

  it('answers 409 BILL_NOT_READY with retry-after while WeChat is still making the bill', async () => {
    const before = await storedReconciliation(stack, billDate);
    await setBillFaults(stack, billDate, { creating: true });
    const early = await reconcileDay(stack, billDate);
    expect(early.status, early.text).toBe(409);
    expect(early.json).toMatchObject({ error: { code: 'BILL_NOT_READY' } });
    expect(Number(early.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await storedReconciliation(stack, billDate)).json).toEqual(before.json);
    await setBillFaults(stack, billDate, {});
    expect((await reconciledDay(stack, billDate)).status).toBe('MATCHED');
  });

  // Last: the unknown payment is a trade of the simulator's from now on, on every later bill of the day.
  it('reports a payment the merchant never made as NOT_PAID_HERE, unrepaired (no order to apply it to)', async () => {
    const unknown = `UNKNOWN${Date.now()}`;
    await setBillFaults(stack, billDate, { unknown_payment: { out_trade_no: unknown, total: 999 } });
    lines += 1;
    const report = await reconciledDay(stack, billDate);
    expect(report.counts).toEqual({ wechat: lines, here: lines - 1, matched: lines - 1, discrepancies: 1 });
    expect(report.discrepancies).toEqual([
      {
        kind: 'NOT_PAID_HERE',
        out_trade_no: unknown,
        wechat: { status: 'SUCCESS', amount: 999, transaction_id: expect.any(String) },
      },
    ]);
    const order = await stack.api('GET', `/orders/${unknown}`);
    expect(order.status).toBe(404);
  });
});
