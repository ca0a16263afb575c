import { describe, expect, it } from 'vitest';

import type { Refund } from '#shared/domain/refund';
import { Sweeper } from '#shared/domain/sweeper';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { paidOrder } from '#test/helpers/refund-harness';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { TestClock } from '#test/helpers/test-clock';

/**
 * The sweep's rules over the in-memory store (unit tier); sweeper.test.ts runs it over a real table and
 * queue. The clock starts at T0 + 1000 s.
 */
describe('Sweeper (in memory)', () => {
  function setup(maxRequeues = 3) {
    const store = new InMemoryOrderStore();
    const scheduler = new RecordingCheckScheduler();
    const observer = new RecordingObserver();
    const clock = new TestClock(T0 + 1_000_000);
    const sweeper = new Sweeper({
      store,
      scheduler,
      clock,
      observer,
      reconcileSchedule: [30, 60, 120],
      graceSeconds: 120,
      maxRequeues,
    });
    return { store, scheduler, observer, clock, sweeper };
  }

  it('re-enqueues open orders overdue by more than the grace, oldest first, up to the limit', async () => {
    const { store, scheduler, sweeper } = setup();
    const oldest = orderFixture({ status: 'PENDING', nextCheckAt: at(100) });
    const older = orderFixture({ status: 'FAILED', createdAt: at(900), nextCheckAt: at(200) });
    const third = orderFixture({ status: 'PENDING', nextCheckAt: at(300) });
    const inGrace = orderFixture({ status: 'PENDING', nextCheckAt: at(950) });
    const paid = orderFixture({ status: 'PAID', nextCheckAt: at(50) });
    for (const order of [third, inGrace, paid, older, oldest]) await store.create(order);

    expect(await sweeper.sweep(2)).toBe(2);
    // The attempt an order of its age would be at: 1000 s is past the schedule's 210 s, 100 s is in its third step.
    expect(scheduler.scheduled).toEqual([
      { outTradeNo: oldest.outTradeNo, attempt: 3, dueAt: at(1000), bound: at(1000) },
      { outTradeNo: older.outTradeNo, attempt: 2, dueAt: at(1000), bound: at(1000) },
    ]);
    expect((await store.get(oldest.outTradeNo))?.nextCheckAt).toBe(at(1000));
    expect((await store.get(inGrace.outTradeNo))?.nextCheckAt).toBe(at(950));

    // Those two now wait behind the one that was not reached.
    expect(await sweeper.sweep(1)).toBe(1);
    expect(scheduler.scheduled[2]?.outTradeNo).toBe(third.outTradeNo);
  });

  it('re-enqueues a check that never completes at most the bound, then gives the order up and reports it', async () => {
    const { store, scheduler, observer, clock, sweeper } = setup(3);
    const stuck = orderFixture({ status: 'PENDING', nextCheckAt: at(100) });
    await store.create(stuck);

    const enqueued: number[] = [];
    for (let sweep = 0; sweep < 6; sweep += 1) {
      enqueued.push(await sweeper.sweep());
      clock.advance(300);
    }

    expect(enqueued).toEqual([1, 1, 1, 0, 0, 0]);
    expect(scheduler.scheduled.map((check) => check.outTradeNo)).toEqual(Array(3).fill(stuck.outTradeNo));
    expect(observer.events).toEqual([{ kind: 'checksExhausted', outTradeNo: stuck.outTradeNo, requeues: 3 }]);
    expect((await store.get(stuck.outTradeNo))?.checksExhaustedAt).toBe(at(1900));
    // Still open, for WeChat's notification or an operator to settle; just no longer swept.
    expect(await store.get(stuck.outTradeNo)).toMatchObject({ status: 'PENDING' });
    expect(await store.findDue(at(100_000), 10)).toEqual([]);
  });

  it('never gives up on an order whose checks complete, however often it is re-enqueued', async () => {
    const { store, scheduler, observer, clock, sweeper } = setup(2);
    const flaky = orderFixture({ status: 'PENDING', nextCheckAt: at(100) });
    await store.create(flaky);

    for (let sweep = 0; sweep < 6; sweep += 1) {
      await sweeper.sweep();
      // Every other check completes (the reconciler moves the watch bound the sweep wrote on), the rest are lost.
      if (sweep % 2 === 1) await store.extendWatch(flaky.outTradeNo, clock.iso(), clock.iso());
      clock.advance(300);
    }

    expect(scheduler.scheduled).toHaveLength(6);
    expect(observer.events).toEqual([]);
    expect((await store.get(flaky.outTradeNo))?.checksExhaustedAt).toBeUndefined();
  });

  it('skips an order settled since the index was read', async () => {
    const { store, scheduler, sweeper } = setup();
    const settled = orderFixture({ status: 'PENDING', nextCheckAt: at(100) });
    await store.create(settled);
    // The index still lists it (as an eventually consistent GSI may); the order itself is closed.
    const findDue = store.findDue.bind(store);
    store.findDue = async (now, limit) => {
      const due = await findDue(now, limit);
      await store.transition({ outTradeNo: settled.outTradeNo, to: 'CLOSED', at: at(999), source: 'reconcile' });
      return due;
    };
    expect(await sweeper.sweep()).toBe(0);
    expect(scheduler.attempts).toEqual([]);
  });

  describe('refunds', () => {
    function withRefunds() {
      const base = setup();
      const refunds = new InMemoryRefundStore(base.store);
      const sweeper = new Sweeper({
        store: base.store,
        scheduler: base.scheduler,
        clock: base.clock,
        observer: base.observer,
        reconcileSchedule: [30, 60, 120],
        graceSeconds: 120,
        maxRequeues: 3,
        refunds: { store: refunds, scheduler: base.scheduler, checkSchedule: [60, 300, 1800] },
      });
      return { ...base, refunds, sweeper };
    }

    /** A PROCESSING refund of `outRefundNo` created at T0 + 100 s, its check due at `due`. */
    function refundOf(order: { outTradeNo: string }, outRefundNo: string, due: number): Refund {
      return {
        outRefundNo,
        outTradeNo: order.outTradeNo,
        status: 'PROCESSING',
        amount: { refund: 100, total: 1999, currency: 'CNY' },
        requestHash: 'h'.repeat(64),
        createdAt: at(100),
        updatedAt: at(100),
        nextCheckAt: at(due),
        history: [{ at: at(100), from: null, to: 'PROCESSING', source: 'api' }],
      };
    }

    it('re-enqueues refund checks overdue by more than the grace, and moves each refund’s next check', async () => {
      const { store, refunds, scheduler, sweeper } = withRefunds();
      const order = paidOrder();
      await store.create(order);
      for (const refund of [refundOf(order, 'R-lost', 160), refundOf(order, 'R-in-grace', 950)]) {
        await refunds.createRefund(refund);
      }

      expect(await sweeper.sweep()).toBe(1);
      // 900 s old: past the schedule's first two steps (60 + 300), in its third.
      expect(scheduler.scheduledRefunds).toEqual([
        { outTradeNo: order.outTradeNo, outRefundNo: 'R-lost', attempt: 2, dueAt: at(1000) },
      ]);
      expect(scheduler.scheduled).toEqual([]);
      expect((await refunds.getRefund(order.outTradeNo, 'R-lost'))?.nextCheckAt).toBe(at(1000));
      expect((await refunds.getRefund(order.outTradeNo, 'R-in-grace'))?.nextCheckAt).toBe(at(950));
    });

    it('never gives up on a refund that is not final, and leaves final ones alone', async () => {
      const { store, refunds, scheduler, clock, observer, sweeper } = withRefunds();
      const order = paidOrder();
      await store.create(order);
      await refunds.createRefund(refundOf(order, 'R-stuck', 160));
      await refunds.createRefund(refundOf(order, 'R-done', 160));
      await refunds.transitionRefund({
        outTradeNo: order.outTradeNo,
        outRefundNo: 'R-done',
        to: 'SUCCESS',
        at: at(200),
        source: 'notify',
      });

      const enqueued: number[] = [];
      for (let sweep = 0; sweep < 6; sweep += 1) {
        enqueued.push(await sweeper.sweep());
        clock.advance(300);
      }
      expect(enqueued).toEqual([1, 1, 1, 1, 1, 1]);
      expect(new Set(scheduler.scheduledRefunds.map((check) => check.outRefundNo))).toEqual(new Set(['R-stuck']));
      expect(observer.events).toEqual([]);
    });

    it('sweeps orders alone when built without refunds, as before', async () => {
      const { store, scheduler, sweeper } = setup();
      const order = paidOrder();
      await store.create(order);
      await new InMemoryRefundStore(store).createRefund(refundOf(order, 'R-lost', 160));
      expect(await sweeper.sweep()).toBe(0);
      expect(scheduler.attempts).toEqual([]);
    });
  });
});
