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
 * SettledRecords over the in-memory stores, by the DynamoDB settled index's rule (dynamodb-order-item.ts,
 * dynamodb-refund-item.ts): a PAID order on the Beijing day of its payment (a paidAt naming no instant:
 * of its move to PAID here), a SUCCESS refund on the Beijing day WeChat accepted it (else created it,
 * else moved to SUCCESS).
 */
export class InMemorySettledRecords implements SettledRecords {
  constructor(
    private readonly orders: InMemoryOrderStore,
    private readonly refunds: InMemoryRefundStore,
  ) {}

  async *listSettled(billDate: BillDate): AsyncIterable<SettledRecord> {
    for (const order of this.orders.allOrders()) {
      if (order.status !== 'PAID' || !order.payment) continue;
      const paid = order.history.find((entry) => entry.to === 'PAID')?.at ?? order.updatedAt;
      const settledAt = paidAtInstant(order.payment.paidAt) ?? firstInstant([paid]);
      if (!settledAt || beijingDateOf(settledAt) !== billDate) continue;
      yield {
        kind: 'payment',
        outTradeNo: order.outTradeNo,
        transactionId: order.payment.transactionId,
        total: order.payment.amountTotal,
      };
    }
    for (const refund of this.refunds.allRefunds()) {
      if (refund.status !== 'SUCCESS') continue;
      const succeeded = refund.history.find((entry) => entry.to === 'SUCCESS')?.at;
      const settledAt = firstInstant([refund.acceptedAt, refund.createdAt, succeeded]);
      if (!settledAt || beijingDateOf(settledAt) !== billDate) continue;
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

/** The first of these texts that names an instant. */
function firstInstant(texts: Array<string | undefined>): Date | undefined {
  const ms = texts.map((text) => (text === undefined ? Number.NaN : Date.parse(text))).find((t) => !Number.isNaN(t));
  return ms === undefined ? undefined : new Date(ms);
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
