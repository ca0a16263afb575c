import { beforeEach, describe, expect, it, vi } from 'vitest';
import { ProviderError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import type { OrderStore, ReconcileCheck } from '#shared/domain/ports';
import {
  OUT_OF_TIME_RETRY_MAX_SECONDS,
  OUT_OF_TIME_RETRY_SECONDS,
  outOfTimeRetrySeconds,
} from '#shared/domain/reconciler';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import {
  MAX_REQUEUES,
  newPayment,
  paymentFacts,
  prepayResult,
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  tradeReport,
  wechatRefuses,
} from '#test/helpers/payment-harness';

/** The store's methods that write; a check that learns nothing calls none of them. */
const WRITES = [
  'create',
  'transition',
  'extendWatch',
  'requeueCheck',
  'renewPrepay',
  'recordNotification',
  'recordUnverified',
  'recordLatePayment',
] as const satisfies readonly (keyof OrderStore)[];

/** Counts the calls of the store's writing methods from now on, by method. */
function countWrites(store: OrderStore): () => Partial<Record<(typeof WRITES)[number], number>> {
  const spies = WRITES.map((method) => [method, vi.spyOn(store, method)] as const);
  return () =>
    Object.fromEntries(
      spies.filter(([, spy]) => spy.mock.calls.length > 0).map(([m, spy]) => [m, spy.mock.calls.length]),
    );
}

/**
 * The schedule is [30, 60, 120] s; orders are created at T0, expire at T0 + 2 h, closable from T0 + 5 min.
 * An order's nextCheckAt is its watch bound: at its expiry, as CreatePayment writes it for such an order.
 */
describe('Reconciler.check', () => {
  let h: PaymentHarness;
  let pending: Order;

  beforeEach(async () => {
    h = paymentHarness();
    pending = pendingOrder({ nextCheckAt: at(7200) });
    await h.store.create(pending);
    h.clock.set(at(30));
  });

  /** A check of the chain holding the order's bound, due now unless told otherwise. */
  function checkOf(order: Order, attempt = 0, dueAt = h.clock.iso()): ReconcileCheck {
    return { outTradeNo: order.outTradeNo, attempt, dueAt, bound: order.nextCheckAt ?? dueAt };
  }

  /** An open order whose check is due now, at its expiry or later. */
  async function expired(overrides: Partial<Order> = {}): Promise<Order> {
    const order = pendingOrder({ nextCheckAt: at(7200), ...overrides });
    await h.store.create(order);
    h.clock.set(at(7200));
    return order;
  }

  describe('out-of-time', () => {
    const outOfTime = () =>
      new ProviderError('DEADLINE_EXCEEDED', 'no answer before the deadline', { retryable: true, kind: 'transport' });

    it('asks again soon, as the same attempt, when WeChat could not answer before the deadline', async () => {
      h.provider.onQuery(outOfTime());
      expect(await h.reconciler.check(checkOf(pending, 2))).toBe('out-of-time');
      // Put back as the sweep puts a check back: the retry's due time is the bound its message carries.
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: pending.outTradeNo, attempt: 2, dueAt: at(40), bound: at(40) },
      ]);
      expect(await h.store.get(pending.outTradeNo)).toMatchObject({ status: 'PENDING', nextCheckAt: at(40) });
    });

    it('also when the close of an expired order runs out of time', async () => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY')).onClose(outOfTime());
      expect(await h.reconciler.check(checkOf(order))).toBe('out-of-time');
      expect(await h.store.get(order.outTradeNo)).toMatchObject({ status: 'PENDING', nextCheckAt: at(7210) });
    });

    /** Runs checks that all run out of time, each when it is due; the seconds each waited after the one before. */
    async function keepRunningOutOfTime(order: Order, times: number, first = checkOf(order)): Promise<number[]> {
      const waits: number[] = [];
      let check = first;
      for (let i = 0; i < times; i += 1) {
        h.provider.onQuery(outOfTime());
        const ranAt = h.clock.now().getTime();
        expect(await h.reconciler.check(check)).toBe('out-of-time');
        const next = h.scheduler.scheduled.at(-1);
        if (!next) throw new Error('no check scheduled');
        // The same attempt: the check did not happen, so the schedule does not move on.
        expect(next.attempt).toBe(check.attempt);
        waits.push((Date.parse(next.dueAt) - ranAt) / 1000);
        h.clock.set(next.dueAt);
        check = next;
      }
      return waits;
    }

    it('backs off while the check keeps running out of time, and gives up after the bound', async () => {
      const waits = await keepRunningOutOfTime(pending, MAX_REQUEUES);
      expect(waits).toEqual([10, 20, 40, 80]);
      const last = h.scheduler.scheduled.at(-1);
      if (!last) throw new Error('no check scheduled');

      h.provider.onQuery(outOfTime());
      expect(await h.reconciler.check(last)).toBe('checks-exhausted');
      // Nothing more is scheduled: out of the due index, marked for an operator, still open, and reported.
      expect(h.scheduler.scheduled).toHaveLength(MAX_REQUEUES);
      expect(await h.store.findDue(at(1_000_000), 10)).toEqual([]);
      const stored = await h.store.get(pending.outTradeNo);
      expect(stored).toMatchObject({ status: 'PENDING', checksExhaustedAt: h.clock.iso() });
      expect(stored?.nextCheckAt).toBeUndefined();
      expect(h.observer.events).toEqual([
        { kind: 'checksExhausted', outTradeNo: pending.outTradeNo, requeues: MAX_REQUEUES },
      ]);
    });

    it('counts the sweep’s re-enqueues and running out of time against one bound', async () => {
      h.clock.set(at(400));
      for (const round of [1, 2, 3]) {
        expect(await h.store.requeueCheck(pending.outTradeNo, at(400 + round), MAX_REQUEUES)).toMatchObject({
          kind: 'requeued',
        });
      }
      const swept = { outTradeNo: pending.outTradeNo, attempt: 1, dueAt: at(403), bound: at(403) };
      h.clock.set(at(403));
      // The fourth put-back waits as the fourth of a row of time-outs would.
      expect(await keepRunningOutOfTime(pending, 1, swept)).toEqual([80]);
      h.provider.onQuery(outOfTime());
      expect(await h.reconciler.check({ ...swept, dueAt: at(483), bound: at(483) })).toBe('checks-exhausted');
    });

    it('backs off no further than the cap', () => {
      expect(outOfTimeRetrySeconds(1)).toBe(OUT_OF_TIME_RETRY_SECONDS);
      expect(outOfTimeRetrySeconds(2)).toBe(2 * OUT_OF_TIME_RETRY_SECONDS);
      expect(outOfTimeRetrySeconds(30)).toBe(OUT_OF_TIME_RETRY_MAX_SECONDS);
      expect(outOfTimeRetrySeconds(5000)).toBe(OUT_OF_TIME_RETRY_MAX_SECONDS);
    });

    it('starts the back-off again once a check completes: it moves the bound on, clearing the count', async () => {
      expect(await keepRunningOutOfTime(pending, 2)).toEqual([10, 20]);
      expect((await h.store.get(pending.outTradeNo))?.requeues).toBe(2);
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      const last = h.scheduler.scheduled.at(-1);
      if (!last) throw new Error('no check scheduled');
      expect(await h.reconciler.check(last)).toBe('checked-again');
      const next = h.scheduler.scheduled.at(-1);
      if (!next) throw new Error('no check scheduled');
      // The put-back's bound was its own due time; the check that completed moved it back to the expiry.
      expect(next).toEqual({ outTradeNo: pending.outTradeNo, attempt: 1, dueAt: at(120), bound: at(7200) });
      const stored = await h.store.get(pending.outTradeNo);
      expect(stored?.nextCheckAt).toBe(at(7200));
      expect(stored?.requeues).toBeUndefined();
      h.clock.set(next.dueAt);
      expect(await keepRunningOutOfTime(pending, 1, next)).toEqual([10]);
    });

    it('any other failure still fails the check, so the queue counts it', async () => {
      const down = new ProviderError('TIMEOUT', 'no answer in 5 s', { retryable: true, kind: 'transport' });
      h.provider.onQuery(down);
      await expect(h.reconciler.check(checkOf(pending))).rejects.toBe(down);
      expect(h.scheduler.scheduled).toEqual([]);
    });
  });

  describe('rescheduled-early', () => {
    it('sends a check that arrived more than a second early round again, and does nothing else', async () => {
      const early = checkOf(pending, 3, at(1000));
      expect(await h.reconciler.check(early)).toBe('rescheduled-early');
      expect(h.scheduler.scheduled).toEqual([early]);
      expect(h.provider.calls).toEqual([]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('keeps the bound on the check it sends round, so the chain goes on as it was', async () => {
      const early = { outTradeNo: pending.outTradeNo, attempt: 4, dueAt: at(1830), bound: at(7200) };
      expect(await h.reconciler.check(early)).toBe('rescheduled-early');
      expect(h.scheduler.scheduled).toEqual([early]);
    });

    it('runs a check up to a second early', async () => {
      h.clock.set(Date.parse(at(30)) - 1000);
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      expect(await h.reconciler.check(checkOf(pending, 0, at(30)))).toBe('checked-again');
    });

    it('fails when it cannot send the check round again, so the queue redelivers it', async () => {
      h.scheduler.failWith(new Error('queue unavailable'));
      await expect(h.reconciler.check(checkOf(pending, 0, at(1000)))).rejects.toThrow('queue unavailable');
    });
  });

  describe('final', () => {
    it('stops for an order it does not know', async () => {
      expect(await h.reconciler.check({ outTradeNo: 'GONE', attempt: 0, dueAt: at(30) })).toBe('final');
      expect(h.provider.calls).toEqual([]);
    });

    it.each(['PAID', 'CLOSED'] as const)('stops for a %s order, asking WeChat nothing', async (status) => {
      const settled = orderFixture({ status, nextCheckAt: undefined });
      await h.store.create(settled);
      expect(await h.reconciler.check(checkOf(settled, 2, at(30)))).toBe('final');
      expect(h.provider.calls).toEqual([]);
      expect(h.scheduler.attempts).toEqual([]);
    });
  });

  describe('stale', () => {
    it('stops a check whose bound is not the order’s, asking WeChat nothing', async () => {
      const other = { outTradeNo: pending.outTradeNo, attempt: 0, dueAt: at(30), bound: at(7100) };
      expect(await h.reconciler.check(other)).toBe('stale');
      expect(h.provider.calls).toEqual([]);
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('stops the twin of a chain the sweep re-enqueued: the put-back wrote a bound of its own', async () => {
      const inFlight = checkOf(pending, 2, at(210));
      h.clock.set(at(7400));
      expect(await h.store.requeueCheck(pending.outTradeNo, h.clock.iso(), MAX_REQUEUES)).toMatchObject({
        kind: 'requeued',
      });
      expect(await h.reconciler.check(inFlight)).toBe('stale');
      expect(h.provider.calls).toEqual([]);
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('stops an SQS duplicate of a check that moved the bound on: one chain goes on, not two', async () => {
      const longLived = await longLivedOrder(at(1000));
      h.clock.set(at(950));
      h.provider.onQuery(tradeReport(longLived.outTradeNo, 'NOTPAY'));
      const check = checkOf(longLived, 5);
      expect(await h.reconciler.check(check)).toBe('checked-again');
      expect(await h.reconciler.check(check)).toBe('stale');
      expect(h.provider.callsOf('query')).toHaveLength(1);
      expect(h.scheduler.scheduled).toHaveLength(1);
    });

    it('stops, scheduling nothing, when another chain moves the bound on while it asks WeChat', async () => {
      const longLived = await longLivedOrder(at(1000));
      h.clock.set(at(950));
      // A twin of the same chain finished first, between this check's read and its write.
      h.provider.onQuery(async (outTradeNo) => {
        expect(await h.store.extendWatch(outTradeNo, at(1000), at(5000))).toEqual({ kind: 'extended' });
        return tradeReport(outTradeNo, 'NOTPAY');
      });
      expect(await h.reconciler.check(checkOf(longLived, 5))).toBe('stale');
      expect(h.scheduler.attempts).toEqual([]);
      expect((await h.store.get(longLived.outTradeNo))?.nextCheckAt).toBe(at(5000));
    });

    it('lets a duplicate within the bound run, writing nothing: the cost of a check that writes nothing', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'), tradeReport(pending.outTradeNo, 'NOTPAY'));
      const writes = countWrites(h.store);
      const check = checkOf(pending);
      expect(await h.reconciler.check(check)).toBe('checked-again');
      expect(await h.reconciler.check(check)).toBe('checked-again');
      expect(writes()).toEqual({});
      // Both successors carry the bound: whichever chain moves it on (or the close) ends the other.
      expect(h.scheduler.scheduled.map((next) => next.bound)).toEqual([at(7200), at(7200)]);
    });
  });

  describe('a message sent before bounds', () => {
    it('runs against an order whose nextCheckAt is its dueAt, and moves the bound on once', async () => {
      const older = pendingOrder({ nextCheckAt: at(30) });
      await h.store.create(older);
      h.provider.onQuery(tradeReport(older.outTradeNo, 'NOTPAY'));
      const writes = countWrites(h.store);
      expect(await h.reconciler.check({ outTradeNo: older.outTradeNo, attempt: 0, dueAt: at(30) })).toBe(
        'checked-again',
      );
      expect(writes()).toEqual({ extendWatch: 1 });
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: older.outTradeNo, attempt: 1, dueAt: at(90), bound: at(7200) },
      ]);
      expect((await h.store.get(older.outTradeNo))?.nextCheckAt).toBe(at(7200));
    });

    it('is stale when the order waits for another', async () => {
      expect(await h.reconciler.check({ outTradeNo: pending.outTradeNo, attempt: 0, dueAt: at(30) })).toBe('stale');
      expect(h.provider.calls).toEqual([]);
    });
  });

  /** An open order that lives a day, so its bound is short of its expiry; checks due every 120 s by then. */
  async function longLivedOrder(bound: string): Promise<Order> {
    const order = pendingOrder({ nextCheckAt: bound, request: { ...pendingOrder().request, expiresAt: at(86_400) } });
    await h.store.create(order);
    return order;
  }

  describe('the watch bound', () => {
    it('a check that learns nothing, its successor due by the bound, writes nothing', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      const writes = countWrites(h.store);
      expect(await h.reconciler.check(checkOf(pending))).toBe('checked-again');
      expect(writes()).toEqual({});
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: pending.outTradeNo, attempt: 1, dueAt: at(90), bound: at(7200) },
      ]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('a check whose next check falls past the bound moves it on once, a horizon ahead', async () => {
      const longLived = await longLivedOrder(at(1000));
      h.clock.set(at(950));
      h.provider.onQuery(tradeReport(longLived.outTradeNo, 'NOTPAY'), tradeReport(longLived.outTradeNo, 'NOTPAY'));
      const writes = countWrites(h.store);
      expect(await h.reconciler.check(checkOf(longLived, 5))).toBe('checked-again');
      // The last check the schedule places within two hours of now: 1070 s, then every 120 s up to 8150 s.
      const bound = at(8150);
      expect(writes()).toEqual({ extendWatch: 1 });
      expect(h.scheduler.scheduled).toEqual([{ outTradeNo: longLived.outTradeNo, attempt: 6, dueAt: at(1070), bound }]);
      expect((await h.store.get(longLived.outTradeNo))?.nextCheckAt).toBe(bound);

      // The next one is within it again: no write.
      h.clock.set(at(1070));
      const next = h.scheduler.scheduled.at(-1);
      if (!next) throw new Error('no check scheduled');
      expect(await h.reconciler.check(next)).toBe('checked-again');
      expect(writes()).toEqual({ extendWatch: 1 });
      expect(h.scheduler.scheduled.at(-1)).toEqual({
        outTradeNo: longLived.outTradeNo,
        attempt: 7,
        dueAt: at(1190),
        bound,
      });
    });

    it('gives the bound back when the successor cannot be sent, so the redelivered check still runs', async () => {
      const longLived = await longLivedOrder(at(1000));
      h.clock.set(at(950));
      h.provider.onQuery(tradeReport(longLived.outTradeNo, 'NOTPAY'), tradeReport(longLived.outTradeNo, 'NOTPAY'));
      const check = checkOf(longLived, 5);
      h.scheduler.failWith(new Error('queue unavailable'));
      await expect(h.reconciler.check(check)).rejects.toThrow('queue unavailable');
      expect((await h.store.get(longLived.outTradeNo))?.nextCheckAt).toBe(at(1000));

      // The queue's redelivery carries the old bound: it is the chain's still, and goes on.
      h.scheduler.failure = undefined;
      expect(await h.reconciler.check(check)).toBe('checked-again');
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: longLived.outTradeNo, attempt: 6, dueAt: at(1070), bound: at(8150) },
      ]);
    });
  });

  describe('a check the queue is about to dead-letter', () => {
    it('is handed to the sweep: the bound becomes now, counted as a put-back', async () => {
      await h.reconciler.handOverToSweep(checkOf(pending));
      const stored = await h.store.get(pending.outTradeNo);
      expect(stored).toMatchObject({ nextCheckAt: at(30), requeues: 1 });
      // Found by the sweep's first run after the grace, not at the expiry two hours on.
      expect(await h.store.findDue(at(30), 10)).toEqual([{ outTradeNo: pending.outTradeNo, nextCheckAt: at(30) }]);
    });

    it('counts towards giving up, so a check that always fails is not handed over for ever', async () => {
      for (let i = 0; i < MAX_REQUEUES; i++) await h.reconciler.handOverToSweep(checkOf(pending));
      await h.reconciler.handOverToSweep(checkOf(pending));
      expect((await h.store.get(pending.outTradeNo))?.checksExhaustedAt).toBe(at(30));
      expect(h.observer.events).toContainEqual({
        kind: 'checksExhausted',
        outTradeNo: pending.outTradeNo,
        requeues: MAX_REQUEUES,
      });
    });
  });

  describe('WeChat answers before expiry', () => {
    it('paid: records the payment, moved by the reconciler, and schedules nothing', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'SUCCESS'));
      expect(await h.reconciler.check(checkOf(pending))).toBe('paid');
      const stored = await h.store.get(pending.outTradeNo);
      expect(stored).toMatchObject({ status: 'PAID', payment: paymentFacts() });
      expect(stored?.nextCheckAt).toBeUndefined();
      expect(stored?.history.at(-1)).toEqual({ at: at(30), from: 'PENDING', to: 'PAID', source: 'reconcile' });
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('closed: records WeChat’s close and schedules nothing', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'CLOSED'));
      expect(await h.reconciler.check(checkOf(pending))).toBe('closed');
      expect(await h.store.get(pending.outTradeNo)).toMatchObject({ status: 'CLOSED', reason: 'CLOSED' });
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('checked-again: not paid yet, the next check follows the schedule', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      expect(await h.reconciler.check(checkOf(pending))).toBe('checked-again');
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: pending.outTradeNo, attempt: 1, dueAt: at(90), bound: at(7200) },
      ]);
    });

    it('checked-again: the last interval of the schedule repeats', async () => {
      h.clock.set(at(1000));
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'USERPAYING'));
      expect(await h.reconciler.check(checkOf(pending, 7))).toBe('checked-again');
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: pending.outTradeNo, attempt: 8, dueAt: at(1120), bound: at(7200) },
      ]);
    });

    it('checked-again: never later than the order’s expiry, which is the bound', async () => {
      h.clock.set(at(7150));
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      const writes = countWrites(h.store);
      expect(await h.reconciler.check(checkOf(pending, 2))).toBe('checked-again');
      expect(writes()).toEqual({});
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: pending.outTradeNo, attempt: 3, dueAt: at(7200), bound: at(7200) },
      ]);
    });

    it('checked-again: a FAILED order stays watched, as the payer may try again', async () => {
      const failed = pendingOrder({ status: 'FAILED', nextCheckAt: at(7200) });
      await h.store.create(failed);
      h.provider.onQuery(tradeReport(failed.outTradeNo, 'PAYERROR'));
      expect(await h.reconciler.check(checkOf(failed))).toBe('checked-again');
      expect(await h.store.get(failed.outTradeNo)).toMatchObject({ status: 'FAILED', nextCheckAt: at(7200) });
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: failed.outTradeNo, attempt: 1, dueAt: at(90), bound: at(7200) },
      ]);
    });

    it('checked-again: a refused answer moves nothing, is reported, and the checks go on', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'SUCCESS', { mchid: '19999999' }));
      expect(await h.reconciler.check(checkOf(pending))).toBe('checked-again');
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo, source: 'reconcile' },
      ]);
      expect((await h.store.get(pending.outTradeNo))?.status).toBe('PENDING');
    });

    it('fails when WeChat cannot be asked, changing nothing, so the queue redelivers the check', async () => {
      const down = wechatRefuses('SYSTEMERROR', true);
      h.provider.onQuery(down);
      await expect(h.reconciler.check(checkOf(pending))).rejects.toBe(down);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('fails when the next check cannot be scheduled, with the order in the due index under its bound', async () => {
      h.provider.onQuery(tradeReport(pending.outTradeNo, 'NOTPAY'));
      h.scheduler.failWith(new Error('queue unavailable'));
      await expect(h.reconciler.check(checkOf(pending))).rejects.toThrow('queue unavailable');
      // The queue redelivers this check; failing that, the sweep finds the order once the bound passes.
      expect(await h.store.findDue(at(7200), 10)).toEqual([{ outTradeNo: pending.outTradeNo, nextCheckAt: at(7200) }]);
    });
  });

  describe('at expiry', () => {
    it('waiting-to-close: an order expiring before WeChat allows a close waits until it does', async () => {
      const shortLived = pendingOrder({
        nextCheckAt: at(120),
        request: { ...pendingOrder().request, expiresAt: at(120) },
      });
      await h.store.create(shortLived);
      h.clock.set(at(120));
      h.provider.onQuery(tradeReport(shortLived.outTradeNo, 'NOTPAY'));

      const writes = countWrites(h.store);
      expect(await h.reconciler.check(checkOf(shortLived, 1))).toBe('waiting-to-close');
      // Past its bound (the expiry): the bound moves on to the check that can close it.
      expect(writes()).toEqual({ extendWatch: 1 });
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: shortLived.outTradeNo, attempt: 2, dueAt: at(300), bound: at(300) },
      ]);
      expect((await h.store.get(shortLived.outTradeNo))?.nextCheckAt).toBe(at(300));
      expect(h.provider.callsOf('close')).toEqual([]);
    });

    it('closed: an unpaid order is closed at WeChat, then here, by the reconciler', async () => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY'));
      h.provider.onClose(undefined);
      expect(await h.reconciler.check(checkOf(order, 4))).toBe('closed');

      const stored = await h.store.get(order.outTradeNo);
      expect(stored).toMatchObject({ status: 'CLOSED', reason: 'closed unpaid' });
      expect(stored?.history.at(-1)).toEqual({ at: at(7200), from: 'PENDING', to: 'CLOSED', source: 'reconcile' });
      expect(h.provider.calls.map((call) => call.method)).toEqual(['query', 'close']);
      expect(h.scheduler.attempts).toEqual([]);
      expect(h.observer.events).toEqual([]);
    });

    it('closed: a FAILED order is closed at expiry like any unpaid one', async () => {
      const order = await expired({ status: 'FAILED' });
      h.provider.onQuery(tradeReport(order.outTradeNo, 'PAYERROR'));
      h.provider.onClose(undefined);
      expect(await h.reconciler.check(checkOf(order))).toBe('closed');
    });

    it.each(['ORDERCLOSED', 'ORDERNOTEXIST'])('closed: WeChat answering %s closes it here', async (code) => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOT_FOUND'));
      h.provider.onClose(wechatRefuses(code));
      expect(await h.reconciler.check(checkOf(order))).toBe('closed');
      expect((await h.store.get(order.outTradeNo))?.status).toBe('CLOSED');
    });

    it('paid: ORDERPAID at WeChat with the query confirming keeps the payment and alarms', async () => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY'), tradeReport(order.outTradeNo, 'SUCCESS'));
      h.provider.onClose(wechatRefuses('ORDERPAID'));
      expect(await h.reconciler.check(checkOf(order))).toBe('paid');

      expect(await h.store.get(order.outTradeNo)).toMatchObject({ status: 'PAID', payment: paymentFacts() });
      expect(h.provider.calls.map((call) => call.method)).toEqual(['query', 'close', 'query']);
      expect(h.observer.events).toEqual([{ kind: 'paidAtExpiry', outTradeNo: order.outTradeNo }]);
      expect(h.scheduler.attempts).toEqual([]);
    });

    it('paid-pending-query: ORDERPAID that the query does not show yet is asked again, backing off', async () => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY'), tradeReport(order.outTradeNo, 'NOTPAY'));
      h.provider.onClose(wechatRefuses('ORDERPAID'));
      expect(await h.reconciler.check(checkOf(order, 0))).toBe('paid-pending-query');

      // Past the expiry, so not capped by it: the interval before attempt 1 is 60 s, and the bound moves there.
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: order.outTradeNo, attempt: 1, dueAt: at(7260), bound: at(7260) },
      ]);
      expect(await h.store.get(order.outTradeNo)).toEqual({ ...order, nextCheckAt: at(7260) });
      expect(h.observer.events).toEqual([{ kind: 'paidAtExpiry', outTradeNo: order.outTradeNo }]);
    });

    it('paid-pending-query: also when the payment WeChat shows is refused (and reported)', async () => {
      const order = await expired();
      const otherAmount = { amount: { total: 5, currency: 'CNY' as const }, payment: paymentFacts(5) };
      h.provider.onQuery(
        tradeReport(order.outTradeNo, 'NOTPAY'),
        tradeReport(order.outTradeNo, 'SUCCESS', otherAmount),
      );
      h.provider.onClose(wechatRefuses('ORDERPAID'));
      expect(await h.reconciler.check(checkOf(order, 5))).toBe('paid-pending-query');
      expect(h.scheduler.scheduled).toEqual([
        { outTradeNo: order.outTradeNo, attempt: 6, dueAt: at(7320), bound: at(7320) },
      ]);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'AMOUNT_MISMATCH', outTradeNo: order.outTradeNo, source: 'reconcile' },
        { kind: 'paidAtExpiry', outTradeNo: order.outTradeNo },
      ]);
    });

    it('fails on any other refusal of the close, leaving the order and its check as they were', async () => {
      const order = await expired();
      const busy = wechatRefuses('SYSTEMERROR', true);
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY'));
      h.provider.onClose(busy);
      await expect(h.reconciler.check(checkOf(order))).rejects.toBe(busy);
      expect(await h.store.get(order.outTradeNo)).toEqual(order);
    });

    it('paid: a payment the query reports at expiry needs no close', async () => {
      const order = await expired();
      h.provider.onQuery(tradeReport(order.outTradeNo, 'SUCCESS'));
      expect(await h.reconciler.check(checkOf(order))).toBe('paid');
      expect(h.provider.callsOf('close')).toEqual([]);
    });
  });

  describe('a chain of checks from creation to expiry', () => {
    /** Creates an order at T0 (it expires at T0 + 2 h) and runs its checks, each when due, until one ends the chain. */
    async function runChain(answer: (checkNumber: number) => 'NOTPAY' | 'SUCCESS') {
      const fresh = paymentHarness();
      fresh.clock.set(at(0));
      fresh.provider.onPrepay(prepayResult('wx-chain'));
      const order = await fresh.createPayment.execute(newPayment({ outTradeNo: 'T20300101000000777' }));
      const writes = countWrites(fresh.store);
      const results: string[] = [];
      for (let n = 1; n <= 1000; n += 1) {
        const next = fresh.scheduler.scheduled.at(-1);
        if (!next || fresh.scheduler.scheduled.length < n) break;
        fresh.clock.set(next.dueAt);
        fresh.provider.onQuery(tradeReport(order.outTradeNo, answer(n)));
        fresh.provider.onClose(undefined);
        results.push(await fresh.reconciler.check(next));
      }
      return { h: fresh, order, results, writes: writes() };
    }

    it('closes an order that expires unpaid on time, its checks writing nothing until the close', async () => {
      const { h: run, order, results, writes } = await runChain(() => 'NOTPAY');
      expect(results.at(-1)).toBe('closed');
      expect(results.slice(0, -1).every((result) => result === 'checked-again')).toBe(true);
      // 30 s, 90 s, then every 120 s up to 7170 s, and the close at 7200 s.
      expect(results).toHaveLength(62);
      const closed = await run.store.get(order.outTradeNo);
      expect(closed?.history.at(-1)).toEqual({ at: at(7200), from: 'PENDING', to: 'CLOSED', source: 'reconcile' });
      // The close is the only write the checks made: the order's bound was written once, at creation.
      expect(writes).toEqual({ transition: 1 });
    });

    it.each([1, 2, 3, 30, 62])('applies a payment found at check %i (62: the one at expiry)', async (paidAt) => {
      const { h: run, order, results, writes } = await runChain((n) => (n < paidAt ? 'NOTPAY' : 'SUCCESS'));
      expect(results).toHaveLength(paidAt);
      expect(results.at(-1)).toBe('paid');
      const paid = await run.store.get(order.outTradeNo);
      expect(paid).toMatchObject({ status: 'PAID', payment: paymentFacts() });
      expect(paid?.history.at(-1)).toMatchObject({ to: 'PAID', source: 'reconcile' });
      expect(writes).toEqual({ transition: 1 });
    });
  });
});
