import { expect } from 'vitest';

import type { EventView } from '#shared/app/event-view';
import { beijingDateOf } from '#shared/domain/bill-date';
import { BEIJING_OFFSET_MS } from '#shared/domain/payment-time';
import type { HttpAnswer, TestStack } from './local-stack';
import { uniqueNo } from './refund-e2e';

/*
 * What the bill reconciliation end-to-end suite (test/e2e/bill-reconciliation.test.ts) shares: the
 * day's reconciliation through the gateway, the simulator's per-day bill faults, the payer's side of
 * orders whose every notification and query WeChat loses, and the event listing.
 */

/** The reconciliation's public JSON (shared/app/reconciliation-view.ts). */
export interface ReconciliationJson {
  bill_date: string;
  status: 'MATCHED' | 'DISCREPANCIES';
  counts: { wechat: number; here: number; matched: number; discrepancies: number };
  discrepancies: Array<{
    kind: string;
    out_trade_no: string;
    out_refund_no?: string;
    wechat?: { status: string; amount: number; transaction_id?: string; refund_id?: string };
    here?: { status: string; amount: number; transaction_id?: string; refund_id?: string };
    repaired?: true;
  }>;
  bill_found: boolean;
  api_version: 'v2' | 'v3';
  reconciled_at: string;
}

/** Today in Beijing: the bill the simulator builds from this run's trades. */
export function billDateToday(): string {
  return beijingDateOf(new Date());
}

/**
 * How long one API version's part of the bill suite may take from its first trade to its last: about
 * 20 s measured on an idle machine, the rest is for a loaded one. A beforeAll calling
 * `billDayWithRoom()` needs a timeout this much longer than its own work.
 */
export const BILL_DAY_BUDGET_MS = 5 * 60_000;

/** Milliseconds from `nowMs` to the next midnight in Beijing (which has no daylight saving). */
export function untilBeijingMidnight(nowMs: number): number {
  const dayMs = 86_400_000;
  return dayMs - ((nowMs + BEIJING_OFFSET_MS) % dayMs);
}

/**
 * The Beijing day a suite's trades will all fall on, with `budgetMs` of it still ahead: today, or,
 * within `budgetMs` of midnight (16:00 UTC), the next day once it has begun. A run started at 23:58
 * would otherwise split its trades over two bills and reconcile neither as the test expects. The
 * simulator and the stack both run on the real clock, so waiting is the one honest way.
 */
export async function billDayWithRoom(budgetMs = BILL_DAY_BUDGET_MS): Promise<string> {
  const left = untilBeijingMidnight(Date.now());
  if (left < budgetMs) await new Promise((resolve) => setTimeout(resolve, left + 1_000));
  return billDateToday();
}

/**
 * Before a test adds trades to the suite's day: still that day, or the suite outran BILL_DAY_BUDGET_MS
 * and its trades would fall on two bills (a failure that names its cause, not a wrong count).
 */
export function expectStillBillDay(billDate: string): void {
  expect(
    billDateToday(),
    `the suite ran past Beijing midnight: its ${billDate} trades would split over two bills`,
  ).toBe(billDate);
}

/** POST /reconciliations for the day. */
export function reconcileDay(stack: TestStack, billDate: string): Promise<HttpAnswer> {
  return stack.api('POST', '/reconciliations', { bill_date: billDate });
}

/** POST /reconciliations, which must answer 201; the report. */
export async function reconciledDay(stack: TestStack, billDate: string): Promise<ReconciliationJson> {
  const answer = await reconcileDay(stack, billDate);
  expect(answer.status, answer.text).toBe(201);
  return answer.json as unknown as ReconciliationJson;
}

/** GET /reconciliations/{bill_date}. */
export function storedReconciliation(stack: TestStack, billDate: string): Promise<HttpAnswer> {
  return stack.api('GET', `/reconciliations/${billDate}`);
}

/** Replaces the day's bill faults at the simulator (`{}` clears them); the faults it now has. */
export async function setBillFaults(
  stack: TestStack,
  billDate: string,
  faults: { creating?: boolean; tamper?: boolean; unknown_payment?: { out_trade_no?: string; total: number } },
): Promise<Record<string, unknown>> {
  const answer = await stack.simulator('POST', `/sandbox/bills/${billDate}/faults`, faults);
  expect(answer.status, answer.text).toBe(200);
  return answer.json;
}

/** POST /orders for a NATIVE order of `total` fen; its out_trade_no. */
export async function createOrder(stack: TestStack, total: number, prefix = 'BLO'): Promise<string> {
  const outTradeNo = uniqueNo(prefix);
  const created = await stack.api('POST', '/orders', {
    out_trade_no: outTradeNo,
    description: 'bill test',
    amount: { total },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.9' },
  });
  expect(created.status, created.text).toBe(201);
  return outTradeNo;
}

/**
 * An order the payer pays while WeChat loses every word of it to us: its notifications are dropped and
 * its queries answer as if it were unpaid (the simulator's stale_query), which the test shows by asking
 * WeChat through GET /orders/{out_trade_no}?sync=1. The faults stay on; the caller clears them (DELETE
 * /sandbox/faults) when WeChat's query is to tell the truth again.
 */
export async function paidButLost(stack: TestStack, total: number): Promise<string> {
  const outTradeNo = await createOrder(stack, total, 'BLL');
  const faulted = await stack.simulator('POST', '/sandbox/faults', {
    notify: 'drop',
    api: 'stale_query',
    out_trade_no: outTradeNo,
  });
  expect(faulted.status, faulted.text).toBeLessThan(300);
  const paid = await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
  expect(paid.status, paid.text).toBeLessThan(300);
  const asked = await stack.api('GET', `/orders/${outTradeNo}?sync=1`);
  expect(asked.status, asked.text).toBe(200);
  expect(asked.json.status).toBe('PENDING');
  return outTradeNo;
}

/** Clears the simulator's order faults (not the bill faults): WeChat's queries see the truth again. */
export async function clearOrderFaults(stack: TestStack): Promise<void> {
  const cleared = await stack.simulator('DELETE', '/sandbox/faults');
  expect(cleared.status, cleared.text).toBeLessThan(300);
}

/** Every event GET /events lists, oldest first, following the cursor to the end. */
export async function allEvents(stack: TestStack): Promise<EventView[]> {
  const events: EventView[] = [];
  let after: string | undefined;
  for (;;) {
    const query = new URLSearchParams({ limit: '100', ...(after === undefined ? {} : { after }) });
    const page = await stack.api('GET', `/events?${query.toString()}`);
    expect(page.status, page.text).toBe(200);
    const got = page.json.events as EventView[];
    events.push(...got);
    after = page.json.next as string;
    if (got.length < 100) return events;
  }
}

/** The order's `payment.succeeded` events listed by GET /events. */
export async function paymentSucceededEvents(stack: TestStack, outTradeNo: string): Promise<EventView[]> {
  return (await allEvents(stack)).filter((e) => e.type === 'payment.succeeded' && e.data.out_trade_no === outTradeNo);
}
