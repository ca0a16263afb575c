import { beforeEach, describe, expect, it } from 'vitest';
import { ConflictError, ProviderError, ValidationError } from '#shared/domain/errors';
import { at } from '#test/helpers/order-fixtures';
import {
  NOTIFY_URL,
  newPayment,
  type PaymentHarness,
  paymentHarness,
  prepayResult,
  tradeReport,
  wechatRefuses,
} from '#test/helpers/payment-harness';

describe('CreatePayment', () => {
  let h: PaymentHarness;

  beforeEach(() => {
    h = paymentHarness();
  });

  describe('a new order', () => {
    it('is stored, gets a prepay from WeChat, becomes PENDING and has its first check scheduled', async () => {
      h.provider.onPrepay(prepayResult('wx-new'));
      const order = await h.createPayment.execute(newPayment());

      expect(order).toMatchObject({
        outTradeNo: 'T20300101000000001',
        status: 'PENDING',
        prepay: { prepayId: 'wx-new', client: prepayResult('wx-new').client, validUntil: at(7200) },
        // No time_expire asked: the order lives as long as its prepay.
        request: { expiresAt: at(7200), amount: { total: 1999, currency: 'CNY' } },
        // The watch bound: an order expiring within two hours is watched up to its expiry.
        nextCheckAt: at(7200),
        createdAt: at(0),
      });
      expect(order.history).toEqual([
        { at: at(0), from: null, to: 'CREATED', source: 'api' },
        { at: at(0), from: 'CREATED', to: 'PENDING', source: 'api' },
      ]);
      expect(h.provider.calls).toEqual([{ method: 'prepay', request: order.request, notifyUrl: NOTIFY_URL }]);
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: order.outTradeNo, attempt: 0, dueAt: at(30), bound: at(7200) },
      ]);
      expect(await h.store.get(order.outTradeNo)).toEqual(order);
      expect(h.observer.events).toEqual([]);
    });

    it('bounds the watch of an order that lives longer by the last check within two hours', async () => {
      h.provider.onPrepay(prepayResult('wx-day'));
      const order = await h.createPayment.execute(newPayment({ expiresAt: at(86_400) }));
      // 30 s, 90 s, then every 120 s: the last within 7200 s is at 7170 s.
      expect(order.nextCheckAt).toBe(at(7170));
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: order.outTradeNo, attempt: 0, dueAt: at(30), bound: at(7170) },
      ]);
    });

    it('counts the prepay’s life from the request and the first check from the prepay’s answer', async () => {
      h.provider.onPrepay(() => {
        h.clock.advance(3); // WeChat took three seconds.
        return prepayResult('wx-slow');
      });
      const order = await h.createPayment.execute(newPayment());
      expect(order.prepay?.validUntil).toBe(at(7200));
      expect(order.history.at(-1)?.at).toBe(at(3));
      expect(order.nextCheckAt).toBe(at(7200));
      expect(h.scheduler.scheduled[0]?.dueAt).toBe(at(33));
    });

    it('never schedules the first check after the order expires', async () => {
      h.provider.onPrepay(prepayResult('wx-short'));
      const order = await h.createPayment.execute(newPayment({ expiresAt: at(10) }));
      expect(order.nextCheckAt).toBe(at(10));
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: order.outTradeNo, attempt: 0, dueAt: at(10), bound: at(10) },
      ]);
    });

    it('is given an out_trade_no when the merchant sends none', async () => {
      h.provider.onPrepay(prepayResult('wx-gen'));
      const order = await h.createPayment.execute(newPayment({ outTradeNo: undefined }));
      expect(order.outTradeNo).toMatch(/^P20300101000000000[0-9a-f]{14}$/);
      expect(order.request.outTradeNo).toBe(order.outTradeNo);
    });

    it('stays CREATED when WeChat fails the prepay, and the error reaches the caller', async () => {
      const down = new ProviderError('SYSTEMERROR', 'busy', { retryable: true, kind: 'business' });
      h.provider.onPrepay(down);
      await expect(h.createPayment.execute(newPayment())).rejects.toBe(down);
      expect(await h.store.get('T20300101000000001')).toMatchObject({ status: 'CREATED' });
      expect(h.scheduler.attempts).toEqual([]);
    });
  });

  describe('a request WeChat’s rules refuse', () => {
    it('is refused before anything is stored, so its out_trade_no can then be used for a good request', async () => {
      const refused = new ValidationError('scene_info.payer_client_ip: must be an IPv4 or IPv6 address');
      h.provider.refuseRequests = refused;
      await expect(h.createPayment.execute(newPayment({ payerClientIp: 'fe80::1%eth0' }))).rejects.toBe(refused);
      expect(await h.store.get('T20300101000000001')).toBeUndefined();
      expect(h.provider.calls).toEqual([]);

      h.provider.refuseRequests = undefined;
      h.provider.onPrepay(prepayResult('wx-good'));
      const order = await h.createPayment.execute(newPayment());
      expect(order).toMatchObject({ outTradeNo: 'T20300101000000001', status: 'PENDING' });
      expect(h.provider.validated.map((r) => r.payerClientIp)).toEqual(['fe80::1%eth0', '203.0.113.7']);
    });
  });

  describe('scheduler failure', () => {
    it('is recovered: the payment is answered, the observer told, and the order stays due for the sweep', async () => {
      const lost = new Error('queue unavailable');
      h.scheduler.failWith(lost);
      h.provider.onPrepay(prepayResult('wx-new'));
      const order = await h.createPayment.execute(newPayment());

      expect(order).toMatchObject({ status: 'PENDING', nextCheckAt: at(7200) });
      expect(h.scheduler.scheduled).toEqual([]);
      expect(h.observer.events).toEqual([
        {
          kind: 'recovered',
          what: 'check not scheduled; the sweep will re-enqueue it',
          outTradeNo: order.outTradeNo,
          error: lost,
        },
      ]);
      // Its bound, the expiry, is brought forward to the lost check's due time, so the sweep does not
      // wait two hours for it.
      expect(await h.store.findDue(at(30), 10)).toEqual([{ outTradeNo: order.outTradeNo, nextCheckAt: at(30) }]);
    });
  });

  describe('the same out_trade_no again', () => {
    it('with the same request answers the stored payment without asking WeChat again', async () => {
      h.provider.onPrepay(prepayResult('wx-new'));
      const first = await h.createPayment.execute(newPayment());
      h.clock.advance(60);
      const again = await h.createPayment.execute(newPayment());
      expect(again).toEqual(first);
      expect(h.provider.callsOf('prepay')).toHaveLength(1);
      expect(h.scheduler.scheduled).toHaveLength(1);
    });

    it('with another request is OUT_TRADE_NO_USED, and the stored order is untouched', async () => {
      h.provider.onPrepay(prepayResult('wx-new'));
      const first = await h.createPayment.execute(newPayment());
      const attempt = h.createPayment.execute(newPayment({ amount: { total: 1, currency: 'CNY' } }));
      await expect(attempt).rejects.toBeInstanceOf(ConflictError);
      await expect(attempt).rejects.toMatchObject({ code: 'OUT_TRADE_NO_USED' });
      expect(await h.store.get(first.outTradeNo)).toEqual(first);
      expect(h.provider.callsOf('prepay')).toHaveLength(1);
    });

    it('resumes an order left CREATED by a failed prepay', async () => {
      h.provider.onPrepay(wechatRefuses('SYSTEMERROR', true), prepayResult('wx-second'));
      await expect(h.createPayment.execute(newPayment())).rejects.toBeInstanceOf(ProviderError);
      h.clock.advance(5);
      const resumed = await h.createPayment.execute(newPayment());

      expect(resumed).toMatchObject({ status: 'PENDING', prepay: { prepayId: 'wx-second' }, nextCheckAt: at(7200) });
      expect(resumed.history.map((entry) => entry.to)).toEqual(['CREATED', 'PENDING']);
      expect(h.provider.callsOf('prepay')).toHaveLength(2);
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: resumed.outTradeNo, attempt: 0, dueAt: at(35), bound: at(7200) },
      ]);
    });

    it('moved to PENDING by a concurrent request answers that payment, scheduling nothing', async () => {
      h.provider.onPrepay(async (request) => {
        // The other request stored its prepay while this one waited for WeChat.
        await h.store.transition({
          outTradeNo: request.outTradeNo,
          to: 'PENDING',
          at: at(1),
          source: 'api',
          prepay: { prepayId: 'wx-other', client: {}, validUntil: at(7201) },
          nextCheckAt: at(31),
        });
        return prepayResult('wx-mine');
      });
      const order = await h.createPayment.execute(newPayment());
      expect(order).toMatchObject({ status: 'PENDING', prepay: { prepayId: 'wx-other' }, nextCheckAt: at(31) });
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('that was paid while WeChat was asked answers the paid order and schedules nothing', async () => {
      h.provider.onPrepay(async (request) => {
        await h.reports.apply(tradeReport(request.outTradeNo, 'SUCCESS'), 'notify');
        return prepayResult('wx-late');
      });
      const order = await h.createPayment.execute(newPayment());
      expect(order).toMatchObject({ status: 'PAID', payment: { amountTotal: 1999 } });
      expect(order.prepay).toBeUndefined();
      expect(h.scheduler.attempts).toEqual([]);
    });
  });

  describe('prepay lapsed → renewal', () => {
    // The order lives three hours; its prepay_id two. After two hours the payer needs a new one.
    const OUT = 'T20300101000000001';
    const longLived = newPayment({ outTradeNo: OUT, expiresAt: at(3 * 3600) });

    async function createdWithPrepay(status: 'PENDING' | 'FAILED' = 'PENDING'): Promise<void> {
      h.provider.onPrepay(prepayResult('wx-first'));
      const order = await h.createPayment.execute(longLived);
      if (status === 'FAILED') await h.reports.apply(tradeReport(order.outTradeNo, 'PAYERROR'), 'notify');
      h.clock.advance(7200);
    }

    it.each(['PENDING', 'FAILED'] as const)('renews the prepay of a %s order at WeChat', async (status) => {
      await createdWithPrepay(status);
      const before = await h.store.get(OUT);
      h.provider.onPrepay(prepayResult('wx-renewed'));
      const renewed = await h.createPayment.execute(longLived);

      expect(renewed).toEqual({
        ...before,
        prepay: { prepayId: 'wx-renewed', client: prepayResult('wx-renewed').client, validUntil: at(14_400) },
        updatedAt: at(7200),
      });
      expect(await h.store.get(renewed.outTradeNo)).toEqual(renewed);
      expect(h.provider.callsOf('prepay')[1]).toEqual({
        method: 'prepay',
        request: renewed.request,
        notifyUrl: NOTIFY_URL,
      });
      // A renewal is no new check: the order's chain of checks goes on.
      expect(h.scheduler.scheduled).toHaveLength(1);
    });

    it('watches an order whose checks were given up on again, from the first check', async () => {
      await createdWithPrepay();
      // The sweep gave up on it (a bound of one put-back).
      await h.store.requeueCheck(OUT, at(3600), 1);
      expect(await h.store.requeueCheck(OUT, at(3900), 1)).toMatchObject({ kind: 'exhausted' });
      h.provider.onPrepay(prepayResult('wx-renewed'));
      const renewed = await h.createPayment.execute(longLived);

      // Watched up to its expiry, an hour on: the renewal writes the bound as a creation does.
      expect(renewed).toMatchObject({ status: 'PENDING', prepay: { prepayId: 'wx-renewed' }, nextCheckAt: at(10_800) });
      expect(renewed).not.toHaveProperty('checksExhaustedAt');
      expect(renewed).not.toHaveProperty('requeues');
      expect(h.scheduler.scheduled.at(-1)).toEqual({ outTradeNo: OUT, attempt: 0, dueAt: at(7230), bound: at(10_800) });
      expect(await h.store.findDue(at(10_800), 10)).toEqual([{ outTradeNo: OUT, nextCheckAt: at(10_800) }]);
    });

    it('stores nothing when WeChat answers the same prepay_id: its own two hours are not over', async () => {
      await createdWithPrepay();
      const before = await h.store.get(OUT);
      h.provider.onPrepay(prepayResult('wx-first'));
      const answered = await h.createPayment.execute(longLived);
      expect(answered).toEqual(before);
      expect(await h.store.get(answered.outTradeNo)).toEqual(before);
      expect(h.provider.callsOf('prepay')).toHaveLength(2);
    });

    it('asks WeChat nothing while the prepay is still valid', async () => {
      await createdWithPrepay();
      h.clock.advance(-1);
      const answered = await h.createPayment.execute(longLived);
      expect(answered.prepay?.prepayId).toBe('wx-first');
      expect(h.provider.callsOf('prepay')).toHaveLength(1);
    });

    it('does not renew in the order’s last minute: WeChat would refuse so short an expiry', async () => {
      await createdWithPrepay();
      h.clock.set(Date.parse(at(3 * 3600)) - 59_999);
      const answered = await h.createPayment.execute(longLived);
      expect(answered.prepay?.prepayId).toBe('wx-first');
      expect(h.provider.callsOf('prepay')).toHaveLength(1);

      // One minute before expiry exactly is still enough.
      h.clock.set(Date.parse(at(3 * 3600)) - 60_000);
      h.provider.onPrepay(prepayResult('wx-last'));
      expect((await h.createPayment.execute(longLived)).prepay?.prepayId).toBe('wx-last');
    });

    it('does not renew the prepay of a settled order', async () => {
      await createdWithPrepay();
      await h.reports.apply(tradeReport(OUT, 'CLOSED'), 'reconcile');
      const answered = await h.createPayment.execute(longLived);
      expect(answered).toMatchObject({ status: 'CLOSED', prepay: { prepayId: 'wx-first' } });
      expect(h.provider.callsOf('prepay')).toHaveLength(1);
    });

    it('meets ORDERPAID: asks WeChat and answers the order as paid, moved by the api', async () => {
      await createdWithPrepay();
      h.provider.onPrepay(wechatRefuses('ORDERPAID'));
      h.provider.onQuery(tradeReport(OUT, 'SUCCESS'));
      const answered = await h.createPayment.execute(longLived);

      expect(answered).toMatchObject({ status: 'PAID', prepay: { prepayId: 'wx-first' } });
      expect(answered.history.at(-1)).toEqual({ at: at(7200), from: 'PENDING', to: 'PAID', source: 'api' });
      expect(h.provider.calls.map((call) => call.method)).toEqual(['prepay', 'prepay', 'query']);
    });

    it('meets ORDERCLOSED: asks WeChat and answers the order as closed', async () => {
      await createdWithPrepay();
      h.provider.onPrepay(wechatRefuses('ORDERCLOSED'));
      h.provider.onQuery(tradeReport(OUT, 'CLOSED', { description: 'closed at WeChat' }));
      const answered = await h.createPayment.execute(longLived);
      expect(answered).toMatchObject({ status: 'CLOSED', reason: 'closed at WeChat' });
    });

    it('meets ORDERPAID that the query cannot confirm yet: answers the order as stored', async () => {
      await createdWithPrepay();
      const before = await h.store.get(OUT);
      h.provider.onPrepay(wechatRefuses('ORDERPAID'));
      h.provider.onQuery(tradeReport(OUT, 'NOTPAY'));
      expect(await h.createPayment.execute(longLived)).toEqual(before);
    });

    it('lets any other failure of WeChat reach the caller, storing nothing', async () => {
      await createdWithPrepay();
      const before = await h.store.get(OUT);
      const busy = wechatRefuses('SYSTEMERROR', true);
      const broken = new TypeError('not a ProviderError');
      h.provider.onPrepay(busy, broken);
      await expect(h.createPayment.execute(longLived)).rejects.toBe(busy);
      await expect(h.createPayment.execute(longLived)).rejects.toBe(broken);
      expect(await h.store.get(OUT)).toEqual(before);
      expect(h.provider.callsOf('query')).toEqual([]);
    });

    it('answers the order as it is when it was paid while the new prepay was asked for', async () => {
      await createdWithPrepay();
      h.provider.onPrepay(async (request) => {
        await h.reports.apply(tradeReport(request.outTradeNo, 'SUCCESS'), 'notify');
        return prepayResult('wx-too-late');
      });
      const answered = await h.createPayment.execute(longLived);
      expect(answered).toMatchObject({ status: 'PAID', prepay: { prepayId: 'wx-first' } });
    });
  });
});
