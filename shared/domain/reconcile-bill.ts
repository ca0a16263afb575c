import type {
  BillDate,
  BilledPayment,
  BilledRefund,
  BillLine,
  BillSource,
  Discrepancy,
  DiscrepancySide,
  ReconciliationReport,
  ReconciliationStore,
  SettledRecord,
  SettledRecords,
} from './bill-reconciliation';
import { MAX_REPORTED_DISCREPANCIES } from './bill-reconciliation';
import { BillNotReadyError, ProviderError } from './errors';
import { runPool } from './run-pool';
import type { Order } from './order';
import type { Clock, OrderStore, PaymentProvider } from './ports';
import type { Refund, RefundStatus } from './refund';
import type { RefundStore } from './refund-ports';
import type { TradeReports } from './trade-reports';

export interface ReconcileBillDeps {
  bills: BillSource;
  settled: SettledRecords;
  orders: OrderStore;
  refunds: RefundStore;
  /** Confirms a billed payment that is not PAID here (the query), before anything is applied. */
  provider: Pick<PaymentProvider, 'query'>;
  /** The path by which WeChat's word changes an order (a notification's path too). */
  tradeReports: TradeReports;
  /** Asks WeChat about one refund and applies its answer (GetRefund with sync); the refund after. */
  syncRefund(outTradeNo: string, outRefundNo: string): Promise<Refund>;
  store: ReconciliationStore;
  clock: Clock;
  /** How many bill lines are looked up or repaired at once (each is a read, maybe a query and a write). */
  lookups?: number;
}

const DEFAULT_LOOKUPS = 16;

/**
 * One day's reconciliation: WeChat's bill against the records here, repairs applied through the
 * notification path, the report stored and returned.
 *
 * The bill is read to its end before anything is looked up or applied: its proof (the SHA1, the
 * summary) is checked only there, so a refused bill changes nothing. The day's settled records here
 * are held in memory (one entry per PAID order and SUCCESS refund of the day) and ticked off as the
 * bill's lines match them; what the bill lists that they do not hold is looked up one by one (an order
 * paid here under another day, a refund WeChat billed while it was still processing); what they hold
 * that the bill does not list is MISSING_AT_WECHAT.
 *
 * Throws BillNotReadyError (ask later), BillRefusedError (tampered bill: nothing applied or stored),
 * ProviderError (WeChat could not be asked for the bill).
 */
export class ReconcileBill {
  constructor(private readonly deps: ReconcileBillDeps) {}

  async run(billDate: BillDate): Promise<ReconciliationReport> {
    const { bills, settled, store, clock } = this.deps;
    const fetched = await bills.fetch(billDate);
    if (fetched.kind === 'not_ready') {
      throw new BillNotReadyError(`WeChat is still generating the bill of ${billDate}`);
    }
    const here = new Map<string, SettledRecord>();
    for await (const record of settled.listSettled(billDate)) here.set(keyOf(record), record);
    const indexed = here.size;

    let wechat = 0;
    let matched = 0;
    /**
     * Lines the day's settled records do not account for: looked up once the whole bill is proven.
     * `indexed`: the day's records held it (in another state), so it is counted here already.
     */
    const unaccounted: { line: BillLine; indexed: boolean }[] = [];
    /** A payment or refund the bill lists twice is money settled twice: a discrepancy, never a match. */
    const billed = new Set<string>();
    const repeated: Discrepancy[] = [];
    if (fetched.kind === 'bill') {
      for await (const line of fetched.lines) {
        wechat += 1;
        const key = keyOf(line);
        if (billed.has(key)) {
          repeated.push(repeatedLine(line));
          continue;
        }
        billed.add(key);
        const mine = here.get(key);
        if (mine !== undefined) here.delete(key);
        if (mine !== undefined && agrees(line, mine)) matched += 1;
        else unaccounted.push({ line, indexed: mine !== undefined });
      }
    }

    const discrepancies: Discrepancy[] = [...repeated];
    let foundHere = 0;
    await runPool(unaccounted, this.deps.lookups ?? DEFAULT_LOOKUPS, async ({ line, indexed }) => {
      const verdict = line.kind === 'payment' ? await this.checkPayment(line) : await this.checkRefund(line);
      if (verdict.foundHere && !indexed) foundHere += 1;
      if (verdict.discrepancy === undefined) matched += 1;
      else discrepancies.push(verdict.discrepancy);
    });
    for (const record of here.values()) discrepancies.push(missingAtWechat(record));
    discrepancies.sort(byKindAndNumber);

    const report: ReconciliationReport = {
      billDate,
      status: discrepancies.length === 0 ? 'MATCHED' : 'DISCREPANCIES',
      counts: { wechat, here: indexed + foundHere, matched, discrepancies: discrepancies.length },
      discrepancies: discrepancies.slice(0, MAX_REPORTED_DISCREPANCIES),
      billFound: fetched.kind === 'bill',
      apiVersion: bills.apiVersion,
      reconciledAt: clock.now().toISOString(),
    };
    await store.save(report);
    return report;
  }

