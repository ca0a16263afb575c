import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, NotFoundError, ProviderError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import {
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  tradeReport,
  wechatRefuses,
} from '#test/helpers/payment-harness';

describe('ClosePayment', () => {
  let h: PaymentHarness;
  let pending: Order;

  beforeEach(async () => {
    h = paymentHarness();
    pending = pendingOrder();
    await h.store.create(pending);
    // Created at T0: WeChat allows the close from T0 + 300 s.
    h.clock.set(at(600));
  });

  it('refuses an unknown order with NotFoundError', async () => {
    await expect(h.closePayment.execute('NOPE')).rejects.toBeInstanceOf(NotFoundError);
    expect(h.provider.calls).toEqual([]);
  });

  it('answers an order already closed as it is, without asking WeChat', async () => {
    const closed = orderFixture({ status: 'CLOSED', nextCheckAt: undefined, reason: 'closed unpaid' });
    await h.store.create(closed);
    expect(await h.closePayment.execute(closed.outTradeNo)).toEqual(closed);
    expect(h.provider.calls).toEqual([]);
  });

  it('refuses a paid order with ORDERPAID, without asking WeChat', async () => {
    const paid = orderFixture({ status: 'PAID', nextCheckAt: undefined });
    await h.store.create(paid);
    const attempt = h.closePayment.execute(paid.outTradeNo);
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
    await expect(attempt).rejects.toMatchObject({ code: 'ORDERPAID' });
    expect(h.provider.calls).toEqual([]);
    expect(await h.store.get(paid.outTradeNo)).toEqual(paid);
  });

  it.each(['ORDERCLOSED', 'ORDERNOTEXIST', 'ORDERPAID'])(
    'a %s that is not WeChat’s verified word (a transport failure) moves nothing',
    async (code) => {
      const unverified = new ProviderError(code, 'unsigned answer', { retryable: true, kind: 'transport' });
      h.provider.onClose(unverified);
      await expect(h.closePayment.execute(pending.outTradeNo)).rejects.toBe(unverified);
      expect(h.provider.callsOf('query')).toEqual([]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    },
  );

  describe('TOO_EARLY', () => {
    it('refuses within five minutes of creation, saying how long to wait (rounded up)', async () => {
      h.clock.set(Date.parse(at(180)) + 500);
      const attempt = h.closePayment.execute(pending.outTradeNo);
      await expect(attempt).rejects.toMatchObject({ code: 'TOO_EARLY', message: expect.stringContaining('in 120 s') });
      await expect(attempt).rejects.toBeInstanceOf(ConflictError);
      expect(h.provider.calls).toEqual([]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('lets the close through at five minutes exactly', async () => {
      h.clock.set(at(300));
      h.provider.onClose(undefined);
      expect(await h.closePayment.execute(pending.outTradeNo)).toMatchObject({ status: 'CLOSED' });
    });

    it('applies to a FAILED order too, and to one never sent to WeChat (CREATED)', async () => {
      for (const status of ['FAILED', 'CREATED'] as const) {
        const open = orderFixture({ status });
        await h.store.create(open);
        h.clock.set(at(299));
        await expect(h.closePayment.execute(open.outTradeNo)).rejects.toMatchObject({ code: 'TOO_EARLY' });
      }
    });
  });

  it('closes at WeChat, then here: CLOSED, closed unpaid, moved by close, out of the due index', async () => {
    h.provider.onClose(undefined);
    const closed = await h.closePayment.execute(pending.outTradeNo);
    expect(closed).toMatchObject({ status: 'CLOSED', reason: 'closed unpaid', updatedAt: at(600) });
    expect(closed.nextCheckAt).toBeUndefined();
    expect(closed.history.at(-1)).toEqual({ at: at(600), from: 'PENDING', to: 'CLOSED', source: 'close' });
    expect(h.provider.calls).toEqual([{ method: 'close', outTradeNo: pending.outTradeNo }]);
    expect(await h.store.get(pending.outTradeNo)).toEqual(closed);
    expect(await h.store.findDue(at(10_000), 10)).toEqual([]);
  });

  it.each(['ORDERCLOSED', 'ORDERNOTEXIST'])('closes here when WeChat answers %s', async (code) => {
    h.provider.onClose(wechatRefuses(code));
    const closed = await h.closePayment.execute(pending.outTradeNo);
    expect(closed).toMatchObject({ status: 'CLOSED', reason: 'closed unpaid' });
    expect(h.provider.callsOf('query')).toEqual([]);
  });

  it('lets any other failure of WeChat reach the caller and closes nothing', async () => {
    const busy = wechatRefuses('SYSTEMERROR', true);
    const broken = new TypeError('fetch failed');
    h.provider.onClose(busy, broken);
    await expect(h.closePayment.execute(pending.outTradeNo)).rejects.toBe(busy);
    await expect(h.closePayment.execute(pending.outTradeNo)).rejects.toBe(broken);
    expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
  });

  describe('ORDERPAID at WeChat', () => {
    it('with the query confirming: records the payment and refuses the close with ORDERPAID', async () => {
      h.provider.onClose(wechatRefuses('ORDERPAID'));
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'SUCCESS'));
      await expect(h.closePayment.execute(pending.outTradeNo)).rejects.toMatchObject({ code: 'ORDERPAID' });

      const stored = await h.store.get(pending.outTradeNo);
      expect(stored).toMatchObject({ status: 'PAID', payment: { transactionId: '4200001234567890123456789012' } });
      expect(stored?.history.at(-1)).toEqual({ at: at(600), from: 'PENDING', to: 'PAID', source: 'close' });
      expect(h.provider.calls.map((call) => call.method)).toEqual(['close', 'query']);
      // paidAtExpiry is the reconciler's alarm, not the merchant's close.
      expect(h.observer.events).toEqual([]);
    });

    it('without the query confirming: refuses with ORDERPAID and leaves the order open for its checks', async () => {
      h.provider.onClose(wechatRefuses('ORDERPAID'));
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      const attempt = h.closePayment.execute(pending.outTradeNo);
      await expect(attempt).rejects.toBeInstanceOf(ConflictError);
      await expect(attempt).rejects.toMatchObject({ code: 'ORDERPAID' });
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
      expect(h.observer.events).toEqual([]);
    });
  });

  it('refuses with ORDERPAID when a notification paid the order while WeChat closed it', async () => {
    h.provider.onClose(async (outTradeNo) => {
      await h.reports.apply(tradeReport(outTradeNo, 'SUCCESS'), 'notify');
    });
    await expect(h.closePayment.execute(pending.outTradeNo)).rejects.toMatchObject({ code: 'ORDERPAID' });
    expect(await h.store.get(pending.outTradeNo)).toMatchObject({ status: 'PAID' });
  });

  it('answers the closed order when another close got there first', async () => {
    h.provider.onClose(async (outTradeNo) => {
      await h.reports.apply(tradeReport(outTradeNo, 'CLOSED', { description: 'closed by WeChat' }), 'notify');
    });
    expect(await h.closePayment.execute(pending.outTradeNo)).toMatchObject({
      status: 'CLOSED',
      reason: 'closed by WeChat',
    });
  });
});
