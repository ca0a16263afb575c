import { ConflictError, NotFoundError } from './errors';
import type { Order } from './order';
import type { PaymentObserver } from './payment-observer';
import { paidAtInstant } from './payment-time';
import type { Clock, OrderStore } from './ports';
import { intervalBefore } from './reconcile-schedule';
import { REFUND_WINDOW_DAYS, type Refund, type RefundRequest } from './refund';
import { refundCanStillChange } from './refund-lifecycle';
import type { RefundCheckScheduler, RefundCreateResult, RefundProvider, RefundStore } from './refund-ports';
import type { RefundReports } from './refund-reports';
import { checkRefundRequest, refundRequestHash } from './refund-request';
import { isWorthRetrying, RefundSubmitter, type SubmitResult } from './refund-submitter';

export interface CreateRefundDeps {
  orders: OrderStore;
  refunds: RefundStore;
  provider: RefundProvider;
  scheduler: RefundCheckScheduler;
  clock: Clock;
  reports: RefundReports;
  observer: PaymentObserver;
  /** Where WeChat sends refund notifications: the notify URL's /notify/refund. */
  refundNotifyUrl: string;
  /** Seconds between a refund's checks (REFUND_CHECK_SCHEDULE); the last repeats. */
  refundCheckSchedule: readonly number[];
}

const DAY_MS = 86_400_000;

/**
 * Gives money back from a paid order. The refund and its hold on the order's money are stored first
 * (one conditional write: the storage refuses what would refund more than was paid), its first check
 * is scheduled, and only then is WeChat asked, so a crash or a timeout at any point leaves a refund
 * that the reconciler finishes. The same out_refund_no with the same content answers the same refund
 * (sending it again when WeChat never took it); with other content it is a conflict.
 */
export class CreateRefund {
  private readonly submitter: RefundSubmitter;

  constructor(private readonly deps: CreateRefundDeps) {
    this.submitter = new RefundSubmitter(deps);
  }

