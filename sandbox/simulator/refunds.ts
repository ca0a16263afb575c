import type { Clock, TimerHandle } from './clock';
import { newRefundId } from './ids';
import type { NotificationScheduler } from './notification-scheduler';
import type { ProtocolInfo, SimOrder } from './order-model';
import { isFinalRefund } from './refund-model';
import type { RefundEvent, SimRefund } from './refund-model';
import type { StateStore } from './state-store';
import { REFUND_WINDOW_MS } from './time-rules';
import type { TimeRules } from './time-rules';

/**
 * WeChat's refund rules and lifecycle, independent of how the request was encoded:
 *
 *   apply → PROCESSING ─60 s (scaled) or control→ SUCCESS | CLOSED | ABNORMAL
 *   ABNORMAL ─control (the merchant dealt with it on the platform)→ SUCCESS | CLOSED
 *
 * Every outcome is notified (to the refund's notify_url, if it has one) in the refund request's
 * protocol. The money rule: PROCESSING + SUCCESS + ABNORMAL refunds never exceed what was paid.
 */

/** WeChat's limit of partial refunds per order. */
export const MAX_REFUNDS_PER_ORDER = 50;

export interface RefundApplication {
  /** Which order: WeChat prefers transaction_id when both are sent. */
  order: { transactionId: string } | { outTradeNo: string };
  outRefundNo: string;
  totalFee: number;
  refundFee: number;
  reason?: string;
  notifyUrl?: string;
  protocol: ProtocolInfo;
}

export type ApplyOutcome =
  | { kind: 'created'; refund: SimRefund }
  /** The same out_refund_no and amounts again: the same refund, nothing new refunded. */
  | { kind: 'existing'; refund: SimRefund }
  /** No such order, or it is not paid. */
  | { kind: 'order_not_found' }
  /** The out_refund_no already names a refund of another order. */
  | { kind: 'other_order'; refund: SimRefund }
  /** The out_refund_no already names a refund of other amounts. */
  | { kind: 'amount_mismatch'; refund: SimRefund }
  /** total_fee is not what the order was paid. */
  | { kind: 'total_mismatch'; order: SimOrder }
  /** Paid more than a year ago. */
  | { kind: 'overdue'; order: SimOrder }
  | { kind: 'fully_refunded'; order: SimOrder }
  | { kind: 'too_many'; order: SimOrder }
  /** More than is left to refund (PROCESSING, SUCCESS and ABNORMAL refunds count). */
  | { kind: 'exceeds_refundable'; order: SimOrder; refundable: number };

export type CompleteOutcome =
  | { kind: 'done'; refund: SimRefund }
  | { kind: 'not_found' }
  /** SUCCESS and CLOSED are final; an ABNORMAL refund cannot become ABNORMAL again. */
  | { kind: 'not_changeable'; refund: SimRefund };

export interface RefundsDeps {
  store: StateStore;
  rules: TimeRules;
  clock: Clock;
  scheduler: NotificationScheduler;
  /** The merchant platform's refund notification URL, for requests that give none. */
  defaultNotifyUrl?: string;
  log: (line: string) => void;
}

export class Refunds {
  private readonly timers = new Map<string, TimerHandle>();
  private closed = false;

  constructor(private readonly deps: RefundsDeps) {}

  find(key: { outRefundNo: string } | { refundId: string }): SimRefund | undefined {
    return 'outRefundNo' in key
      ? this.deps.store.getRefund(key.outRefundNo)
      : this.deps.store.findRefundById(key.refundId);
  }

  /** The order's refunds, oldest first. */
  ofOrder(outTradeNo: string): SimRefund[] {
    return this.deps.store.refundsOf(outTradeNo);
  }