  /**
   * A billed payment the day's records did not match. PAID here (under another day, or before the
   * settled index existed): the amounts decide. Not PAID here: WeChat's query confirms it and the answer
   * is applied as a notification would be, so the order is PAID (and its event produced) after the run.
   */
  private async checkPayment(line: BilledPayment): Promise<Verdict> {
    const order = await this.deps.orders.get(line.outTradeNo);
    const wechat = billedSide(line);
    if (order?.status === 'PAID') {
      const paid = order.payment;
      if (line.state === 'SUCCESS' && paid?.amountTotal === line.total && paid.transactionId === line.transactionId) {
        return { foundHere: true };
      }
      return {
        foundHere: true,
        discrepancy: { kind: 'AMOUNT_MISMATCH', outTradeNo: line.outTradeNo, wechat, here: orderSide(order) },
      };
    }
    // WeChat revoked the payment (its money went back): nothing is owed here when the order is not PAID
    // either, whether or not it is known here.
    if (line.state === 'REVOKED') return { foundHere: order !== undefined };
    const discrepancy: Discrepancy = { kind: 'NOT_PAID_HERE', outTradeNo: line.outTradeNo, wechat };
    if (order !== undefined) discrepancy.here = orderSide(order);
    if (order !== undefined && (await this.repairPayment(order))) discrepancy.repaired = true;
    return { foundHere: order !== undefined, discrepancy };
  }

  /** Asks WeChat about the order and applies the answer; true when the order is PAID after. */
  private async repairPayment(order: Order): Promise<boolean> {
    try {
      const report = await this.deps.provider.query(order.outTradeNo);
      const outcome = await this.deps.tradeReports.apply(report, 'bill', { known: order });
      return (outcome.kind === 'applied' || outcome.kind === 'already') && outcome.order.status === 'PAID';
    } catch (error) {
      // WeChat could not confirm it now: reported unrepaired, and the next run of the day asks again.
      // Anything else (our table refusing, a bug) fails the run, for the function's error alarm.
      if (error instanceof ProviderError) return false;
      throw error;
    }
  }

  /**
   * A billed refund the day's records did not match: unknown here, another amount, or a status the
   * refund here has not reached. A refund WeChat bills as SUCCESS that is still pending here is synced
   * (WeChat's query applied), as its notification would have.
   */
  private async checkRefund(line: BilledRefund): Promise<Verdict> {
    const refund = await this.deps.refunds.getRefund(line.outTradeNo, line.outRefundNo);
    const base = { kind: 'REFUND_MISMATCH' as const, outTradeNo: line.outTradeNo, outRefundNo: line.outRefundNo };
    const wechat = billedSide(line);
    if (refund === undefined) return { foundHere: false, discrepancy: { ...base, wechat } };
    if (refundAgrees(line, refund.amount.refund, refund.status, refund.refundId)) return { foundHere: true };
    const discrepancy: Discrepancy = { ...base, wechat, here: refundSide(refund) };
    if (line.status === 'SUCCESS' && refund.amount.refund === line.refund && refund.status !== 'SUCCESS') {
      try {
        const synced = await this.deps.syncRefund(line.outTradeNo, line.outRefundNo);
        if (synced.status === 'SUCCESS') discrepancy.repaired = true;
      } catch (error) {
        // As for a payment: WeChat's failure leaves it reported unrepaired; anything else fails the run.
        if (!(error instanceof ProviderError)) throw error;
      }
    }
    return { foundHere: true, discrepancy };
  }
}

