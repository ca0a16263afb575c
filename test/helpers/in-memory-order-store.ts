import { ValidationError } from '#shared/domain/errors';
import { AWAITING_PAYMENT, canStillChange, refusalOf, sourcesOf } from '#shared/domain/lifecycle';
import type { HistoryEntry, LatePayment, Order, OrderStatus, Prepay } from '#shared/domain/order';
import type {
  CreateResult,
  DueOrder,
  NotificationRecord,
  OrderStore,
  RequeueResult,
  TransitionCommand,
  TransitionResult,
  UnverifiedNotification,
  WatchExtension,
} from '#shared/domain/ports';
import type { RefundTotals } from '#shared/domain/refund';

/** A history entry as a transition stores it: without `from`, which is filled in on reading. */
type StoredHistoryEntry = Omit<HistoryEntry, 'from'> & { from?: HistoryEntry['from'] };

/** The order item: the order, whether it is in the due index, and the notifications that changed it. */
interface StoredOrder {
  order: Omit<Order, 'history'> & { history: StoredHistoryEntry[] };
  /** DynamoDB's `dueKey`: set while WeChat may still move the order, so findDue can see it. */
  due: boolean;
  appliedNotifications: NotificationRecord[];
  /** DynamoDB's `sweepRequeues` (the order's `requeues`): checks put back since one last completed. */
  sweepRequeues: number;
  /** DynamoDB's `checksExhaustedAt`: when the order's checks were given up on. */
  checksExhaustedAt?: string;
}

const UNMATCHED = Symbol('unmatched notifications');

/**
 * The OrderStore port in memory, for the unit tier. It keeps the DynamoDB store's semantics exactly
 * (test/helpers/order-store-contract.ts runs against both): creation conditional on absence, a
 * transition conditional on the lifecycle's source states and on the amount, refusals described from
 * the order as it is, settled orders out of the due index, notifications stored by the transition that
 * applies them. Every method does its reading and writing without awaiting in between, so each call is
 * atomic as a conditional write is. Everything goes in and comes out as a JSON copy (as DynamoDB drops
 * undefined members), so callers can never touch what is stored.
 */
export class InMemoryOrderStore implements OrderStore {
  private readonly orders = new Map<string, StoredOrder>();
  /** Notifications kept as items of their own, by partition (out_trade_no or unmatched), then sort key. */
  private readonly notifications = new Map<string | typeof UNMATCHED, Map<string, NotificationRecord>>();
  private readonly unverified: UnverifiedNotification[] = [];

  async create(order: Order): Promise<CreateResult> {
    const existing = this.orders.get(order.outTradeNo);
    if (existing) return { kind: 'exists', order: readOrder(existing) };
    const { requeues, checksExhaustedAt, ...rest } = copy(order);
    const stored: StoredOrder = {
      order: rest,
      due: canStillChange(order.status),
      appliedNotifications: [],
      sweepRequeues: requeues ?? 0,
      ...(checksExhaustedAt !== undefined ? { checksExhaustedAt } : {}),
    };
    this.orders.set(order.outTradeNo, stored);
    return { kind: 'created', order: readOrder(stored) };
  }

  async get(outTradeNo: string): Promise<Order | undefined> {
    const stored = this.orders.get(outTradeNo);
    return stored && readOrder(stored);
  }

  /** Every order, as read back (what the DynamoDB store's indexes are built from). */
  allOrders(): Order[] {
    return [...this.orders.values()].map(readOrder);
  }

