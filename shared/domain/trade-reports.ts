import { NotFoundError } from './errors';
import type { Order, OrderStatus, PaymentFacts, Source } from './order';
import type { PaymentObserver } from './payment-observer';
import type { Clock, Merchant, NotificationRecord, OrderStore, TradeReport, TransitionResult } from './ports';

/** Why a report from WeChat was not applied. */
export type RejectionReason = 'FOREIGN_MERCHANT' | 'UNKNOWN_ORDER' | 'AMOUNT_MISMATCH' | 'MISSING_PAYMENT';

/**
 * The result of applying what WeChat said about a trade.
 * - applied / already: the order is (now) in the state WeChat reported.
 * - unchanged: WeChat's answer moves nothing (NOTPAY, USERPAYING, unknown at WeChat, a failed notification).
 * - conflict: the order is settled in another state; kept as it is (a payment on a CLOSED order is
 *   kept on it as its latePayment).
 * - rejected: the report was refused (see RejectionReason); nothing changed.
 */
export type ApplyOutcome =
  | { kind: 'applied' | 'already' | 'unchanged' | 'conflict'; order: Order }
  | { kind: 'rejected'; reason: RejectionReason; order?: Order };

export interface ApplyOptions {
  /** The order as the caller just read it, which spares a read when nothing is to be written. */
  known?: Order;
  /** Stored by the same write as the change (only if it applies). */
  notification?: NotificationRecord;
  /** Check the report without applying it. */
  moveNothing?: boolean;
}

export interface TradeReportsDeps {
  store: OrderStore;
  clock: Clock;
  merchant: Merchant;
  observer: PaymentObserver;
}

/**
 * The one path by which WeChat's word (a query answer or a notification) changes an order: one
 * conditional write, refused unless the order is in a state the report may move it from and, for a
 * payment, asks for the amount paid.
 */
export class TradeReports {
  constructor(private readonly deps: TradeReportsDeps) {}

  async apply(report: TradeReport, source: Source, options: ApplyOptions = {}): Promise<ApplyOutcome> {
    const refused = this.refusal(report);
    if (refused !== undefined) return this.reject(refused, report, source);
    const target = options.moveNothing ? undefined : targetOf(report);
    if (target === undefined) return this.unchanged(report, source, options.known);
    const payment = target === 'PAID' ? report.payment : undefined;
    const result = await this.deps.store.transition({
      outTradeNo: report.outTradeNo,
      to: target,
      at: this.deps.clock.now().toISOString(),
      source,
      ...(payment ? { payment, expectAmount: { total: payment.amountTotal, currency: payment.currency } } : {}),
      ...(target === 'PAID' ? {} : { reason: report.description ?? report.state }),
      ...(options.notification ? { notification: options.notification } : {}),
    });
    if (result.kind === 'not_found') return this.reject('UNKNOWN_ORDER', report, source);
    if (result.kind === 'amount_mismatch') return this.reject('AMOUNT_MISMATCH', report, source, result.order);
    if (result.kind === 'conflict' && payment && result.order.status === 'CLOSED') {
      return this.latePayment(report.outTradeNo, payment, source, result.order);
    }
    return { kind: result.kind, order: result.order };
  }

  /**
   * WeChat took money for an order closed here: the payment is kept on the order (the first one
   * reported stays) and reported, for an operator to refund. The order stays CLOSED: we do not
   * fulfil an order after telling the merchant it was closed.
   */
  private async latePayment(outTradeNo: string, payment: PaymentFacts, source: Source, order: Order) {
    const kept = await this.deps.store.recordLatePayment(outTradeNo, {
      transactionId: payment.transactionId,
      amountTotal: payment.amountTotal,
      currency: payment.currency,
      paidAt: payment.paidAt,
      receivedAt: this.deps.clock.now().toISOString(),
      source,
    });
    this.deps.observer.latePayment(outTradeNo, {
      transactionId: payment.transactionId,
      amountTotal: payment.amountTotal,
      source,
    });
    return { kind: 'conflict' as const, order: kept.kind === 'not_found' ? order : kept.order };
  }

  /** What is wrong with a report on its face, before any order is read. */
  private refusal(report: TradeReport): RejectionReason | undefined {
    const { merchant } = this.deps;
    if (report.appid !== merchant.appid || report.mchid !== merchant.mchid) return 'FOREIGN_MERCHANT';
    if (report.state !== 'SUCCESS' && report.state !== 'REFUND') return undefined;
    if (report.payment === undefined) return 'MISSING_PAYMENT';
    // The order's own amount is checked by the write; here, that the report agrees with itself.
    const { amount, payment } = report;
    if (amount && (amount.total !== payment.amountTotal || amount.currency !== payment.currency)) {
      return 'AMOUNT_MISMATCH';
    }
    return undefined;
  }

  private reject(reason: RejectionReason, report: TradeReport, source: Source, order?: Order): ApplyOutcome {
    this.deps.observer.rejected(reason, { outTradeNo: report.outTradeNo, source });
    return order ? { kind: 'rejected', reason, order } : { kind: 'rejected', reason };
  }

  /** A report that moves nothing (NOTPAY, USERPAYING, a failed payment) must still name an order of ours. */
  private async unchanged(report: TradeReport, source: Source, known?: Order): Promise<ApplyOutcome> {
    const order = known?.outTradeNo === report.outTradeNo ? known : await this.deps.store.get(report.outTradeNo);
    return order ? { kind: 'unchanged', order } : this.reject('UNKNOWN_ORDER', report, source);
  }
}

function targetOf(report: TradeReport): OrderStatus | undefined {
  switch (report.state) {
    case 'SUCCESS':
    case 'REFUND':
      return 'PAID';
    case 'CLOSED':
    case 'REVOKED':
      return 'CLOSED';
    case 'PAYERROR':
      return 'FAILED';
    default:
      return undefined;
  }
}

/** The order a write left behind; a write that found no order means it vanished under us. */
export function orderOf(result: TransitionResult, outTradeNo: string): Order {
  if (result.kind === 'not_found') throw new NotFoundError(`order ${outTradeNo} disappeared`);
  return result.order;
}
