import type {
  BillDate,
  BillFetch,
  BillLine,
  BillSource,
  ReconciliationReport,
  ReconciliationStore,
  SettledRecord,
  SettledRecords,
} from '#shared/domain/bill-reconciliation';
import { beijingDateOf } from '#shared/domain/bill-date';
import { paidAtInstant } from '#shared/domain/payment-time';
import type { InMemoryOrderStore } from './in-memory-order-store';
import type { InMemoryRefundStore } from './in-memory-refund-store';

/**
 * SettledRecords over the in-memory stores, by the DynamoDB settled index's rule: a PAID order on the
 * Beijing day of its payment, a SUCCESS refund on the Beijing day WeChat accepted it (else created it).
 */
export class InMemorySettledRecords implements SettledRecords {
  constructor(
    private readonly orders: InMemoryOrderStore,
    private readonly refunds: InMemoryRefundStore,
  ) {}

  async *listSettled(billDate: BillDate): AsyncIterable<SettledRecord> {
    for (const order of this.orders.allOrders()) {
      const paidAt = order.payment && paidAtInstant(order.payment.paidAt);
      if (order.status !== 'PAID' || !order.payment || !paidAt || beijingDateOf(paidAt) !== billDate) continue;
      yield {
        kind: 'payment',
        outTradeNo: order.outTradeNo,
        transactionId: order.payment.transactionId,
        total: order.payment.amountTotal,
      };
    }
    for (const refund of this.refunds.allRefunds()) {
      const day = beijingDateOf(new Date(refund.acceptedAt ?? refund.createdAt));
      if (refund.status !== 'SUCCESS' || day !== billDate) continue;
      yield {
        kind: 'refund',
        outTradeNo: refund.outTradeNo,
        outRefundNo: refund.outRefundNo,
        refund: refund.amount.refund,
        ...(refund.refundId !== undefined ? { refundId: refund.refundId } : {}),
      };
    }
  }
}

export class InMemoryReconciliationStore implements ReconciliationStore {
  private readonly reports = new Map<BillDate, ReconciliationReport>();

  async save(report: ReconciliationReport): Promise<void> {
    this.reports.set(report.billDate, structuredClone(report));
  }

  async get(billDate: BillDate): Promise<ReconciliationReport | undefined> {
    const report = this.reports.get(billDate);
    return report && structuredClone(report);
  }
}

/**
 * A BillSource answering what the test set per day: lines (optionally failing after the last one, as a
 * bill whose proof fails at its end), no bill, or not ready. A day with nothing set has no bill.
 */
export class ScriptedBillSource implements BillSource {
  private readonly days = new Map<BillDate, { lines: BillLine[]; failAtEnd?: Error } | 'no_bill' | 'not_ready'>();
  /** The days asked for, in order. */
  readonly fetched: BillDate[] = [];

  constructor(readonly apiVersion: 'v2' | 'v3' = 'v3') {}

  bill(billDate: BillDate, lines: BillLine[], failAtEnd?: Error): this {
    this.days.set(billDate, failAtEnd ? { lines, failAtEnd } : { lines });
    return this;
  }

  notReady(billDate: BillDate): this {
    this.days.set(billDate, 'not_ready');
    return this;
  }

  async fetch(billDate: BillDate): Promise<BillFetch> {
    this.fetched.push(billDate);
    const day = this.days.get(billDate) ?? 'no_bill';
    if (day === 'no_bill' || day === 'not_ready') return { kind: day };
    return { kind: 'bill', lines: stream(day.lines, day.failAtEnd) };
  }
}

async function* stream(lines: BillLine[], failAtEnd: Error | undefined): AsyncIterable<BillLine> {
  for (const line of lines) yield structuredClone(line);
  if (failAtEnd) throw failAtEnd;
}