  async transition(command: TransitionCommand): Promise<TransitionResult> {
    const stored = this.orders.get(command.outTradeNo);
    if (!stored) return { kind: 'not_found' };
    const sources: readonly OrderStatus[] = sourcesOf(command.to);
    const amountAgrees =
      !command.expectAmount ||
      (stored.order.request.amount.total === command.expectAmount.total &&
        stored.order.request.amount.currency === command.expectAmount.currency);
    if (!sources.includes(stored.order.status) || !amountAgrees) return refusalOf(command, readOrder(stored));

    const order = stored.order;
    order.status = command.to;
    order.updatedAt = command.at;
    if (command.prepay) order.prepay = copy(command.prepay);
    if (command.payment) order.payment = copy(command.payment);
    if (command.reason !== undefined) order.reason = command.reason;
    if (!canStillChange(command.to)) {
      // A settled order leaves the due index: no dueKey, no nextCheckAt.
      stored.due = false;
      delete order.nextCheckAt;
    } else {
      stored.due = true;
      if (command.nextCheckAt !== undefined) order.nextCheckAt = command.nextCheckAt;
    }
    order.history.push(copy({ at: command.at, to: command.to, source: command.source, note: command.note }));
    if (command.notification) stored.appliedNotifications.push(copy(command.notification));
    return { kind: 'applied', order: readOrder(stored) };
  }

  async extendWatch(outTradeNo: string, from: string, to: string): Promise<WatchExtension> {
    const stored = this.orders.get(outTradeNo);
    // Only an order in the due index with exactly this bound: settled, missing or moved on, it is left alone.
    if (!stored?.due || stored.order.nextCheckAt !== from) {
      const bound = stored?.due ? stored.order.nextCheckAt : undefined;
      return bound === undefined ? { kind: 'superseded' } : { kind: 'superseded', bound };
    }
    stored.order.nextCheckAt = to;
    // A check completed: the count of put-backs starts again.
    stored.sweepRequeues = 0;
    return { kind: 'extended' };
  }

  async requeueCheck(
    outTradeNo: string,
    nextCheckAt: string,
    maxRequeues: number,
    at = nextCheckAt,
  ): Promise<RequeueResult> {
    const stored = this.orders.get(outTradeNo);
    if (!stored?.due) return { kind: 'not_due' };
    if (stored.sweepRequeues >= maxRequeues) {
      // Out of the index as a settled order is, and marked for an operator.
      stored.due = false;
      delete stored.order.nextCheckAt;
      stored.checksExhaustedAt = at;
      return { kind: 'exhausted', requeues: stored.sweepRequeues };
    }
    stored.order.nextCheckAt = nextCheckAt;
    stored.sweepRequeues += 1;
    return { kind: 'requeued', requeues: stored.sweepRequeues };
  }

  async renewPrepay(outTradeNo: string, prepay: Prepay, at: string, watchAgainAt?: string): Promise<TransitionResult> {
    const stored = this.orders.get(outTradeNo);
    if (!stored) return { kind: 'not_found' };
    if (!AWAITING_PAYMENT.includes(stored.order.status)) return { kind: 'conflict', order: readOrder(stored) };
    stored.order.prepay = copy(prepay);
    stored.order.updatedAt = at;
    if (watchAgainAt !== undefined) {
      // Back in the index, counting from zero, no longer marked.
      stored.due = true;
      stored.order.nextCheckAt = watchAgainAt;
      stored.sweepRequeues = 0;
      delete stored.checksExhaustedAt;
    }
    return { kind: 'applied', order: readOrder(stored) };
  }

  async recordNotification(record: NotificationRecord): Promise<void> {
    // The DynamoDB store computes an expiry for every kept notification and refuses an unreadable instant.
    refuseUnreadableInstant(record.receivedAt);
    const partition = record.outTradeNo ?? UNMATCHED;
    const items = this.notifications.get(partition) ?? new Map<string, NotificationRecord>();
    // Same key as the DynamoDB item (the body's hash): a duplicate body is kept once, the first one.
    if (!items.has(record.bodySha256)) items.set(record.bodySha256, copy(record));
    this.notifications.set(partition, items);
  }

  async recordUnverified(record: UnverifiedNotification): Promise<void> {
    refuseUnreadableInstant(record.receivedAt);
    this.unverified.push(copy(record));
  }

