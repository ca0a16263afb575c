import { beforeEach, describe, expect, it } from 'vitest';

import type { BilledPayment, BilledRefund } from '#shared/domain/bill-reconciliation';
import { MAX_REPORTED_DISCREPANCIES } from '#shared/domain/bill-reconciliation';
import { BillNotReadyError, BillRefusedError } from '#shared/domain/errors';
import type { Order } from '#shared/domain/order';
import { ReconcileBill } from '#shared/domain/reconcile-bill';
import type { Refund } from '#shared/domain/refund';
import { TradeReports } from '#shared/domain/trade-reports';
import { FakePaymentProvider } from '#test/helpers/fake-payment-provider';
import {
  InMemoryReconciliationStore,
  InMemorySettledRecords,
  ScriptedBillSource,
} from '#test/helpers/in-memory-bill-records';
import { MERCHANT, paymentFacts, pendingOrder, tradeReport, wechatRefuses } from '#test/helpers/payment-harness';
import { paidOrder, type RefundHarness, refundHarness, refundReport } from '#test/helpers/refund-harness';

/** paidOrder is paid at 08:00 Beijing on 2030-01-01; the refund harness's clock stands at 09:00 there. */
const DAY = '2030-01-01';

describe('ReconcileBill', () => {
  let h: RefundHarness;
  let payments: FakePaymentProvider;
  let bills: ScriptedBillSource;
  let store: InMemoryReconciliationStore;
  let reconcile: ReconcileBill;

  beforeEach(() => {
    h = refundHarness();
    payments = new FakePaymentProvider();
    bills = new ScriptedBillSource('v3');
    store = new InMemoryReconciliationStore();
    reconcile = new ReconcileBill({
      bills,
      settled: new InMemorySettledRecords(h.orders, h.refunds),
      orders: h.orders,
      refunds: h.refunds,
      provider: payments,
      tradeReports: new TradeReports({ store: h.orders, clock: h.clock, merchant: MERCHANT, observer: h.observer }),
      syncRefund: (outTradeNo, outRefundNo) =>
        h.getRefund.execute(outTradeNo, outRefundNo, { sync: true, source: 'bill' }),
      store,
      clock: h.clock,
    });
  });

  async function paid(outTradeNo: string, total = 1999): Promise<Order> {
    const order = paidOrder({ outTradeNo, payment: { ...paymentFacts(total), paidAt: '20300101080000' } });
    order.request.amount.total = total;
    await h.orders.create(order);
    return order;
  }

  async function refunded(order: Order, outRefundNo: string, refund: number, settle: boolean): Promise<Refund> {
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    const created = (await h.createRefund.execute({ outTradeNo: order.outTradeNo, outRefundNo, refund })).refund;
    if (!settle) return created;
    await h.reports.apply(refundReport(created, 'SUCCESS'), 'notify');
    return (await h.refunds.getRefund(order.outTradeNo, outRefundNo)) as Refund;
  }

  function paymentLine(order: Pick<Order, 'outTradeNo'>, total = 1999, overrides: Partial<BilledPayment> = {}) {
    return {
      kind: 'payment',
      outTradeNo: order.outTradeNo,
      transactionId: paymentFacts().transactionId,
      total,
      currency: 'CNY',
      state: 'SUCCESS',
      tradeTime: '2030-01-01T08:00:00+08:00',
      ...overrides,
    } satisfies BilledPayment;
  }

  function refundLine(refund: Refund, overrides: Partial<BilledRefund> = {}) {
    return {
      kind: 'refund',
      outTradeNo: refund.outTradeNo,
      transactionId: paymentFacts().transactionId,
      outRefundNo: refund.outRefundNo,
      refundId: '50000000382019052709732678859',
      refund: refund.amount.refund,
      status: 'SUCCESS',
      tradeTime: '2030-01-01T09:00:00+08:00',
      ...overrides,
    } satisfies BilledRefund;
  }

  it('matches a day of paid, unpaid, closed and refunded orders, and stores the report', async () => {
    const a = await paid('T-A');
    const b = await paid('T-B', 500);
    await h.orders.create(pendingOrder({ outTradeNo: 'T-UNPAID' }));
    await h.orders.create(pendingOrder({ outTradeNo: 'T-CLOSED', status: 'CLOSED' }));
    const refund = await refunded(a, 'RF-A', 700, true);
    bills.bill(DAY, [paymentLine(a), paymentLine(b, 500), refundLine(refund)]);

    const report = await reconcile.run(DAY);

    expect(report).toEqual({
      billDate: DAY,
      status: 'MATCHED',
      counts: { wechat: 3, here: 3, matched: 3, discrepancies: 0 },
      discrepancies: [],
      billFound: true,
      apiVersion: 'v3',
      reconciledAt: h.clock.now().toISOString(),
    });
    expect(await store.get(DAY)).toEqual(report);
    expect(payments.calls).toEqual([]);
  });

  it('repairs a billed payment not PAID here through the notification path; the day then matches', async () => {
    const lost = pendingOrder({ outTradeNo: 'T-LOST' });
    await h.orders.create(lost);
    payments.onQuery(tradeReport('T-LOST', 'SUCCESS'));
    bills.bill(DAY, [paymentLine(lost, 1999, { transactionId: paymentFacts().transactionId })]);

    const first = await reconcile.run(DAY);

    expect(first.status).toBe('DISCREPANCIES');
    expect(first.discrepancies).toEqual([
      {
        kind: 'NOT_PAID_HERE',
        outTradeNo: 'T-LOST',
        wechat: { status: 'SUCCESS', amount: 1999, transactionId: paymentFacts().transactionId },
        here: { status: 'PENDING', amount: 1999 },
        repaired: true,
      },
    ]);
    const after = (await h.orders.get('T-LOST')) as Order;
    expect(after.status).toBe('PAID');
    expect(after.history.at(-1)).toMatchObject({ from: 'PENDING', to: 'PAID', source: 'bill' });

    // tradeReport's payment is at 08:05 Beijing on DAY: the settled records hold it now.
    const second = await reconcile.run(DAY);
    expect(second).toMatchObject({ status: 'MATCHED', counts: { wechat: 1, here: 1, matched: 1, discrepancies: 0 } });
    expect(payments.callsOf('query')).toHaveLength(1);
  });

  it('reports, without repairing, a billed payment WeChat cannot confirm now or that is unknown here', async () => {
    await h.orders.create(pendingOrder({ outTradeNo: 'T-BUSY' }));
    payments.onQuery(wechatRefuses('SYSTEMERROR', true));
    bills.bill(DAY, [paymentLine({ outTradeNo: 'T-BUSY' }), paymentLine({ outTradeNo: 'T-NEVER-HEARD' })]);

    const report = await reconcile.run(DAY);

    expect(report.discrepancies).toEqual([
      {
        kind: 'NOT_PAID_HERE',
        outTradeNo: 'T-BUSY',
        wechat: expect.anything(),
        here: { status: 'PENDING', amount: 1999 },
      },
      { kind: 'NOT_PAID_HERE', outTradeNo: 'T-NEVER-HEARD', wechat: expect.anything() },
    ]);
    expect(report.counts).toEqual({ wechat: 2, here: 1, matched: 0, discrepancies: 2 });
    expect((await h.orders.get('T-BUSY'))?.status).toBe('PENDING');
    // Nothing here to apply to: the unknown order is not queried.
    expect(payments.callsOf('query').map((call) => call.outTradeNo)).toEqual(['T-BUSY']);
  });

  it('tells amounts that differ, and payments here the bill does not list', async () => {
    const a = await paid('T-A');
    await paid('T-MISSING', 800);
    bills.bill(DAY, [paymentLine(a, 2999)]);

    const report = await reconcile.run(DAY);

    expect(report.discrepancies).toEqual([
      {
        kind: 'AMOUNT_MISMATCH',
        outTradeNo: 'T-A',
        wechat: { status: 'SUCCESS', amount: 2999, transactionId: paymentFacts().transactionId },
        here: { status: 'PAID', amount: 1999, transactionId: paymentFacts().transactionId },
      },
      {
        kind: 'MISSING_AT_WECHAT',
        outTradeNo: 'T-MISSING',
        here: { status: 'PAID', amount: 800, transactionId: paymentFacts().transactionId },
      },
    ]);
    expect(report.counts).toEqual({ wechat: 1, here: 2, matched: 0, discrepancies: 2 });
  });

  it('counts a day WeChat has no bill for as empty: what was paid here is missing at WeChat', async () => {
    await paid('T-A');
    const report = await reconcile.run(DAY);
    expect(report).toMatchObject({
      status: 'DISCREPANCIES',
      billFound: false,
      counts: { wechat: 0, here: 1, matched: 0, discrepancies: 1 },
      discrepancies: [{ kind: 'MISSING_AT_WECHAT', outTradeNo: 'T-A' }],
    });
    expect(await reconcile.run('2030-01-02')).toMatchObject({ status: 'MATCHED', billFound: false });
  });

  it('matches a payment PAID here under another day (or before the index) by looking it up', async () => {
    const elsewhere = paidOrder({
      outTradeNo: 'T-OTHER-DAY',
      payment: { ...paymentFacts(), paidAt: '20300102000001' },
    });
    await h.orders.create(elsewhere);
    bills.bill(DAY, [paymentLine(elsewhere)]);
    expect(await reconcile.run(DAY)).toMatchObject({
      status: 'MATCHED',
      counts: { wechat: 1, here: 1, matched: 1, discrepancies: 0 },
    });
  });

  it('syncs a refund WeChat billed as SUCCESS that is still PROCESSING here; the day then matches', async () => {
    const a = await paid('T-A');
    const pending = await refunded(a, 'RF-A', 700, false);
    h.provider.onQuery(refundReport(pending, 'SUCCESS'));
    bills.bill(DAY, [paymentLine(a), refundLine(pending)]);

    const first = await reconcile.run(DAY);

    expect(first.discrepancies).toEqual([
      {
        kind: 'REFUND_MISMATCH',
        outTradeNo: 'T-A',
        outRefundNo: 'RF-A',
        wechat: expect.objectContaining({ status: 'SUCCESS', amount: 700 }),
        here: expect.objectContaining({ status: 'PROCESSING', amount: 700 }),
        repaired: true,
      },
    ]);
    expect((await h.refunds.getRefund('T-A', 'RF-A'))?.history.at(-1)).toMatchObject({ to: 'SUCCESS', source: 'bill' });
    expect(await reconcile.run(DAY)).toMatchObject({ status: 'MATCHED', counts: { wechat: 2, here: 2, matched: 2 } });
  });

  it('agrees with a refund billed PROCESSING that finished here since; not with an unknown or other one', async () => {
    const a = await paid('T-A');
    const done = await refunded(a, 'RF-DONE', 300, true);
    const other = await refunded(a, 'RF-OTHER', 200, true);
    bills.bill(DAY, [
      paymentLine(a),
      refundLine(done, { status: 'PROCESSING' }),
      refundLine(other, { refund: 250 }),
      refundLine({ ...other, outRefundNo: 'RF-GHOST' }),
    ]);

    const report = await reconcile.run(DAY);

    expect(report.discrepancies.map((d) => [d.kind, d.outRefundNo, d.here?.amount, d.repaired])).toEqual([
      ['REFUND_MISMATCH', 'RF-GHOST', undefined, undefined],
      ['REFUND_MISMATCH', 'RF-OTHER', 200, undefined],
    ]);
    expect(report.counts).toEqual({ wechat: 4, here: 3, matched: 2, discrepancies: 2 });
  });

  it('tells a payment or refund billed twice, however well each line agrees', async () => {
    const a = await paid('T-A');
    const refund = await refunded(a, 'RF-A', 700, true);
    bills.bill(DAY, [paymentLine(a), refundLine(refund), paymentLine(a), refundLine(refund)]);

    const report = await reconcile.run(DAY);

    expect(report.discrepancies).toEqual([
      { kind: 'AMOUNT_MISMATCH', outTradeNo: 'T-A', wechat: expect.objectContaining({ amount: 1999 }) },
      {
        kind: 'REFUND_MISMATCH',
        outTradeNo: 'T-A',
        outRefundNo: 'RF-A',
        wechat: expect.objectContaining({ amount: 700 }),
      },
    ]);
    expect(report.counts).toEqual({ wechat: 4, here: 2, matched: 2, discrepancies: 2 });
  });

  it('fails the run when a repair fails for another reason than WeChat (nothing half-reported)', async () => {
    await h.orders.create(pendingOrder({ outTradeNo: 'T-LOST' }));
    payments.onQuery(tradeReport('T-LOST', 'SUCCESS'));
    // A table refusing the write cannot be produced on demand: the store's transition is made to throw.
    h.orders.transition = () => Promise.reject(new Error('AccessDeniedException'));
    bills.bill(DAY, [paymentLine({ outTradeNo: 'T-LOST' })]);

    await expect(reconcile.run(DAY)).rejects.toThrow('AccessDeniedException');
    expect(await store.get(DAY)).toBeUndefined();
  });

  it('applies and stores nothing from a bill refused at its end', async () => {
    await h.orders.create(pendingOrder({ outTradeNo: 'T-LOST' }));
    bills.bill(DAY, [paymentLine({ outTradeNo: 'T-LOST' })], new BillRefusedError('SHA1 differs'));

    await expect(reconcile.run(DAY)).rejects.toBeInstanceOf(BillRefusedError);

    expect(payments.calls).toEqual([]);
    expect((await h.orders.get('T-LOST'))?.status).toBe('PENDING');
    expect(await store.get(DAY)).toBeUndefined();
  });

  it('stores nothing for a day whose bill is not ready', async () => {
    bills.notReady(DAY);
    await expect(reconcile.run(DAY)).rejects.toBeInstanceOf(BillNotReadyError);
    expect(await store.get(DAY)).toBeUndefined();
  });

  it(`keeps the first ${MAX_REPORTED_DISCREPANCIES} discrepancies and counts them all`, async () => {
    const lines = Array.from({ length: MAX_REPORTED_DISCREPANCIES + 1 }, (_, i) =>
      paymentLine({ outTradeNo: `T-${String(i).padStart(5, '0')}` }),
    );
    bills.bill(DAY, lines);
    const report = await reconcile.run(DAY);
    expect(report.counts.discrepancies).toBe(MAX_REPORTED_DISCREPANCIES + 1);
    expect(report.discrepancies).toHaveLength(MAX_REPORTED_DISCREPANCIES);
    expect(report.discrepancies[0]?.outTradeNo).toBe('T-00000');
    expect((await store.get(DAY))?.discrepancies).toHaveLength(MAX_REPORTED_DISCREPANCIES);
  });
});
