import { beforeEach, describe, expect, it } from 'vitest';

import { NotFoundError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import type { Refund } from '#shared/domain/refund';
import { paidOrder, refundError, type RefundHarness, refundHarness, refundReport } from '#test/helpers/refund-harness';

describe('GetRefund and ListRefunds', () => {
  let h: RefundHarness;
  let order: Order;
  let refund: Refund;

  beforeEach(async () => {
    h = refundHarness();
    order = paidOrder();
    await h.orders.create(order);
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    refund = (await h.createRefund.execute({ outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', refund: 500 }))
      .refund;
  });

  it('answers the stored refund without asking WeChat', async () => {
    expect(await h.getRefund.execute(order.outTradeNo, 'RF0001')).toEqual(refund);
    expect(h.provider.queried).toEqual([]);
  });

  it('with sync, asks WeChat first and applies its answer', async () => {
    h.provider.onQuery(refundReport(refund, 'SUCCESS'));
    const synced = await h.getRefund.execute(order.outTradeNo, 'RF0001', { sync: true });
    expect(synced).toMatchObject({ status: 'SUCCESS', history: [{}, { to: 'SUCCESS', source: 'query' }] });
    expect(await h.refunds.getRefund(order.outTradeNo, 'RF0001')).toEqual(synced);

    // Final now: sync asks nothing more.
    expect(await h.getRefund.execute(order.outTradeNo, 'RF0001', { sync: true })).toEqual(synced);
    expect(h.provider.queried).toEqual(['RF0001']);
  });

  it('with sync, sends nothing WeChat does not know (the reconciler does); passes WeChat’s failure on', async () => {
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { amount: undefined }));
    expect(await h.getRefund.execute(order.outTradeNo, 'RF0001', { sync: true })).toEqual(refund);
    h.provider.onQuery(refundError('SYSTEMERROR', true));
    await expect(h.getRefund.execute(order.outTradeNo, 'RF0001', { sync: true })).rejects.toMatchObject({
      code: 'SYSTEMERROR',
      retryable: true,
    });
    expect(h.provider.submitted).toHaveLength(1);
  });

  it('404s a refund the order does not have', async () => {
    await expect(h.getRefund.execute(order.outTradeNo, 'RF-none')).rejects.toBeInstanceOf(NotFoundError);
    await expect(h.getRefund.execute('T-none', 'RF0001')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('lists an order’s refunds oldest first; an order without any has none; an unknown order is a 404', async () => {
    h.clock.advance(60);
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    const second = (await h.createRefund.execute({ outTradeNo: order.outTradeNo, outRefundNo: 'RF0000', refund: 100 }))
      .refund;
    expect((await h.listRefunds.execute(order.outTradeNo)).map((r) => r.outRefundNo)).toEqual([
      refund.outRefundNo,
      second.outRefundNo,
    ]);

    const other = paidOrder();
    await h.orders.create(other);
    expect(await h.listRefunds.execute(other.outTradeNo)).toEqual([]);
    await expect(h.listRefunds.execute('T-none')).rejects.toBeInstanceOf(NotFoundError);
  });
});
