import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { journalEntrySchema, orderSchema } from './order-model';
import type { JournalEntry, SimOrder } from './order-model';
import { refundSchema } from './refund-model';
import type { SimRefund } from './refund-model';

/** Enough history to debug an order without letting a looping notification grow the file forever. */
export const JOURNAL_LIMIT_PER_ORDER = 500;

const STATE_FILE = 'state.json';

const stateFileSchema = z.object({
  version: z.literal(1),
  orders: z.array(orderSchema),
  // Absent in files written before refunds existed.
  refunds: z.array(refundSchema).default([]),
  journal: z.record(z.string(), z.array(journalEntrySchema)),
});

/**
 * The simulator's memory: orders and what was exchanged for each. Every change is written at once
 * (whole file to a temporary name, then renamed over the old one) so a crash never leaves half a file
 * and a restart sees exactly what the merchant's side was told. Without a data directory it only lives
 * in memory. Node runs handlers one at a time, so a read-modify-write without an await in between is atomic.
 */
export class StateStore {
  private readonly orders = new Map<string, SimOrder>();
  private readonly byTransactionId = new Map<string, string>();
  private readonly journal = new Map<string, JournalEntry[]>();
  /** By out_refund_no, which WeChat keeps unique per merchant (not per order). */
  private readonly refunds = new Map<string, SimRefund>();
  private readonly refundsByOrder = new Map<string, string[]>();
  private readonly byRefundId = new Map<string, string>();

  private constructor(private readonly dataDir: string | undefined) {}

  static open(dataDir?: string): StateStore {
    const store = new StateStore(dataDir);
    if (dataDir !== undefined) store.load(dataDir);
    return store;
  }

  get persistent(): boolean {
    return this.dataDir !== undefined;
  }

  getOrder(outTradeNo: string): SimOrder | undefined {
    return this.orders.get(outTradeNo);
  }

  findByTransactionId(transactionId: string): SimOrder | undefined {
    const outTradeNo = this.byTransactionId.get(transactionId);
    return outTradeNo === undefined ? undefined : this.orders.get(outTradeNo);
  }

  allOrders(): SimOrder[] {
    return [...this.orders.values()];
  }

  hasTransactionId(transactionId: string): boolean {
    return this.byTransactionId.has(transactionId);
  }

  putOrder(order: SimOrder): SimOrder {
    this.index(order);
    this.save();
    return order;
  }

  /** Applies `change` to the current order, if there is one, and stores the result. */
  updateOrder(outTradeNo: string, change: (order: SimOrder) => SimOrder): SimOrder | undefined {
    const current = this.orders.get(outTradeNo);
    if (current === undefined) return undefined;
    return this.putOrder(change(current));
  }

  getRefund(outRefundNo: string): SimRefund | undefined {
    return this.refunds.get(outRefundNo);
  }

  findRefundById(refundId: string): SimRefund | undefined {
    const outRefundNo = this.byRefundId.get(refundId);
    return outRefundNo === undefined ? undefined : this.refunds.get(outRefundNo);
  }

  /** The order's refunds, oldest first. */
  refundsOf(outTradeNo: string): SimRefund[] {
    return (this.refundsByOrder.get(outTradeNo) ?? []).flatMap((no) => this.refunds.get(no) ?? []);
  }

  allRefunds(): SimRefund[] {
    return [...this.refunds.values()];
  }

  hasRefundId(refundId: string): boolean {
    return this.byRefundId.has(refundId);
  }

  putRefund(refund: SimRefund): SimRefund {
    this.indexRefund(refund);
    this.save();
    return refund;
  }

  updateRefund(outRefundNo: string, change: (refund: SimRefund) => SimRefund): SimRefund | undefined {
    const current = this.refunds.get(outRefundNo);
    if (current === undefined) return undefined;
    return this.putRefund(change(current));
  }

  appendJournal(outTradeNo: string, entry: JournalEntry): void {
    const entries = this.journal.get(outTradeNo) ?? [];
    entries.push(entry);
    if (entries.length > JOURNAL_LIMIT_PER_ORDER) entries.splice(0, entries.length - JOURNAL_LIMIT_PER_ORDER);
    this.journal.set(outTradeNo, entries);
    this.save();
  }

  journalOf(outTradeNo: string): JournalEntry[] {
    return [...(this.journal.get(outTradeNo) ?? [])];
  }

  private index(order: SimOrder): void {
    this.orders.set(order.outTradeNo, order);
    if (order.payment) this.byTransactionId.set(order.payment.transactionId, order.outTradeNo);
  }

  private indexRefund(refund: SimRefund): void {
    if (!this.refunds.has(refund.outRefundNo)) {
      const ofOrder = this.refundsByOrder.get(refund.outTradeNo) ?? [];
      ofOrder.push(refund.outRefundNo);
      this.refundsByOrder.set(refund.outTradeNo, ofOrder);
    }
    this.refunds.set(refund.outRefundNo, refund);
    this.byRefundId.set(refund.refundId, refund.outRefundNo);
  }

  private load(dataDir: string): void {
    let text: string;
    try {
      text = readFileSync(join(dataDir, STATE_FILE), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    // A state file that does not read back is a loud failure: silently starting empty would make the
    // simulator deny payments the merchant's side has already recorded.
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`simulator state file ${STATE_FILE} is not JSON`, { cause: err });
    }
    const parsed = stateFileSchema.safeParse(json);
    if (!parsed.success) {
      throw new Error(`simulator state file ${STATE_FILE} is not valid: ${z.prettifyError(parsed.error)}`);
    }
    for (const order of parsed.data.orders) this.index(order);
    for (const refund of parsed.data.refunds) this.indexRefund(refund);
    for (const [outTradeNo, entries] of Object.entries(parsed.data.journal)) this.journal.set(outTradeNo, entries);
  }

  private save(): void {
    if (this.dataDir === undefined) return;
    mkdirSync(this.dataDir, { recursive: true });
    const state: z.input<typeof stateFileSchema> = {
      version: 1,
      orders: [...this.orders.values()],
      refunds: [...this.refunds.values()],
      journal: Object.fromEntries(this.journal),
    };
    const target = join(this.dataDir, STATE_FILE);
    const temporary = `${target}.${process.pid}.tmp`;
    writeFileSync(temporary, JSON.stringify(state));
    renameSync(temporary, target);
  }
}
