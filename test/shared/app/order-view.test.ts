import { describe, expect, it } from 'vitest';

import { orderView } from '#shared/app/order-view';
import { at, orderFixture } from '#test/helpers/order-fixtures';

describe('orderView', () => {
  it('shows a payment WeChat took for an order closed here as late_payment, beside the CLOSED status', () => {
    const closed = orderFixture({
      status: 'CLOSED',
      nextCheckAt: undefined,
      latePayment: {
        transactionId: '4200001234567890123456789012',
        amountTotal: 1999,
        currency: 'CNY',
        paidAt: '20300101080510',
        receivedAt: at(400),
        source: 'notify',
      },
    });
    const view = orderView(closed);
    expect(view).toMatchObject({ status: 'CLOSED' });
    expect(view.late_payment).toEqual({
      transaction_id: '4200001234567890123456789012',
      amount: { total: 1999, currency: 'CNY' },
      paid_at: '2030-01-01T08:05:10+08:00',
      received_at: at(400),
    });
    expect(view).not.toHaveProperty('payment');
  });

  it('has no late_payment for an order without one', () => {
    expect(orderView(orderFixture({ status: 'CLOSED', nextCheckAt: undefined }))).not.toHaveProperty('late_payment');
  });

  it('shows when the checks of an open order were given up on, so an operator sees it is not watched', () => {
    const exhausted = orderFixture({ status: 'PENDING', nextCheckAt: undefined, checksExhaustedAt: at(5000) });
    expect(orderView(exhausted)).toMatchObject({ status: 'PENDING', checks_exhausted_at: at(5000) });
    expect(orderView(orderFixture({ status: 'PENDING' }))).not.toHaveProperty('checks_exhausted_at');
  });

  it('does not show the count of checks put back: bookkeeping, not the order', () => {
    expect(orderView(orderFixture({ status: 'PENDING', requeues: 2 }))).not.toHaveProperty('requeues');
  });
});

describe('orderView refund summary', () => {
  const payment = {
    transactionId: '4200001234567890123456789012',
    amountTotal: 1999,
    currency: 'CNY' as const,
    paidAt: at(30),
  };

  it('is all zeros for a PAID order before its first refund: everything paid is refundable', () => {
    const paid = orderFixture({ status: 'PAID', nextCheckAt: undefined, payment });
    expect(orderView(paid).refund).toEqual({ refunded: 0, pending: 0, refundable: 1999 });
  });

  it('counts SUCCESS as refunded and PROCESSING + ABNORMAL as pending; the order stays PAID', () => {
    const paid = orderFixture({
      status: 'PAID',
      nextCheckAt: undefined,
      payment,
      refunds: { refunded: 1000, pending: 499, count: 3 },
    });
    const view = orderView(paid);
    expect(view.status).toBe('PAID');
    expect(view.refund).toEqual({ refunded: 1000, pending: 499, refundable: 500 });
    expect(JSON.stringify(view)).not.toContain('"count"');
  });

  it('is absent while the order is not PAID', () => {
    for (const status of ['CREATED', 'PENDING', 'CLOSED', 'FAILED'] as const) {
      expect(orderView(orderFixture({ status }))).not.toHaveProperty('refund');
    }
  });
});

describe('orderView sandbox cashier link', () => {
  const prepay = {
    prepayId: 'wx201410272009395522657a690389285100',
    client: { code_url: 'weixin://wxpay/bizpayurl?pr=8aLlTik' },
    validUntil: at(7200),
  };
  const base = 'http://127.0.0.1:3100/sandbox/cashier/';

  it("adds the simulator's cashier page for the order beside its client, which stays WeChat's own set", () => {
    const order = orderFixture({ outTradeNo: 'T2030_01|a*b', prepay });
    const view = orderView(order, { sandboxCashierBaseUrl: base });
    expect(view.sandbox_cashier_url).toBe('http://127.0.0.1:3100/sandbox/cashier/T2030_01%7Ca*b');
    expect(view.client).toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=8aLlTik' });
  });

  it('leaves the client as WeChat gave it without a cashier base (AWS), and the stored client untouched', () => {
    const order = orderFixture({ prepay });
    expect(orderView(order).client).toEqual({ code_url: 'weixin://wxpay/bizpayurl?pr=8aLlTik' });
    expect(orderView(order)).not.toHaveProperty('sandbox_cashier_url');
    orderView(order, { sandboxCashierBaseUrl: base });
    expect(order.prepay?.client).not.toHaveProperty('sandbox_cashier_url');
  });

  it('links nothing for an order without a client (no prepay yet)', () => {
    expect(orderView(orderFixture(), { sandboxCashierBaseUrl: base }).client).toBeNull();
  });
});