  async execute(request: RefundRequest): Promise<{ refund: Refund; created: boolean }> {
    const { orders, refunds, clock } = this.deps;
    checkRefundRequest(request);
    const requestHash = refundRequestHash(request);
    const existing = await refunds.getRefund(request.outTradeNo, request.outRefundNo);
    if (existing) return this.again(existing, requestHash);

    const order = await orders.get(request.outTradeNo);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${request.outTradeNo}`);
    const payment = order.payment;
    if (order.status !== 'PAID' || payment === undefined) throw notPaid(order.outTradeNo);
    const now = clock.now();
    if (windowClosed(order, now)) {
      throw new ConflictError(
        'REFUND_WINDOW_CLOSED',
        `order ${order.outTradeNo} was paid more than ${REFUND_WINDOW_DAYS} days ago`,
      );
    }

    const at = now.toISOString();
    const dueAt = new Date(now.getTime() + intervalBefore(this.deps.refundCheckSchedule, 0) * 1000).toISOString();
    const result = await refunds.createRefund({
      outRefundNo: request.outRefundNo,
      outTradeNo: request.outTradeNo,
      status: 'PROCESSING',
      amount: { refund: request.refund, total: payment.amountTotal, currency: payment.currency },
      ...(request.reason === undefined ? {} : { reason: request.reason }),
      requestHash,
      transactionId: payment.transactionId,
      createdAt: at,
      updatedAt: at,
      // Stored with the refund, so the sweep finds it even if the check below is never queued.
      nextCheckAt: dueAt,
      history: [{ at, from: null, to: 'PROCESSING', source: 'api' }],
    });
    const refund = createdOrThrow(result, request);
    if (refund.created === false) return this.again(refund.refund, requestHash);

    // Scheduled before WeChat is called: a crash or timeout while sending is still reconciled.
    await this.scheduleFirstCheck(refund.refund, dueAt);
    const sent = await this.unlessWorthRetrying(refund.refund, () => this.submitter.submit(refund.refund, 'api'));
    if (sent.refusal) throw sent.refusal;
    return { refund: sent.refund, created: true };
  }

  /** The same out_refund_no again: a retry of the same refund, or a conflict. */
  private async again(existing: Refund, requestHash: string): Promise<{ refund: Refund; created: boolean }> {
    if (existing.requestHash !== requestHash) {
      throw new ConflictError(
        'OUT_REFUND_NO_USED',
        `out_refund_no ${existing.outRefundNo} was already used for a different refund`,
      );
    }
    if (existing.acceptedAt !== undefined || !refundCanStillChange(existing.status)) {
      return { refund: existing, created: false };
    }
    // WeChat's answer never came (a timeout, a retryable error): the same out_refund_no again.
    const resumed = await this.unlessWorthRetrying(existing, () => this.submitter.resume(existing, 'api'));
    if (resumed.refusal) throw resumed.refusal;
    return { refund: resumed.refund, created: false };
  }

  /**
   * Once the refund is stored, a failure that may pass (a timeout, a retryable code, the deadline) is
   * not the caller's: the refund stands, PROCESSING, and the reconciler finishes it. Thrown, it would
   * invite a retry, and a caller that let us generate out_refund_no would retry under a new one: a
   * second refund. Only WeChat's final refusal (the refund then CLOSED) reaches the caller.
   */
  private async unlessWorthRetrying(refund: Refund, send: () => Promise<SubmitResult>): Promise<SubmitResult> {
    try {
      return await send();
    } catch (error) {
      if (!isWorthRetrying(error)) throw error;
      this.deps.observer.recovered('refund sent without an answer; the reconciler finishes it', {
        outTradeNo: refund.outTradeNo,
        error,
      });
      return { refund };
    }
  }

  private async scheduleFirstCheck(refund: Refund, dueAt: string): Promise<void> {
    try {
      await this.deps.scheduler.scheduleRefund({
        outTradeNo: refund.outTradeNo,
        outRefundNo: refund.outRefundNo,
        attempt: 0,
        dueAt,
      });
    } catch (error) {
      // The refund carries nextCheckAt, so the sweep re-enqueues its check; the refund goes on.
      this.deps.observer.recovered('refund check not scheduled; the sweep will re-enqueue it', {
        outTradeNo: refund.outTradeNo,
        error,
      });
    }
  }
}

function notPaid(outTradeNo: string): ConflictError {
  return new ConflictError('ORDER_NOT_PAID', `order ${outTradeNo} is not paid`);
}

/**
 * The storage's verdict. `exists` is a concurrent twin that got there first (compared by hash by the
 * caller); the refusals are the invariant the write enforced.
 */
function createdOrThrow(
  result: RefundCreateResult,
  request: RefundRequest,
): { created: true; refund: Refund } | { created: false; refund: Refund } {
  switch (result.kind) {
    case 'created':
      return { created: true, refund: result.refund };
    case 'exists':
      return { created: false, refund: result.refund };
    case 'out_refund_no_used':
      throw new ConflictError(
        'OUT_REFUND_NO_USED',
        `out_refund_no ${request.outRefundNo} was already used for a refund of another order`,
      );
    case 'order_not_found':
      throw new NotFoundError(`no order with out_trade_no ${request.outTradeNo}`);
    case 'order_not_paid':
      throw notPaid(request.outTradeNo);
    case 'amount_exceeded':
      throw new ConflictError(
        'REFUND_AMOUNT_EXCEEDED',
        `refunding ${request.refund} fen would give back more than is left of order ${request.outTradeNo}`,
      );
    case 'too_many_refunds':
      throw new ConflictError('TOO_MANY_REFUNDS', `order ${request.outTradeNo} has had the most refunds WeChat allows`);
  }
}

/**
 * WeChat refunds nothing paid REFUND_WINDOW_DAYS or more ago, counted from its success time. When
 * WeChat's time cannot be read, the time we learnt of the payment stands in (later, so never closing
 * the window early: WeChat then has the last word).
 */
function windowClosed(order: Order, now: Date): boolean {
  const paidAt =
    (order.payment && paidAtInstant(order.payment.paidAt)) ??
    dateOf([...order.history].reverse().find((entry) => entry.to === 'PAID')?.at);
  if (paidAt === undefined) return false;
  return now.getTime() - paidAt.getTime() >= REFUND_WINDOW_DAYS * DAY_MS;
}

function dateOf(iso: string | undefined): Date | undefined {
  if (iso === undefined) return undefined;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}
