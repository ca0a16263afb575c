import { beforeEach, describe, expect, it } from 'vitest';

import { ConflictError, NotFoundError, ProviderError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import type { RefundRequest } from '#shared/domain/refund';
import { at, T0 } from '#test/helpers/order-fixtures';
import {
  paidOrder,
  REFUND_NOTIFY_URL,
  refundError,
  type RefundHarness,
  refundHarness,
  refundReport,
} from '#test/helpers/refund-harness';

const DAY = 86_400;

/** The clock stands at T0 + 1 h; the order (19.99 CNY) was paid at T0. The check schedule is [60, 300, 1800]. */
describe('CreateRefund', () => {
  let h: RefundHarness;
  let order: Order;

  beforeEach(async () => {
    h = refundHarness();
    order = paidOrder();
    await h.orders.create(order);
  });

  function request(overrides: Partial<RefundRequest> = {}): RefundRequest {
    return {
      outTradeNo: order.outTradeNo,
      outRefundNo: 'RF0001',
      refund: 500,
      reason: 'one cup returned',
      ...overrides,
    };
  }

  const accepted = (r: RefundRequest) =>
    refundReport({ ...r, amount: { refund: r.refund, total: 1999 } }, 'PROCESSING');

  async function rejection(promise: Promise<unknown>): Promise<unknown> {
    return promise.then(
      () => {
        throw new Error('expected a rejection');
      },
      (error: unknown) => error,
    );
  }

  it('stores the refund and its hold, schedules its first check, then sends it to WeChat', async () => {
    const asked = request();
    let scheduledBeforeSend = -1;
    h.provider.onSubmit(() => {
      scheduledBeforeSend = h.scheduler.scheduledRefunds.length;
      return accepted(asked);
    });

    const { refund, created } = await h.createRefund.execute(asked);

    expect(created).toBe(true);
    expect(scheduledBeforeSend).toBe(1);
    expect(h.scheduler.scheduledRefunds).toEqual([
      { outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', attempt: 0, dueAt: at(3660) },
    ]);
    expect(h.provider.submitted).toEqual([
      {
        outTradeNo: order.outTradeNo,
        outRefundNo: 'RF0001',
        refund: 500,
        total: 1999,
        currency: 'CNY',
        reason: 'one cup returned',
        notifyUrl: REFUND_NOTIFY_URL,
      },
    ]);
    expect(refund).toMatchObject({
      status: 'PROCESSING',
      amount: { refund: 500, total: 1999, currency: 'CNY' },
      acceptedAt: at(3600),
      refundId: '50000000382019052709732678859',
      nextCheckAt: at(3660),
    });
    expect(await h.refunds.getRefund(order.outTradeNo, 'RF0001')).toEqual(refund);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('answers the same refund to the same request, without asking WeChat again once it has it', async () => {
    h.provider.onSubmit(accepted(request()));
    const first = await h.createRefund.execute(request());
    h.clock.advance(30);
    const again = await h.createRefund.execute(request());

    expect(again).toEqual({ refund: first.refund, created: false });
    expect(h.provider.calls).toHaveLength(1);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('refuses the same out_refund_no with other content (amount, reason), changing nothing', async () => {
    h.provider.onSubmit(accepted(request()));
    await h.createRefund.execute(request());

    for (const other of [
      request({ refund: 501 }),
      request({ reason: 'another reason' }),
      request({ reason: undefined }),
    ]) {
      const error = await rejection(h.createRefund.execute(other));
      expect(error).toBeInstanceOf(ConflictError);
      expect(error).toMatchObject({ code: 'OUT_REFUND_NO_USED' });
    }
    expect(h.provider.calls).toHaveLength(1);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('404s an unknown order and 409s an order that is not paid, before anything is stored or sent', async () => {
    expect(await rejection(h.createRefund.execute(request({ outTradeNo: 'T-unknown' })))).toBeInstanceOf(NotFoundError);
    const pending = paidOrder({ status: 'PENDING', payment: undefined });
    await h.orders.create(pending);
    expect(await rejection(h.createRefund.execute(request({ outTradeNo: pending.outTradeNo })))).toMatchObject({
      code: 'ORDER_NOT_PAID',
    });
    expect(await h.refunds.listRefunds(pending.outTradeNo)).toEqual([]);
    expect(h.provider.calls).toEqual([]);
  });

  describe('the refund window (a year from WeChat’s success time)', () => {
    it('is closed 365 days after a v2 time_end (Beijing time), open a second before', async () => {
      h.clock.set(T0 + 365 * DAY * 1000 - 1000);
      h.provider.onSubmit(accepted(request()));
      expect((await h.createRefund.execute(request())).created).toBe(true);

      h.clock.set(T0 + 365 * DAY * 1000);
      const error = await rejection(h.createRefund.execute(request({ outRefundNo: 'RF0002' })));
      expect(error).toMatchObject({ code: 'REFUND_WINDOW_CLOSED' });
      expect(await h.refunds.getRefund(order.outTradeNo, 'RF0002')).toBeUndefined();
    });

    it('reads a v3 success_time (RFC 3339 with its offset)', async () => {
      const v3 = paidOrder({ payment: { ...paidOrder().payment!, paidAt: '2030-01-02T08:00:00+08:00' } });
      await h.orders.create(v3);
      h.clock.set(T0 + 366 * DAY * 1000 - 1000);
      h.provider.onSubmit(accepted(request({ outTradeNo: v3.outTradeNo })));
      expect((await h.createRefund.execute(request({ outTradeNo: v3.outTradeNo }))).created).toBe(true);
      h.clock.advance(1);
      expect(
        await rejection(h.createRefund.execute(request({ outTradeNo: v3.outTradeNo, outRefundNo: 'R2' }))),
      ).toMatchObject({ code: 'REFUND_WINDOW_CLOSED' });
    });

    it('falls back on when the payment was learnt of when WeChat’s time cannot be read', async () => {
      const odd = paidOrder({ payment: { ...paidOrder().payment!, paidAt: 'yesterday' } });
      await h.orders.create(odd);
      h.clock.set(T0 + 5000 + 365 * DAY * 1000);
      expect(await rejection(h.createRefund.execute(request({ outTradeNo: odd.outTradeNo })))).toMatchObject({
        code: 'REFUND_WINDOW_CLOSED',
      });
    });
  });

  it('refuses more than is left (SUCCESS, PROCESSING and ABNORMAL count) before WeChat is asked', async () => {
    h.provider.onSubmit(accepted(request({ refund: 1500 })));
    await h.createRefund.execute(request({ refund: 1500 }));
    const error = await rejection(h.createRefund.execute(request({ outRefundNo: 'RF0002', refund: 500 })));
    expect(error).toMatchObject({ code: 'REFUND_AMOUNT_EXCEEDED' });
    expect(h.provider.submitted.map((s) => s.outRefundNo)).toEqual(['RF0001']);

    // What is left can still be refunded.
    h.provider.onSubmit(accepted(request({ outRefundNo: 'RF0003', refund: 499 })));
    expect((await h.createRefund.execute(request({ outRefundNo: 'RF0003', refund: 499 }))).created).toBe(true);
  });

  it('of two concurrent refunds of 60% each, accepts exactly one', async () => {
    const a = request({ outRefundNo: 'RFA', refund: 1200 });
    const b = request({ outRefundNo: 'RFB', refund: 1200 });
    h.provider.onSubmit((s) => accepted(s.outRefundNo === 'RFA' ? a : b));
    const results = await Promise.allSettled([h.createRefund.execute(a), h.createRefund.execute(b)]);

    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((r) => r.status === 'rejected');
    expect(refused?.status === 'rejected' && refused.reason).toMatchObject({ code: 'REFUND_AMOUNT_EXCEEDED' });
    expect(h.provider.submitted).toHaveLength(1);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 1200, count: 1 });
  });

  it('refuses a 51st refund of an order', async () => {
    h.orders.refundAccount(order.outTradeNo)?.setTotals({ refunded: 50, pending: 0, count: 50 });
    expect(await rejection(h.createRefund.execute(request({ refund: 1 })))).toMatchObject({ code: 'TOO_MANY_REFUNDS' });
    expect(h.provider.calls).toEqual([]);
  });

  it('after a timeout, answers the stored refund PROCESSING (unaccepted) and leaves it to the reconciler', async () => {
    // Thrown, the timeout would be a retryable 502: a caller without out_refund_no retries under a new one.
    h.provider.onSubmit(refundError('DEADLINE_EXCEEDED', true, 'transport'));
    const { refund, created } = await h.createRefund.execute(request());

    expect(created).toBe(true);
    expect(refund).toMatchObject({ status: 'PROCESSING', nextCheckAt: at(3660) });
    expect(refund.acceptedAt).toBeUndefined();
    expect(await h.refunds.getRefund(order.outTradeNo, 'RF0001')).toEqual(refund);
    expect(h.scheduler.scheduledRefunds).toHaveLength(1);
    expect(h.observer.events).toMatchObject([{ kind: 'recovered', outTradeNo: order.outTradeNo }]);

    // The caller retries all the same: WeChat never got it, so it is sent again, under the same out_refund_no.
    h.provider.onQuery(refundReport(refund, 'NOT_FOUND', { refundId: undefined, amount: undefined }));
    h.provider.onSubmit(accepted(request()));
    const retry = await h.createRefund.execute(request());

    expect(retry.created).toBe(false);
    expect(retry.refund).toMatchObject({ status: 'PROCESSING', acceptedAt: at(3600) });
    expect(h.provider.calls.map((c) => c.method)).toEqual(['submitRefund', 'queryRefund', 'submitRefund']);
    expect(h.provider.submitted.map((s) => s.outRefundNo)).toEqual(['RF0001', 'RF0001']);
    expect(h.provider.submitted[0]).toEqual(h.provider.submitted[1]);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
  });

  it('answers the stored refund when WeChat refuses in a way that may pass (NOTENOUGH), or time runs out', async () => {
    h.provider.onSubmit(refundError('NOTENOUGH', true));
    expect(await h.createRefund.execute(request())).toMatchObject({ created: true, refund: { status: 'PROCESSING' } });
    h.provider.onSubmit(refundError('DEADLINE_EXCEEDED', false, 'transport'));
    expect(await h.createRefund.execute(request({ outRefundNo: 'RF0002' }))).toMatchObject({ created: true });
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 1000, count: 2 });
  });

  it('answers a repeat of a refund WeChat never took with it (200), even when sending it again fails', async () => {
    h.provider.onSubmit(refundError('SYSTEMERROR', true));
    const first = await h.createRefund.execute(request());
    h.clock.advance(30);
    h.provider.onQuery(refundReport(first.refund, 'NOT_FOUND', { refundId: undefined, amount: undefined }));
    h.provider.onSubmit(refundError('DEADLINE_EXCEEDED', true, 'transport'));
    expect(await h.createRefund.execute(request())).toEqual({ refund: first.refund, created: false });

    h.provider.onQuery(refundError('FREQUENCY_LIMITED', true));
    expect(await h.createRefund.execute(request())).toEqual({ refund: first.refund, created: false });
    expect(h.provider.submitted).toHaveLength(2);
  });

  it('on a retry, does not resend a refund WeChat took before the timeout: it applies WeChat’s word', async () => {
    h.provider.onSubmit(refundError('SYSTEMERROR', true));
    await h.createRefund.execute(request());
    const stored = await h.refunds.getRefund(order.outTradeNo, 'RF0001');
    h.provider.onQuery(refundReport(stored!, 'SUCCESS'));

    const retry = await h.createRefund.execute(request());
    expect(retry.refund).toMatchObject({ status: 'SUCCESS', successTime: '2030-01-01T09:05:00+08:00' });
    expect(h.provider.submitted).toHaveLength(1);
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('refuses an out_refund_no another order used (WeChat’s are unique per merchant), storing nothing', async () => {
    h.provider.onSubmit(accepted(request()));
    await h.createRefund.execute(request());
    const other = paidOrder({ outTradeNo: 'T-other' });
    await h.orders.create(other);

    const error = await rejection(h.createRefund.execute(request({ outTradeNo: other.outTradeNo })));
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ code: 'OUT_REFUND_NO_USED' });
    expect(await h.refunds.listRefunds(other.outTradeNo)).toEqual([]);
    expect((await h.orders.get(other.outTradeNo))?.refunds?.pending ?? 0).toBe(0);
    expect(h.provider.submitted).toHaveLength(1);
  });

  it('keeps the payment’s transaction_id with the refund, for WeChat’s reports to be matched against', async () => {
    h.provider.onSubmit(accepted(request()));
    const { refund } = await h.createRefund.execute(request());
    expect(refund.transactionId).toBe(order.payment?.transactionId);
    expect((await h.refunds.getRefund(order.outTradeNo, 'RF0001'))?.transactionId).toBe(order.payment?.transactionId);
  });

  it('closes a refund WeChat refuses outright, releasing its hold, and says why', async () => {
    h.provider.onSubmit(refundError('REFUND_FEE_MISMATCH', false));
    const error = await rejection(h.createRefund.execute(request()));

    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ code: 'REFUND_FEE_MISMATCH', retryable: false });
    const closed = await h.refunds.getRefund(order.outTradeNo, 'RF0001');
    expect(closed).toMatchObject({
      status: 'CLOSED',
      failure: { code: 'REFUND_FEE_MISMATCH', message: 'WeChat says REFUND_FEE_MISMATCH' },
    });
    expect(closed?.nextCheckAt).toBeUndefined();
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });

    // The same request again answers the closed refund; nothing more is sent.
    expect(await h.createRefund.execute(request())).toEqual({ refund: closed, created: false });
    expect(h.provider.submitted).toHaveLength(1);
  });

  it('does not close a refund on an answer it could not read: that is no refusal by WeChat', async () => {
    h.provider.onSubmit(refundError('INVALID_RESPONSE', false));
    await rejection(h.createRefund.execute(request()));
    expect(await h.refunds.getRefund(order.outTradeNo, 'RF0001')).toMatchObject({ status: 'PROCESSING' });
    expect((await h.orders.get(order.outTradeNo))?.refunds?.pending).toBe(500);
  });

  it('applies a final status WeChat reports at once', async () => {
    h.provider.onSubmit(refundReport({ ...request(), amount: { refund: 500, total: 1999 } }, 'SUCCESS'));
    const { refund } = await h.createRefund.execute(request());
    expect(refund).toMatchObject({ status: 'SUCCESS', userReceivedAccount: '支付用户零钱' });
    expect(refund.nextCheckAt).toBeUndefined();
    expect((await h.orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('goes on when the first check cannot be queued: the refund carries it for the sweep', async () => {
    h.scheduler.failWith();
    h.provider.onSubmit(accepted(request()));
    const { refund } = await h.createRefund.execute(request());

    expect(refund.status).toBe('PROCESSING');
    expect(h.observer.events).toMatchObject([{ kind: 'recovered', outTradeNo: order.outTradeNo }]);
    expect(await h.refunds.findDueRefunds(at(3660), 10)).toEqual([
      { outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', nextCheckAt: at(3660) },
    ]);
  });

  it('refuses input no API would pass, before anything is stored', async () => {
    for (const [bad, field] of [
      [request({ refund: 0 }), 'amount.refund'],
      [request({ refund: 1.5 }), 'amount.refund'],
      [request({ outRefundNo: 'has space' }), 'out_refund_no'],
      [request({ reason: 'x'.repeat(81) }), 'reason'],
    ] as const) {
      expect(await rejection(h.createRefund.execute(bad))).toMatchObject({ code: 'INVALID_REQUEST', field });
    }
    expect(await h.refunds.listRefunds(order.outTradeNo)).toEqual([]);
  });
});