interface Verdict {
  /** The line's record exists here (counted among the day's records here). */
  foundHere: boolean;
  discrepancy?: Discrepancy;
}

function keyOf(record: SettledRecord | BillLine): string {
  return record.kind === 'payment' ? `P ${record.outTradeNo}` : `R ${record.outRefundNo}`;
}

function agrees(line: BillLine, mine: SettledRecord): boolean {
  if (line.kind === 'payment' && mine.kind === 'payment') {
    return line.state === 'SUCCESS' && line.total === mine.total && line.transactionId === mine.transactionId;
  }
  if (line.kind === 'refund' && mine.kind === 'refund') {
    return line.outTradeNo === mine.outTradeNo && refundAgrees(line, mine.refund, 'SUCCESS', mine.refundId);
  }
  return false;
}

/**
 * The bill is a snapshot taken the morning after: a refund it shows PROCESSING (or ABNORMAL) may have
 * finished here since, which is no disagreement; any other difference of status is.
 */
const LATER_STATUSES: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  PROCESSING: ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'],
  ABNORMAL: ['ABNORMAL', 'SUCCESS', 'CLOSED'],
  SUCCESS: ['SUCCESS'],
  CLOSED: ['CLOSED'],
};

function refundAgrees(line: BilledRefund, refund: number, status: RefundStatus, refundId: string | undefined): boolean {
  return (
    line.refund === refund &&
    LATER_STATUSES[line.status].includes(status) &&
    (refundId === undefined || refundId === line.refundId)
  );
}

function billedSide(line: BillLine): DiscrepancySide {
  return line.kind === 'payment'
    ? { status: line.state, amount: line.total, transactionId: line.transactionId }
    : { status: line.status, amount: line.refund, transactionId: line.transactionId, refundId: line.refundId };
}

function orderSide(order: Order): DiscrepancySide {
  const side: DiscrepancySide = {
    status: order.status,
    amount: order.payment?.amountTotal ?? order.request.amount.total,
  };
  if (order.payment !== undefined) side.transactionId = order.payment.transactionId;
  return side;
}

function refundSide(refund: Refund): DiscrepancySide {
  const side: DiscrepancySide = { status: refund.status, amount: refund.amount.refund };
  if (refund.refundId !== undefined) side.refundId = refund.refundId;
  return side;
}

/**
 * A second line for a payment or refund already billed: WeChat settles it twice. Told as the kind for
 * its record (an amount that is not what was paid, or a refund that is not the one here), with the
 * repeated line as WeChat's side and no side here, since nothing here answers for the second one.
 */
function repeatedLine(line: BillLine): Discrepancy {
  if (line.kind === 'payment') {
    return { kind: 'AMOUNT_MISMATCH', outTradeNo: line.outTradeNo, wechat: billedSide(line) };
  }
  return {
    kind: 'REFUND_MISMATCH',
    outTradeNo: line.outTradeNo,
    outRefundNo: line.outRefundNo,
    wechat: billedSide(line),
  };
}

function missingAtWechat(record: SettledRecord): Discrepancy {
  if (record.kind === 'payment') {
    return {
      kind: 'MISSING_AT_WECHAT',
      outTradeNo: record.outTradeNo,
      here: { status: 'PAID', amount: record.total, transactionId: record.transactionId },
    };
  }
  const here: DiscrepancySide = { status: 'SUCCESS', amount: record.refund };
  if (record.refundId !== undefined) here.refundId = record.refundId;
  return { kind: 'MISSING_AT_WECHAT', outTradeNo: record.outTradeNo, outRefundNo: record.outRefundNo, here };
}

/** Reports read the same whatever order the lookups finished in. */
function byKindAndNumber(a: Discrepancy, b: Discrepancy): number {
  return (
    compare(a.kind, b.kind) || compare(a.outTradeNo, b.outTradeNo) || compare(a.outRefundNo ?? '', b.outRefundNo ?? '')
  );
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
