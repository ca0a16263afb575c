import { beforeEach, describe, expect, it } from 'vitest';

import type { Order } from '#shared/domain/order';
import type { Refund, RefundRequest } from '#shared/domain/refund';
import type { RefundCheck } from '#shared/domain/refund-ports';
import { at } from '#test/helpers/order-fixtures';
import { paidOrder, refundError, type RefundHarness, refundHarness, refundReport } from '#test/helpers/refund-harness';

/** Refunds are created at T0 + 1 h; the check schedule is [60, 300, 1800] (the last repeats). */
describe('RefundReconciler.check', () => {
  let h: RefundHarness;
  let order: Order;

  beforeEach(async () => {
    h = refundHarness();
    order = paidOrder();
    await h.orders.create(order);
  });

  function request(overrides: Partial<RefundRequest> = {}): RefundRequest {
    return { outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', refund: 500, ...overrides };
  }

  /** A refund WeChat accepted (PROCESSING), with its first check due at T0 + 1 h + 60 s. */
  async function acceptedRefund(): Promise<Refund> {
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    return (await h.createRefund.execute(request())).refund;
  }

  /** A refund whose sending timed out: PROCESSING, never accepted. */
  async function unansweredRefund(): Promise<Refund> {
    h.provider.onSubmit(refundError('DEADLINE_EXCEEDED', true, 'transport'));
    await h.createRefund.execute(request()).catch(() => undefined);
    const refund = await h.refunds.getRefund(order.outTradeNo, 'RF0001');
    if (!refund) throw new Error('fixture');
    return refund;
  }

  function checkOf(refund: Refund, attempt = 0, dueAt = refund.nextCheckAt ?? ''): RefundCheck {
    return { outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo, attempt, dueAt };
  }

  const stored = () => h.refunds.getRefund(order.outTradeNo, 'RF0001');
  const laterChecks = () => h.scheduler.scheduledRefunds.slice(1);

  it('finishes a refund whose notification was dropped: SUCCESS by asking WeChat', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'SUCCESS'));

    expect(await h.reconciler.check(checkOf(refund))).toBe('success');
    expect(h.provider.queried).toEqual(['RF0001']);
    expect(await stored()).toMatchObject({
      status: 'SUCCESS',
      history: [{ to: 'PROCESSING' }, { to: 'SUCCESS', source: 'reconcile' }],
    });
    expect((await stored())?.nextCheckAt).toBeUndefined();
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
    expect(laterChecks()).toEqual([]);
  });

  it('asks again by the schedule while WeChat works on it, the last interval repeating for ever', async () => {
    const refund = await acceptedRefund();
    let check = checkOf(refund);
    const waits: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      h.clock.set(check.dueAt);
      h.provider.onQuery(refundReport(refund, 'PROCESSING'));
      expect(await h.reconciler.check(check)).toBe('checked-again');
      const next = h.scheduler.scheduledRefunds.at(-1);
      if (!next) throw new Error('no next check');
      waits.push((Date.parse(next.dueAt) - Date.parse(check.dueAt)) / 1000);
      expect((await stored())?.nextCheckAt).toBe(next.dueAt);
      check = next;
    }
    expect(waits).toEqual([300, 1800, 1800, 1800, 1800]);
    expect(check.attempt).toBe(5);
  });

  it('keeps watching an ABNORMAL refund (reported once) until WeChat settles it', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'ABNORMAL'));
    expect(await h.reconciler.check(checkOf(refund))).toBe('checked-again');
    expect(h.observer.events).toEqual([
      { kind: 'refundAbnormal', outTradeNo: order.outTradeNo, outRefundNo: 'RF0001' },
    ]);

    const next = laterChecks()[0]!;
    h.clock.set(next.dueAt);
    h.provider.onQuery(refundReport(refund, 'ABNORMAL'));
    expect(await h.reconciler.check(next)).toBe('checked-again');
    expect(h.observer.events).toHaveLength(1);

    const third = laterChecks()[1]!;
    h.clock.set(third.dueAt);
    h.provider.onQuery(refundReport(refund, 'CLOSED'));
    expect(await h.reconciler.check(third)).toBe('closed');
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });
  });

  it('sends a refund WeChat never got again, under the same out_refund_no', async () => {
    const refund = await unansweredRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { amount: undefined, refundId: undefined }));
    h.provider.onSubmit(refundReport(refund, 'PROCESSING'));

    expect(await h.reconciler.check(checkOf(refund))).toBe('checked-again');
    expect(h.provider.calls.map((c) => c.method)).toEqual(['submitRefund', 'queryRefund', 'submitRefund']);
    expect(h.provider.submitted.map((s) => s.outRefundNo)).toEqual(['RF0001', 'RF0001']);
    expect(h.provider.submitted[1]).toEqual(h.provider.submitted[0]);
    expect(await stored()).toMatchObject({ status: 'PROCESSING', acceptedAt: at(3660), nextCheckAt: at(3960) });
  });

  it('closes a refund WeChat refuses when sent again and still does not know, releasing its hold', async () => {
    const refund = await unansweredRefund();
    h.clock.set(at(3660));
    const unknown = refundReport(refund, 'NOT_FOUND', { amount: undefined, refundId: undefined });
    h.provider.onQuery(unknown, unknown);
    h.provider.onSubmit(refundError('TRADE_OVERDUE', false));

    expect(await h.reconciler.check(checkOf(refund))).toBe('closed');
    expect(h.provider.calls.map((c) => c.method)).toEqual([
      'submitRefund',
      'queryRefund',
      'submitRefund',
      'queryRefund',
    ]);
    expect(await stored()).toMatchObject({ status: 'CLOSED', failure: { code: 'TRADE_OVERDUE' } });
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });
    expect(laterChecks()).toEqual([]);
  });

  it('does not close on a refusal of the resend when WeChat, asked again, has the refund after all', async () => {
    const refund = await unansweredRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { amount: undefined, refundId: undefined }));
    h.provider.onSubmit(refundError('INVALID_REQUEST', false));
    h.provider.onQuery(refundReport(refund, 'PROCESSING'));

    expect(await h.reconciler.check(checkOf(refund))).toBe('checked-again');
    expect(await stored()).toMatchObject({ status: 'PROCESSING', acceptedAt: at(3660), nextCheckAt: at(3960) });
    expect((await stored())?.failure).toBeUndefined();
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('never closes a refund a concurrent resend got accepted, whatever WeChat answers this one', async () => {
    const refund = await unansweredRefund();
    h.clock.set(at(3660));
    const unknown = refundReport(refund, 'NOT_FOUND', { amount: undefined, refundId: undefined });
    h.provider.onQuery(unknown, unknown);
    h.provider.onSubmit(async () => {
      // The twin's resend lands first and WeChat's acceptance of it is recorded.
      await h.reports.apply(refundReport(refund, 'PROCESSING'), 'api');
      throw refundError('INVALID_REQUEST', false);
    });

    expect(await h.reconciler.check(checkOf(refund))).toBe('checked-again');
    expect(await stored()).toMatchObject({ status: 'PROCESSING', acceptedAt: at(3660) });
    expect((await stored())?.failure).toBeUndefined();
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
    expect(h.observer.refundRejections).toEqual(['REFUSED_AFTER_ACCEPTANCE']);
  });

  it('never sends again a refund WeChat accepted, even when a query says it does not know it', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { amount: undefined, refundId: undefined }));

    expect(await h.reconciler.check(checkOf(refund))).toBe('checked-again');
    expect(h.provider.submitted).toHaveLength(1);
    expect(await stored()).toMatchObject({ status: 'PROCESSING', nextCheckAt: at(3960) });
    expect(h.observer.refundRejections).toEqual(['NOT_FOUND_AFTER_ACCEPTANCE']);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('asks again soon, backing off, when WeChat times out or fails in a way that may pass', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundError('DEADLINE_EXCEEDED', true, 'transport'));
    expect(await h.reconciler.check(checkOf(refund))).toBe('retry-soon');
    expect(laterChecks()).toEqual([
      { outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', attempt: 1, dueAt: at(3670) },
    ]);
    expect((await stored())?.nextCheckAt).toBe(at(3670));

    h.clock.set(at(3670));
    h.provider.onQuery(refundError('SYSTEMERROR', true));
    expect(await h.reconciler.check(laterChecks()[0]!)).toBe('retry-soon');
    expect(laterChecks()[1]).toMatchObject({ attempt: 2, dueAt: at(3690) });
    expect(await stored()).toMatchObject({ status: 'PROCESSING' });
  });

  it('also when sending again fails in a way that may pass (NOTENOUGH: the merchant’s balance)', async () => {
    const refund = await unansweredRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { amount: undefined }));
    h.provider.onSubmit(refundError('NOTENOUGH', true));
    expect(await h.reconciler.check(checkOf(refund))).toBe('retry-soon');
    expect(await stored()).toMatchObject({ status: 'PROCESSING', nextCheckAt: at(3670) });
  });

  it('throws what may not pass by waiting (a signature that does not verify), for the queue to redeliver', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3660));
    h.provider.onQuery(refundError('SIGNATURE_INVALID', false, 'transport'));
    await expect(h.reconciler.check(checkOf(refund))).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    // Still due: the sweep re-creates the check if the queue gives up on it.
    expect((await stored())?.nextCheckAt).toBe(at(3660));
  });

  it('sends a check that arrived early round again, asking nothing', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(3000));
    expect(await h.reconciler.check(checkOf(refund))).toBe('rescheduled-early');
    expect(laterChecks()).toEqual([checkOf(refund)]);
    expect(h.provider.queried).toEqual([]);
  });

  it('drops a superseded check, and one for a refund that is final', async () => {
    const refund = await acceptedRefund();
    h.clock.set(at(4000));
    expect(await h.reconciler.check(checkOf(refund, 0, at(3000)))).toBe('stale');
    await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify');
    expect(await h.reconciler.check(checkOf(refund))).toBe('final');
    expect(await h.reconciler.check({ ...checkOf(refund), outRefundNo: 'RF-gone' })).toBe('final');
    expect(h.provider.queried).toEqual([]);
  });
});
