import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '#shared/domain/errors';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import {
  paymentFacts,
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  tradeReport,
} from '#test/helpers/payment-harness';

describe('GetPayment', () => {
  let h: PaymentHarness;

  beforeEach(() => {
    h = paymentHarness();
    h.clock.set(at(120));
  });

  it('refuses an unknown order with NotFoundError, without asking WeChat, sync or not', async () => {
    await expect(h.getPayment.execute('NOPE')).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.getPayment.execute('NOPE', { sync: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(h.provider.calls).toEqual([]);
  });

  it('without sync answers the stored order and asks WeChat nothing', async () => {
    const pending = pendingOrder();
    await h.store.create(pending);
    expect(await h.getPayment.execute(pending.outTradeNo)).toEqual(pending);
    expect(await h.getPayment.execute(pending.outTradeNo, { sync: false })).toEqual(pending);
    expect(h.provider.calls).toEqual([]);
  });

  it.each(['PAID', 'CLOSED'] as const)('with sync does not ask WeChat about a %s order', async (status) => {
    const settled = orderFixture({ status, nextCheckAt: undefined });
    await h.store.create(settled);
    expect(await h.getPayment.execute(settled.outTradeNo, { sync: true })).toEqual(settled);
    expect(h.provider.calls).toEqual([]);
  });

  it.each(['CREATED', 'PENDING', 'FAILED'] as const)('with sync asks WeChat about a %s order', async (status) => {
    const open = pendingOrder({ status });
    await h.store.create(open);
    h.provider.onQuery(tradeReport(open.outTradeNo, 'NOTPAY'));
    expect(await h.getPayment.execute(open.outTradeNo, { sync: true })).toEqual(open);
    expect(h.provider.calls).toEqual([{ method: 'query', outTradeNo: open.outTradeNo }]);
  });

  it('with sync records a payment WeChat reports, as moved by a query', async () => {
    const pending = pendingOrder();
    await h.store.create(pending);
    h.provider.onQuery(tradeReport(pending.outTradeNo, 'SUCCESS'));
    const order = await h.getPayment.execute(pending.outTradeNo, { sync: true });
    expect(order).toMatchObject({ status: 'PAID', payment: paymentFacts(), updatedAt: at(120) });
    expect(order.nextCheckAt).toBeUndefined();
    expect(order.history.at(-1)).toEqual({ at: at(120), from: 'PENDING', to: 'PAID', source: 'query' });
    expect(await h.store.get(pending.outTradeNo)).toEqual(order);
  });

  it('with sync answers the stored order when WeChat’s answer is refused, and reports it', async () => {
    const pending = pendingOrder();
    await h.store.create(pending);
    h.provider.onQuery(
      tradeReport(pending.outTradeNo, 'SUCCESS', { mchid: '19999999' }),
      tradeReport(pending.outTradeNo, 'SUCCESS', { payment: paymentFacts(1), amount: { total: 1, currency: 'CNY' } }),
    );
    expect(await h.getPayment.execute(pending.outTradeNo, { sync: true })).toEqual(pending);
    expect(await h.getPayment.execute(pending.outTradeNo, { sync: true })).toEqual(pending);
    expect(h.observer.events).toEqual([
      { kind: 'rejected', reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo, source: 'query' },
      { kind: 'rejected', reason: 'AMOUNT_MISMATCH', outTradeNo: pending.outTradeNo, source: 'query' },
    ]);
    expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
  });

  it('with sync lets a failed query reach the caller', async () => {
    const pending = pendingOrder();
    await h.store.create(pending);
    const down = new Error('connect ECONNREFUSED');
    h.provider.onQuery(down);
    await expect(h.getPayment.execute(pending.outTradeNo, { sync: true })).rejects.toBe(down);
  });
});
