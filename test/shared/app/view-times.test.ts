import { describe, expect, it } from 'vitest';
import * as z from 'zod';

import { eventView } from '#shared/app/event-view';
import { orderView } from '#shared/app/order-view';
import { reconciliationView } from '#shared/app/reconciliation-view';
import { refundView } from '#shared/app/refund-view';
import { eventIdOf } from '#shared/domain/events';
import type { Order } from '#shared/domain/order';
import type { Refund } from '#shared/domain/refund';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import { reconciliationReport } from '#test/helpers/reconciliation-fixtures';

// The contract: every time in an answer is RFC 3339 with its offset, as OpenAPI's date-time says.
const rfc3339 = z.iso.datetime({ offset: true });

/** Every time field of an answer, wherever it is nested: `<path>` → value. */
function timesOf(value: unknown, path = ''): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.flatMap((item, i) => timesOf(item, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, item]): Array<[string, unknown]> => {
    const here = path === '' ? key : `${path}.${key}`;
    return /(_at|_time)$/.test(key) && typeof item !== 'object' ? [[here, item]] : timesOf(item, here);
  });
}

function expectRfc3339Times(answer: unknown, expectedPaths: string[]): void {
  const times = timesOf(answer);
  expect(times.map(([path]) => path).sort()).toEqual([...expectedPaths].sort());
  for (const [path, value] of times) expect(rfc3339.safeParse(value).success, `${path}: ${String(value)}`).toBe(true);
}

const v2Payment = {
  transactionId: '4200001234567890123456789012',
  amountTotal: 1999,
  currency: 'CNY' as const,
  paidAt: '20300101080510', // v2 time_end: Beijing, no offset
  bankType: 'CMC',
  payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
};

/** An order with every time it can have: paid (v2), a late payment (v3), checks given up on. */
function fullOrder(): Order {
  return orderFixture({
    status: 'PAID',
    nextCheckAt: undefined,
    prepay: { prepayId: 'wx2030', client: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' }, validUntil: at(7200) },
    payment: v2Payment,
    latePayment: {
      transactionId: '4200001234567890123456789013',
      amountTotal: 1999,
      currency: 'CNY',
      paidAt: '2030-01-01T08:05:10+08:00',
      receivedAt: at(400),
      source: 'notify',
    },
    checksExhaustedAt: at(5000),
  });
}

function refund(successTime: string): Refund {
  return {
    outRefundNo: 'R2030',
    outTradeNo: 'T2030',
    status: 'SUCCESS',
    amount: { refund: 500, total: 1999, currency: 'CNY' },
    requestHash: 'r'.repeat(64),
    createdAt: at(10),
    updatedAt: at(100),
    successTime,
    history: [],
  };
}

describe('every time in every answer is RFC 3339 with its offset', () => {
  it("an order's: created, updated, expires, paid (v2's Beijing time_end given +08:00), late payment, checks", () => {
    const view = orderView(fullOrder());
    expectRfc3339Times(view, [
      'created_at',
      'updated_at',
      'expires_at',
      'payment.paid_at',
      'late_payment.paid_at',
      'late_payment.received_at',
      'checks_exhausted_at',
    ]);
    expect((view.payment as { paid_at: string }).paid_at).toBe('2030-01-01T08:05:10+08:00');
  });

  it("a refund's: created, updated, success (as the adapters store it, v2's converted already)", () => {
    expectRfc3339Times(refundView(refund('2030-01-01T08:01:40+08:00')), ['created_at', 'updated_at', 'success_time']);
  });

  it("an event's, its data included (the order view), as GET /events and the webhook send it", () => {
    const order = fullOrder();
    const view = eventView({
      id: eventIdOf({ outTradeNo: order.outTradeNo }, 'payment.succeeded'),
      type: 'payment.succeeded',
      createdAt: at(30),
      subject: { outTradeNo: order.outTradeNo },
      data: orderView(order),
    });
    expectRfc3339Times(view, [
      'created_at',
      'data.created_at',
      'data.updated_at',
      'data.expires_at',
      'data.payment.paid_at',
      'data.late_payment.paid_at',
      'data.late_payment.received_at',
      'data.checks_exhausted_at',
    ]);
  });

  it("a reconciliation's: reconciled_at (bill_date is a Beijing date, not a time)", () => {
    const view = reconciliationView(reconciliationReport());
    expectRfc3339Times(view, ['reconciled_at']);
    expect(view.bill_date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });
});