  apply(input: RefundApplication): ApplyOutcome {
    const { store, clock, rules } = this.deps;
    const order =
      'transactionId' in input.order
        ? store.findByTransactionId(input.order.transactionId)
        : store.getOrder(input.order.outTradeNo);
    if (order === undefined || order.state !== 'SUCCESS' || order.payment === undefined)
      return { kind: 'order_not_found' };
    const existing = store.getRefund(input.outRefundNo);
    if (existing !== undefined) {
      if (existing.outTradeNo !== order.outTradeNo) return { kind: 'other_order', refund: existing };
      if (existing.totalFee !== input.totalFee || existing.refundFee !== input.refundFee)
        return { kind: 'amount_mismatch', refund: existing };
      return { kind: 'existing', refund: existing };
    }
    if (input.totalFee !== order.totalFee) return { kind: 'total_mismatch', order };
    const now = clock.now();
    if (now - order.payment.paidAt > REFUND_WINDOW_MS) return { kind: 'overdue', order };
    const refunds = store.refundsOf(order.outTradeNo);
    const sum = (keep: (r: SimRefund) => boolean) => refunds.filter(keep).reduce((total, r) => total + r.refundFee, 0);
    if (sum((r) => r.status === 'SUCCESS') >= order.totalFee) return { kind: 'fully_refunded', order };
    if (refunds.length >= MAX_REFUNDS_PER_ORDER) return { kind: 'too_many', order };
    const committed = sum((r) => r.status !== 'CLOSED');
    if (committed + input.refundFee > order.totalFee)
      return { kind: 'exceeds_refundable', order, refundable: order.totalFee - committed };

    const refund: SimRefund = {
      outRefundNo: input.outRefundNo,
      refundId: this.uniqueRefundId(now),
      outTradeNo: order.outTradeNo,
      transactionId: order.payment.transactionId,
      protocol: input.protocol,
      totalFee: input.totalFee,
      refundFee: input.refundFee,
      reason: input.reason,
      notifyUrl: input.notifyUrl ?? this.deps.defaultNotifyUrl,
      status: 'PROCESSING',
      createdAt: now,
      completeAt: rules.refundCompletesAt(now),
      updatedAt: now,
    };
    store.putRefund(refund);
    this.journal(refund, 'request');
    this.arm(refund);
    return { kind: 'created', refund };
  }

  /** Finishes a refund now (the control API, or its completion time) and notifies the outcome. */
  complete(outRefundNo: string, result: RefundEvent, by: 'auto' | 'control'): CompleteOutcome {
    const { store, clock, scheduler } = this.deps;
    const current = store.getRefund(outRefundNo);
    if (current === undefined) return { kind: 'not_found' };
    if (isFinalRefund(current.status) || (current.status === 'ABNORMAL' && result === 'ABNORMAL'))
      return { kind: 'not_changeable', refund: current };
    this.disarm(outRefundNo);
    const now = clock.now();
    store.updateRefund(outRefundNo, (r) => ({
      ...r,
      status: result,
      completeAt: undefined,
      successAt: result === 'SUCCESS' ? now : undefined,
      updatedAt: now,
    }));
    const refund = store.getRefund(outRefundNo) as SimRefund;
    this.journal(refund, by);
    if (refund.notifyUrl !== undefined) scheduler.startRefund(outRefundNo, result);
    return { kind: 'done', refund: store.getRefund(outRefundNo) ?? refund };
  }

  /** Re-arms the completion of every PROCESSING refund, after a restart; overdue ones finish at once. */
  resumeAll(): number {
    let resumed = 0;
    for (const refund of this.deps.store.allRefunds()) {
      if (refund.status === 'PROCESSING' && refund.completeAt !== undefined) {
        this.arm(refund);
        resumed += 1;
      }
    }
    return resumed;
  }

  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) this.deps.clock.clearTimer(timer);
    this.timers.clear();
  }

  private arm(refund: SimRefund): void {
    if (this.closed || refund.completeAt === undefined) return;
    const { outRefundNo } = refund;
    this.disarm(outRefundNo);
    const timer = this.deps.clock.setTimer(() => {
      this.timers.delete(outRefundNo);
      const outcome = this.complete(outRefundNo, 'SUCCESS', 'auto');
      if (outcome.kind === 'done') this.deps.log(`refund ${outRefundNo}: SUCCESS`);
    }, refund.completeAt - this.deps.clock.now());
    this.timers.set(outRefundNo, timer);
  }

  private disarm(outRefundNo: string): void {
    const timer = this.timers.get(outRefundNo);
    if (timer === undefined) return;
    this.deps.clock.clearTimer(timer);
    this.timers.delete(outRefundNo);
  }

  private journal(refund: SimRefund, by: 'request' | 'auto' | 'control'): void {
    this.deps.store.appendJournal(refund.outTradeNo, {
      kind: 'refund',
      at: new Date(this.deps.clock.now()).toISOString(),
      outRefundNo: refund.outRefundNo,
      status: refund.status,
      by,
    });
  }

  private uniqueRefundId(now: number): string {
    for (;;) {
      const id = newRefundId(now);
      if (!this.deps.store.hasRefundId(id)) return id;
    }
  }
}
