import { beforeEach, describe, expect, it } from 'vitest';
import { NotFoundError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import { orderOf } from '#shared/domain/trade-reports';
import { at } from '#test/helpers/order-fixtures';
import {
  paymentFacts,
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  tradeReport,
} from '#test/helpers/payment-harness';

/** The one path by which WeChat's word changes an order; the use cases' tests take it from each side. */
describe('TradeReports.apply', () => {
  let h: PaymentHarness;
  let pending: Order;

  beforeEach(async () => {
    h = paymentHarness();
    pending = pendingOrder();
    await h.store.create(pending);
    h.clock.set(at(45));
  });

  it.each([
    ['SUCCESS', 'PAID'],
    ['REFUND', 'PAID'],
    ['CLOSED', 'CLOSED'],
    ['REVOKED', 'CLOSED'],
    ['PAYERROR', 'FAILED'],
  ] as const)('%s moves the order to %s', async (state, status) => {
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, state), 'reconcile');
    expect(outcome).toMatchObject({ kind: 'applied', order: { status } });
    expect(outcome.order?.history.at(-1)).toEqual({ at: at(45), from: 'PENDING', to: status, source: 'reconcile' });
  });

  it('records the payment facts and asks the write to check the amount paid', async () => {
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, 'SUCCESS'), 'query');
    expect(outcome).toMatchObject({ kind: 'applied', order: { status: 'PAID', payment: paymentFacts() } });
    expect(outcome.order?.reason).toBeUndefined();
  });

  it('gives a close or failure WeChat’s description as the reason, else the state', async () => {
    const failed = await h.reports.apply(tradeReport(pending.outTradeNo, 'PAYERROR'), 'query');
    expect(failed.order?.reason).toBe('PAYERROR');
    const closed = await h.reports.apply(
      tradeReport(pending.outTradeNo, 'REVOKED', { description: 'revoked' }),
      'query',
    );
    expect(closed.order?.reason).toBe('revoked');
  });

  it('keeps a payment WeChat reports for an order closed here on the order, whoever learnt of it', async () => {
    await h.reports.apply(tradeReport(pending.outTradeNo, 'CLOSED'), 'reconcile');
    h.clock.set(at(50));
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, 'SUCCESS'), 'query');
    const latePayment = {
      transactionId: paymentFacts().transactionId,
      amountTotal: 1999,
      currency: 'CNY',
      paidAt: paymentFacts().paidAt,
      receivedAt: at(50),
      source: 'query',
    };
    expect(outcome).toMatchObject({ kind: 'conflict', order: { status: 'CLOSED', latePayment } });
    expect(await h.store.get(pending.outTradeNo)).toMatchObject({ status: 'CLOSED', latePayment });
    expect(h.observer.events).toEqual([
      {
        kind: 'latePayment',
        outTradeNo: pending.outTradeNo,
        transactionId: paymentFacts().transactionId,
        amountTotal: 1999,
        source: 'query',
      },
    ]);
  });

  it.each(['NOTPAY', 'USERPAYING', 'NOT_FOUND'] as const)('%s moves nothing', async (state) => {
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, state), 'reconcile');
    expect(outcome).toEqual({ kind: 'unchanged', order: pending });
    expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
  });

  it('answers a report that moves nothing with the order the caller knows, without a read', async () => {
    // A known order that differs from the stored one shows which was answered.
    const known = { ...pending, updatedAt: at(44) };
    expect(await h.reports.apply(tradeReport(pending.outTradeNo, 'NOTPAY'), 'query', { known })).toEqual({
      kind: 'unchanged',
      order: known,
    });
    // A known order of another number is no help: the named order is read.
    const other = pendingOrder();
    expect(await h.reports.apply(tradeReport(pending.outTradeNo, 'NOTPAY'), 'query', { known: other })).toEqual({
      kind: 'unchanged',
      order: pending,
    });
  });

  it('with moveNothing checks the report but writes nothing', async () => {
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, 'SUCCESS'), 'notify', { moveNothing: true });
    expect(outcome).toEqual({ kind: 'unchanged', order: pending });
    const foreign = await h.reports.apply(tradeReport(pending.outTradeNo, 'SUCCESS', { mchid: '1' }), 'notify', {
      moveNothing: true,
    });
    expect(foreign).toEqual({ kind: 'rejected', reason: 'FOREIGN_MERCHANT' });
  });

  it('refuses another merchant’s report whatever the state, and another appid alike', async () => {
    for (const report of [
      tradeReport(pending.outTradeNo, 'NOTPAY', { mchid: '19999999' }),
      tradeReport(pending.outTradeNo, 'CLOSED', { appid: 'wx-other' }),
    ]) {
      expect(await h.reports.apply(report, 'reconcile')).toEqual({ kind: 'rejected', reason: 'FOREIGN_MERCHANT' });
    }
    expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    expect(h.observer.events).toEqual([
      { kind: 'rejected', reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo, source: 'reconcile' },
      { kind: 'rejected', reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo, source: 'reconcile' },
    ]);
  });

  it('accepts a payment whose report states no amount, leaving the check to the write', async () => {
    const report = tradeReport(pending.outTradeNo, 'SUCCESS', { amount: undefined });
    expect(await h.reports.apply(report, 'query')).toMatchObject({ kind: 'applied' });
  });

  it('refuses a payment in another currency than it reports', async () => {
    const report = tradeReport(pending.outTradeNo, 'SUCCESS', { amount: { total: 1999, currency: 'CNY' } });
    report.payment = { ...paymentFacts(), currency: 'USD' as unknown as 'CNY' };
    expect(await h.reports.apply(report, 'query')).toEqual({ kind: 'rejected', reason: 'AMOUNT_MISMATCH' });
  });

  it('returns the order a mismatched amount left unchanged with the rejection', async () => {
    const report = tradeReport(pending.outTradeNo, 'SUCCESS', {
      amount: { total: 2, currency: 'CNY' },
      payment: paymentFacts(2),
    });
    expect(await h.reports.apply(report, 'query')).toEqual({
      kind: 'rejected',
      reason: 'AMOUNT_MISMATCH',
      order: pending,
    });
  });

  it('reports a close of a paid order as a conflict, without alarm: only a late payment is alarmed', async () => {
    await h.reports.apply(tradeReport(pending.outTradeNo, 'SUCCESS'), 'notify');
    const outcome = await h.reports.apply(tradeReport(pending.outTradeNo, 'CLOSED'), 'reconcile');
    expect(outcome).toMatchObject({ kind: 'conflict', order: { status: 'PAID' } });
    expect(h.observer.events).toEqual([]);
  });
});

describe('orderOf', () => {
  it('is the order a write left behind, and NotFoundError when the order vanished', () => {
    const order = pendingOrder();
    expect(orderOf({ kind: 'conflict', order }, order.outTradeNo)).toBe(order);
    expect(() => orderOf({ kind: 'not_found' }, 'GONE')).toThrow(NotFoundError);
    expect(() => orderOf({ kind: 'not_found' }, 'GONE')).toThrow('order GONE disappeared');
  });
});
