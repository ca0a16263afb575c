import { beforeEach, describe, expect, it } from 'vitest';

import type { Refund, RefundReport } from '#shared/domain/refund';
import { InMemorySettledRecords } from '#test/helpers/in-memory-bill-records';
import { at } from '#test/helpers/order-fixtures';
import {
  PAID_TRANSACTION_ID,
  paidOrder,
  type RefundHarness,
  refundHarness,
  refundReport,
} from '#test/helpers/refund-harness';

/** A PROCESSING refund of 5.00 of a 19.99 order, created at T0 + 1 h and not yet accepted. */
describe('RefundReports.apply', () => {
  let h: RefundHarness;
  let refund: Refund;

  beforeEach(async () => {
    h = refundHarness();
    const order = paidOrder();
    await h.orders.create(order);
    const created = await h.refunds.createRefund({
      outRefundNo: 'RF0001',
      outTradeNo: order.outTradeNo,
      status: 'PROCESSING',
      amount: { refund: 500, total: 1999, currency: 'CNY' },
      requestHash: 'h'.repeat(64),
      transactionId: PAID_TRANSACTION_ID,
      createdAt: at(3600),
      updatedAt: at(3600),
      nextCheckAt: at(3660),
      history: [{ at: at(3600), from: null, to: 'PROCESSING', source: 'api' }],
    });
    if (created.kind !== 'created') throw new Error('fixture');
    refund = created.refund;
    h.clock.set(at(3700));
  });

  const stored = () => h.refunds.getRefund(refund.outTradeNo, refund.outRefundNo);
  const totals = async () => (await h.orders.get(refund.outTradeNo))?.refunds;

  describe('refuses, changing nothing and telling the observer', () => {
    it.each([
      ['another merchant', { mchid: '1900000109' }, 'FOREIGN_MERCHANT'],
      ['another appid', { appid: 'wx0000000000000000' }, 'FOREIGN_MERCHANT'],
      ['another refund amount', { amount: { refund: 501, total: 1999 } }, 'AMOUNT_MISMATCH'],
      ['another order total', { amount: { refund: 500, total: 2000 } }, 'AMOUNT_MISMATCH'],
      ['no refund here', { outRefundNo: 'RF-other' }, 'UNKNOWN_REFUND'],
      ['another order', { outTradeNo: 'T-other' }, 'UNKNOWN_REFUND'],
      ['another payment', { transactionId: '4200009999999999999999999999' }, 'TRANSACTION_MISMATCH'],
    ] as const)('a report for %s', async (_, changes, reason) => {
      const overrides: Partial<RefundReport> = changes;
      const outcome = await h.reports.apply(refundReport(refund, 'SUCCESS', overrides), 'notify');
      expect(outcome).toMatchObject({ kind: 'rejected', reason });
      expect(h.observer.events).toEqual([
        {
          kind: 'refundRejected',
          reason,
          outTradeNo: overrides.outTradeNo ?? refund.outTradeNo,
          outRefundNo: overrides.outRefundNo ?? refund.outRefundNo,
          source: 'notify',
        },
      ]);
      expect(await stored()).toEqual(refund);
      expect(await totals()).toEqual({ refunded: 0, pending: 500, count: 1 });
    });

    it('another refund_id than the one WeChat gave it', async () => {
      await h.reports.apply(refundReport(refund, 'PROCESSING'), 'api');
      const accepted = await stored();
      const outcome = await h.reports.apply(refundReport(refund, 'SUCCESS', { refundId: '5000999' }), 'notify');
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'REFUND_ID_MISMATCH' });
      expect(await stored()).toEqual(accepted);
    });

    it('a notification without amounts (nothing to match), while an answer to a query may omit them', async () => {
      const bare = refundReport(refund, 'SUCCESS', { amount: undefined });
      expect(await h.reports.apply(bare, 'notify')).toMatchObject({ kind: 'rejected', reason: 'MISSING_AMOUNT' });
      expect((await stored())?.status).toBe('PROCESSING');
      expect(await h.reports.apply(bare, 'query')).toMatchObject({ kind: 'applied' });
    });

    it('a report naming another payment, also when WeChat only acknowledges the refund', async () => {
      const elsewhere = { transactionId: '4200009999999999999999999999' };
      const outcome = await h.reports.apply(refundReport(refund, 'PROCESSING', elsewhere), 'api');
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'TRANSACTION_MISMATCH' });
      expect(await stored()).toEqual(refund);
    });

    it('NOT_FOUND about a refund WeChat accepted: never a reason to send it again', async () => {
      await h.reports.apply(refundReport(refund, 'PROCESSING'), 'api');
      const accepted = await stored();
      const outcome = await h.reports.apply(
        refundReport(refund, 'NOT_FOUND', { amount: undefined }),
        'reconcile',
        undefined,
        accepted,
      );
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'NOT_FOUND_AFTER_ACCEPTANCE' });
      expect(h.observer.refundRejections).toEqual(['NOT_FOUND_AFTER_ACCEPTANCE']);
      expect(await stored()).toEqual(accepted);
    });

    it('a report about another refund than the one asked about', async () => {
      const outcome = await h.reports.apply(
        refundReport({ ...refund, outRefundNo: 'RF-other' }, 'SUCCESS'),
        'reconcile',
        undefined,
        refund,
      );
      expect(outcome).toMatchObject({ kind: 'rejected', reason: 'TRADE_MISMATCH' });
      expect(await stored()).toEqual(refund);
    });
  });

  it('records WeChat’s acceptance of a PROCESSING refund once, without a status change', async () => {
    const first = await h.reports.apply(refundReport(refund, 'PROCESSING'), 'api');
    expect(first).toMatchObject({
      kind: 'accepted',
      refund: { status: 'PROCESSING', acceptedAt: at(3700), refundId: '50000000382019052709732678859' },
    });
    h.clock.advance(60);
    expect(await h.reports.apply(refundReport(refund, 'PROCESSING'), 'reconcile')).toMatchObject({ kind: 'duplicate' });
    expect((await stored())?.acceptedAt).toBe(at(3700));
    expect((await stored())?.history).toHaveLength(1);
  });

  describe('files the acceptance under the Beijing day WeChat accepted the refund (its bill’s day)', () => {
    /** 00:01 on 2030-01-02 in Beijing: the day after the refund was created (09:00 on 2030-01-01). */
    const afterMidnight = '2030-01-01T16:01:00.000Z';
    const settledDays = async (): Promise<string[]> => {
      const records = new InMemorySettledRecords(h.orders, h.refunds);
      const days: string[] = [];
      for (const day of ['2030-01-01', '2030-01-02']) {
        for await (const record of records.listSettled(day)) if (record.kind === 'refund') days.push(day);
      }
      return days;
    };

    it('WeChat’s own time (v3 create_time), however late its answer is heard', async () => {
      h.clock.set(afterMidnight);
      const report = refundReport(refund, 'PROCESSING', { acceptedAt: '2030-01-01T23:59:58+08:00', answerTo: 'query' });
      expect(await h.reports.apply(report, 'reconcile')).toMatchObject({ kind: 'accepted' });
      expect((await stored())?.acceptedAt).toBe('2030-01-01T15:59:58.000Z');
      await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify');
      expect(await settledDays()).toEqual(['2030-01-01']);
    });

    it('without it, a query’s answer heard after midnight: the refund’s creation, never the hearing', async () => {
      h.clock.set(afterMidnight);
      await h.reports.apply(refundReport(refund, 'PROCESSING', { answerTo: 'query' }), 'reconcile');
      expect((await stored())?.acceptedAt).toBe(refund.createdAt);
      await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify');
      expect(await settledDays()).toEqual(['2030-01-01']);
    });

    it('without it, our submission’s own answer: our clock when it came (WeChat took it just then)', async () => {
      h.clock.set(afterMidnight);
      await h.reports.apply(refundReport(refund, 'PROCESSING', { answerTo: 'submit' }), 'reconcile');
      expect((await stored())?.acceptedAt).toBe(afterMidnight);
    });

    it('a time of WeChat’s that names no instant is no time: the fallback applies', async () => {
      h.clock.set(afterMidnight);
      const report = refundReport(refund, 'PROCESSING', { acceptedAt: '2030-01-01 23:59:58', answerTo: 'query' });
      await h.reports.apply(report, 'reconcile');
      expect((await stored())?.acceptedAt).toBe(refund.createdAt);
    });

    it('the first acceptance stays: a later answer with another time does not move it', async () => {
      await h.reports.apply(refundReport(refund, 'PROCESSING', { acceptedAt: '2030-01-01T09:00:01+08:00' }), 'api');
      await h.reports.apply(refundReport(refund, 'PROCESSING', { acceptedAt: '2030-01-01T09:30:00+08:00' }), 'query');
      expect((await stored())?.acceptedAt).toBe('2030-01-01T01:00:01.000Z');
    });
  });

  it('moves the refund to SUCCESS with WeChat’s facts, and the money from pending to refunded', async () => {
    const outcome = await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify');
    expect(outcome).toMatchObject({
      kind: 'applied',
      refund: {
        status: 'SUCCESS',
        successTime: '2030-01-01T09:05:00+08:00',
        userReceivedAccount: '支付用户零钱',
        refundId: '50000000382019052709732678859',
      },
    });
    expect(await totals()).toEqual({ refunded: 500, pending: 0, count: 1 });
    expect(await h.reports.apply(refundReport(refund, 'SUCCESS'), 'reconcile')).toMatchObject({ kind: 'duplicate' });
    expect(await totals()).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('CLOSED releases the hold', async () => {
    expect(await h.reports.apply(refundReport(refund, 'CLOSED'), 'notify')).toMatchObject({ kind: 'applied' });
    expect(await totals()).toEqual({ refunded: 0, pending: 0, count: 1 });
  });

  it('reports an ABNORMAL refund once, keeps it held and watched, and lets WeChat settle it later', async () => {
    await Promise.all(Array.from({ length: 5 }, () => h.reports.apply(refundReport(refund, 'ABNORMAL'), 'notify')));
    expect(h.observer.events).toEqual([
      { kind: 'refundAbnormal', outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo },
    ]);
    expect(await stored()).toMatchObject({ status: 'ABNORMAL', nextCheckAt: at(3660) });
    expect(await totals()).toEqual({ refunded: 0, pending: 500, count: 1 });

    expect(await h.reports.apply(refundReport(refund, 'SUCCESS'), 'reconcile')).toMatchObject({ kind: 'applied' });
    expect(await totals()).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('of 20 identical reports at once, applies exactly one', async () => {
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, () => h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify')),
    );
    expect(outcomes.filter((o) => o.kind === 'applied')).toHaveLength(1);
    expect(outcomes.filter((o) => o.kind === 'duplicate')).toHaveLength(19);
    expect((await stored())?.history.map((e) => e.to)).toEqual(['PROCESSING', 'SUCCESS']);
    expect(await totals()).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('keeps a settled refund as it is, and alarms when WeChat reports the other final status', async () => {
    await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify');
    // A late ABNORMAL overtaken by SUCCESS: nothing to report.
    expect(await h.reports.apply(refundReport(refund, 'ABNORMAL'), 'notify')).toMatchObject({ kind: 'conflict' });
    expect(h.observer.events).toEqual([]);
    expect(await h.reports.apply(refundReport(refund, 'CLOSED'), 'reconcile')).toMatchObject({
      kind: 'conflict',
      refund: { status: 'SUCCESS' },
    });
    expect(h.observer.refundRejections).toEqual(['STATUS_CONFLICT']);
    expect(await totals()).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('matches a refund stored without the payment’s transaction_id on what else it has', async () => {
    const { transactionId: _, ...older } = refund;
    const outcome = await h.reports.apply(refundReport(refund, 'SUCCESS'), 'notify', undefined, older);
    expect(outcome).toMatchObject({ kind: 'applied' });
  });

  it('changes nothing for a refund WeChat does not know', async () => {
    const outcome = await h.reports.apply(refundReport(refund, 'NOT_FOUND', { amount: undefined }), 'reconcile');
    expect(outcome).toEqual({ kind: 'unchanged', refund });
    expect(h.observer.events).toEqual([]);
  });
});
