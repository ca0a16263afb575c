import type { NotificationRecord } from '#shared/domain/ports';
import { MAX_REFUNDS_PER_ORDER } from '#shared/domain/refund';
import type { Refund, RefundHistoryEntry, RefundStatus, RefundTotals } from '#shared/domain/refund';
import { refundCanStillChange, refundHolding, refundSourcesOf } from '#shared/domain/refund-lifecycle';
import type {
  DueRefund,
  RefundCreateResult,
  RefundStore,
  RefundTransitionCommand,
  RefundTransitionResult,
} from '#shared/domain/refund-ports';
import { checkNewRefund, refundAgrees, refundRefusalOf } from '#shared/adapters/refund-store-rules';
import type { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';

/** A history entry as a transition stores it: without `from`, which is filled in on reading. */
type StoredHistoryEntry = Omit<RefundHistoryEntry, 'from'> & { from?: RefundHistoryEntry['from'] };

/** The refund item: the refund, whether it is in the due index, and the notifications that changed it. */
interface StoredRefund {
  refund: Omit<Refund, 'history'> & { history: StoredHistoryEntry[] };
  /** DynamoDB's `dueKey`: set while WeChat may still move the refund, so findDueRefunds can see it. */
  due: boolean;
  appliedNotifications: NotificationRecord[];
}

/**
 * The RefundStore port in memory, for the unit tier, over the orders of an InMemoryOrderStore: the
 * refund and the order's counters (order.refunds) are checked and written in one synchronous step, as
 * the DynamoDB store does in one transaction. It keeps that store's semantics exactly
 * (test/helpers/refund-store-contract.ts runs against both): creation only for a PAID order, under
 * MAX_REFUNDS_PER_ORDER and within what is left to refund, of an out_refund_no no other order's refund
 * holds; a transition conditional on the lifecycle's
 * source states and on the amount; final refunds out of the due index. Everything goes in and comes out
 * as a JSON copy, so callers can never touch what is stored.
 */
export class InMemoryRefundStore implements RefundStore {
  /** By out_trade_no (the order's partition), then out_refund_no. */
  private readonly refunds = new Map<string, Map<string, StoredRefund>>();
  /** DynamoDB's REFUNDNO# claims: out_refund_no → the out_trade_no of the order whose refund holds it. */
  private readonly numbers = new Map<string, string>();

  constructor(private readonly orders: InMemoryOrderStore) {}

  async createRefund(refund: Refund): Promise<RefundCreateResult> {
    checkNewRefund(refund);
    const existing = this.refunds.get(refund.outTradeNo)?.get(refund.outRefundNo);
    if (existing) return { kind: 'exists', refund: readRefund(existing) };
    // Merchant-wide at WeChat: another order's refund holds the number, whatever this order's state.
    const owner = this.numbers.get(refund.outRefundNo);
    if (owner !== undefined && owner !== refund.outTradeNo) return { kind: 'out_refund_no_used', outTradeNo: owner };
    const account = this.orders.refundAccount(refund.outTradeNo);
    if (!account) return { kind: 'order_not_found' };
    const { order } = account;
    if (order.status !== 'PAID') return { kind: 'order_not_paid', order };
    if (order.payment?.amountTotal !== refund.amount.total) throw paidAmountDiffers();
    const totals = order.refunds ?? { refunded: 0, pending: 0, count: 0 };
    if (totals.count >= MAX_REFUNDS_PER_ORDER) return { kind: 'too_many_refunds', order };
    if (totals.refunded + totals.pending + refund.amount.refund > refund.amount.total) {
      return { kind: 'amount_exceeded', order };
    }

    const stored: StoredRefund = {
      refund: copy(refund),
      due: refundCanStillChange(refund.status),
      appliedNotifications: [],
    };
    const partition = this.refunds.get(refund.outTradeNo) ?? new Map<string, StoredRefund>();
    partition.set(refund.outRefundNo, stored);
    this.refunds.set(refund.outTradeNo, partition);
    this.numbers.set(refund.outRefundNo, refund.outTradeNo);
    account.setTotals({ ...totals, pending: totals.pending + refund.amount.refund, count: totals.count + 1 });
    const after = this.orders.refundAccount(refund.outTradeNo)?.order ?? order;
    return { kind: 'created', refund: readRefund(stored), order: after };
  }

  async getRefund(outTradeNo: string, outRefundNo: string): Promise<Refund | undefined> {
    const stored = this.refunds.get(outTradeNo)?.get(outRefundNo);
    return stored && readRefund(stored);
  }

  /** Every refund of every order, as read back (what the DynamoDB store's indexes are built from). */
  allRefunds(): Refund[] {
    return [...this.refunds.values()].flatMap((byNumber) => [...byNumber.values()].map(readRefund));
  }

  async listRefunds(outTradeNo: string): Promise<Refund[]> {
    return [...(this.refunds.get(outTradeNo)?.values() ?? [])]
      .map(readRefund)
      .sort((a, b) => compare(a.createdAt, b.createdAt) || compare(a.outRefundNo, b.outRefundNo));
  }

  async transitionRefund(command: RefundTransitionCommand): Promise<RefundTransitionResult> {
    const stored = this.refunds.get(command.outTradeNo)?.get(command.outRefundNo);
    if (!stored) return { kind: 'not_found' };
    const sources: readonly RefundStatus[] = refundSourcesOf(command.to);
    const current = readRefund(stored);
    if (!sources.includes(current.status) || !refundAgrees(command, current)) return refundRefusalOf(command, current);
    const account = this.orders.refundAccount(command.outTradeNo);
    if (!account) throw new Error(`refund ${command.outRefundNo} has no order ${command.outTradeNo}`);

    const refund = stored.refund;
    const totals = account.order.refunds ?? { refunded: 0, pending: 0, count: 0 };
    account.setTotals(moveHolding(totals, refund.status, command.to, refund.amount.refund));
    refund.status = command.to;
    refund.updatedAt = command.at;
    if (command.refundId !== undefined) refund.refundId = command.refundId;
    if (command.successTime !== undefined) refund.successTime = command.successTime;
    if (command.userReceivedAccount !== undefined) refund.userReceivedAccount = command.userReceivedAccount;
    if (command.failure) refund.failure = copy(command.failure);
    if (!refundCanStillChange(command.to)) {
      // A final refund leaves the due index: no dueKey, no nextCheckAt.
      stored.due = false;
      delete refund.nextCheckAt;
    } else {
      stored.due = true;
      if (command.nextCheckAt !== undefined) refund.nextCheckAt = command.nextCheckAt;
    }
    refund.history.push(copy({ at: command.at, to: command.to, source: command.source, note: command.note }));
    if (command.notification) stored.appliedNotifications.push(copy(command.notification));
    return { kind: 'applied', refund: readRefund(stored) };
  }

  async recordAcceptance(
    outTradeNo: string,
    outRefundNo: string,
    acceptance: { acceptedAt: string; refundId?: string },
  ): Promise<Refund | undefined> {
    const stored = this.refunds.get(outTradeNo)?.get(outRefundNo);
    if (!stored || !refundCanStillChange(stored.refund.status)) return undefined;
    // The first acceptance is when WeChat took it; a later answer repeating it does not move it.
    stored.refund.acceptedAt ??= acceptance.acceptedAt;
    if (acceptance.refundId !== undefined) stored.refund.refundId = acceptance.refundId;
    return readRefund(stored);
  }

  async setRefundNextCheck(outTradeNo: string, outRefundNo: string, nextCheckAt: string): Promise<void> {
    const stored = this.refunds.get(outTradeNo)?.get(outRefundNo);
    // Only refunds still in the due index: a final or missing refund is left alone.
    if (stored?.due) stored.refund.nextCheckAt = nextCheckAt;
  }

  async findDueRefunds(now: string, limit: number): Promise<DueRefund[]> {
    if (limit <= 0) return [];
    const due: DueRefund[] = [];
    for (const [outTradeNo, partition] of this.refunds) {
      for (const [outRefundNo, { refund, due: inIndex }] of partition) {
        // The index holds a refund only when it has both keys: dueKey and nextCheckAt.
        if (inIndex && refund.nextCheckAt !== undefined && refund.nextCheckAt <= now) {
          due.push({ outTradeNo, outRefundNo, nextCheckAt: refund.nextCheckAt });
        }
      }
    }
    return due
      .sort(
        (a, b) =>
          compare(a.nextCheckAt, b.nextCheckAt) ||
          compare(a.outTradeNo, b.outTradeNo) ||
          compare(a.outRefundNo, b.outRefundNo),
      )
      .slice(0, limit);
  }

  /** Not part of the port: the notifications that changed a refund, kept with it (as on its DynamoDB item). */
  refundNotifications(outTradeNo: string, outRefundNo: string): NotificationRecord[] {
    return (this.refunds.get(outTradeNo)?.get(outRefundNo)?.appliedNotifications ?? []).map(copy);
  }
}

/** The order's counters once a refund of `fen` moves from holding what `from` holds to what `to` holds. */
function moveHolding(totals: RefundTotals, from: RefundStatus, to: RefundStatus, fen: number): RefundTotals {
  const next = { ...totals };
  const take = refundHolding(from);
  const give = refundHolding(to);
  if (take !== 'none') next[take] -= fen;
  if (give !== 'none') next[give] += fen;
  return next;
}

function paidAmountDiffers(): Error {
  return new Error("a refund's amount.total must be the order's paid amount");
}

/**
 * The refund as read back: a copy, with each history entry's `from` filled in from the entry before it
 * (a transition appends its entry without one), `null` for the first.
 */
function readRefund(stored: StoredRefund): Refund {
  const refund = copy(stored.refund);
  let previous: RefundStatus | null = null;
  const history = refund.history.map((entry): RefundHistoryEntry => {
    const complete = { ...entry, from: entry.from === undefined ? previous : entry.from };
    previous = entry.to;
    return complete;
  });
  return { ...refund, history };
}

/** A JSON copy: drops undefined members at any depth, as the DynamoDB store does before writing. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