  async recordLatePayment(outTradeNo: string, payment: LatePayment): Promise<TransitionResult> {
    const stored = this.orders.get(outTradeNo);
    if (!stored) return { kind: 'not_found' };
    if (stored.order.status !== 'CLOSED') return { kind: 'conflict', order: readOrder(stored) };
    if (stored.order.latePayment) return { kind: 'already', order: readOrder(stored) };
    stored.order.latePayment = copy(payment);
    return { kind: 'applied', order: readOrder(stored) };
  }

  async listNotifications(outTradeNo: string): Promise<NotificationRecord[]> {
    const records = [
      ...(this.orders.get(outTradeNo)?.appliedNotifications ?? []),
      ...(this.notifications.get(outTradeNo)?.values() ?? []),
    ].map(copy);
    return records.sort((a, b) => a.receivedAt.localeCompare(b.receivedAt) || a.id.localeCompare(b.id));
  }

  /**
   * Not part of the port: the verified notifications kept apart from every order (naming no order of
   * ours), which the DynamoDB store keeps under their own partition and no port method lists.
   */
  unmatchedNotifications(): NotificationRecord[] {
    return [...(this.notifications.get(UNMATCHED)?.values() ?? [])].map(copy);
  }

  /** Not part of the port: the traces kept of unverified notifications, in the order they came. */
  unverifiedNotifications(): UnverifiedNotification[] {
    return this.unverified.map(copy);
  }

  /**
   * Not part of the port: the order as the in-memory refund store reads it, and a way to set its refund
   * counters. That store checks and moves them in the same synchronous step as it writes the refund, as
   * the DynamoDB stores do in one transaction; undefined for an unknown order.
   */
  refundAccount(outTradeNo: string): { order: Order; setTotals(totals: RefundTotals): void } | undefined {
    const stored = this.orders.get(outTradeNo);
    if (!stored) return undefined;
    return {
      order: readOrder(stored),
      setTotals: (totals) => {
        stored.order.refunds = copy(totals);
      },
    };
  }

  async findDue(now: string, limit: number): Promise<DueOrder[]> {
    const due: DueOrder[] = [];
    for (const [outTradeNo, { order, due: inIndex }] of this.orders) {
      // The index holds an order only when it has both keys: dueKey and nextCheckAt.
      if (inIndex && order.nextCheckAt !== undefined && order.nextCheckAt <= now) {
        due.push({ outTradeNo, nextCheckAt: order.nextCheckAt });
      }
    }
    // The index's order: nextCheckAt as a string (ISO instants sort as time).
    return due
      .sort((a, b) => compare(a.nextCheckAt, b.nextCheckAt) || compare(a.outTradeNo, b.outTradeNo))
      .slice(0, limit);
  }
}

function refuseUnreadableInstant(receivedAt: string): void {
  if (Number.isNaN(Date.parse(receivedAt))) {
    throw new ValidationError(`receivedAt is not an ISO 8601 instant: ${receivedAt}`, 'receivedAt');
  }
}

/**
 * The order as read back: a copy, with each history entry's `from` filled in from the entry before it
 * (a transition appends its entry without one), `null` for the first.
 */
function readOrder(stored: StoredOrder): Order {
  const order = copy(stored.order);
  // The store's bookkeeping of the checks, shown on the order as the DynamoDB store reads it back.
  if (stored.sweepRequeues > 0) order.requeues = stored.sweepRequeues;
  if (stored.checksExhaustedAt !== undefined) order.checksExhaustedAt = stored.checksExhaustedAt;
  let previous: OrderStatus | null = null;
  const history = order.history.map((entry): HistoryEntry => {
    const complete = { ...entry, from: entry.from === undefined ? previous : entry.from };
    previous = entry.to;
    return complete;
  });
  return { ...order, history };
}

/** A JSON copy: drops undefined members at any depth, as the DynamoDB store does before writing. */
function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
