import { ConflictError, isWechatRefusal } from './errors';
import type { Order, Prepay } from './order';
import type { PaymentObserver } from './payment-observer';
import { completeRequest, fingerprint, type NewPayment } from './payment-request';
import type { CheckScheduler, Clock, OrderStore, PaymentProvider, PrepayResult } from './ports';
import { nextCheckAt, watchBound } from './reconcile-schedule';
import { orderOf, type TradeReports } from './trade-reports';

export interface CreatePaymentDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  provider: PaymentProvider;
  clock: Clock;
  reports: TradeReports;
  observer: PaymentObserver;
  /** Where WeChat sends notifications for the payments created here. */
  notifyUrl: string;
  /** How long a prepay_id lives at WeChat (two hours); also the expiry of an order without one. */
  prepayTtlSeconds: number;
  reconcileSchedule: readonly number[];
}

/** WeChat refuses an expiry less than a minute ahead, so a last-minute renewal would only fail. */
const MIN_RENEWAL_LEAD_MS = 60_000;

/**
 * Checks the request against WeChat's rules, stores the order, asks WeChat for a prepay, stores that,
 * and schedules the first check.
 * The same out_trade_no with the same content answers the stored payment (or resumes a creation that
 * failed half-way, or renews a prepay that lapsed); with other content it is a conflict.
 */
export class CreatePayment {
  constructor(private readonly deps: CreatePaymentDeps) {}

  async execute(input: NewPayment): Promise<Order> {
    const { store, provider, clock, prepayTtlSeconds, notifyUrl } = this.deps;
    const now = clock.now();
    const request = completeRequest(input, now, prepayTtlSeconds);
    const requestHash = fingerprint({ ...input, outTradeNo: request.outTradeNo });
    // Before the order is stored: a request WeChat's rules refuse must not use up its out_trade_no.
    provider.validate(request, notifyUrl);
    const at = now.toISOString();
    const created = await store.create({
      outTradeNo: request.outTradeNo,
      status: 'CREATED',
      request,
      requestHash,
      createdAt: at,
      updatedAt: at,
      history: [{ at, from: null, to: 'CREATED', source: 'api' }],
    });
    const order = created.order;
    if (created.kind === 'exists') {
      if (order.requestHash !== requestHash) {
        throw new ConflictError(
          'OUT_TRADE_NO_USED',
          `out_trade_no ${order.outTradeNo} was already used for a different payment`,
        );
      }
      if (order.status !== 'CREATED') return this.prepayLapsed(order, now) ? this.renewPrepay(order, now) : order;
    }

    const prepay = await provider.prepay(order.request, notifyUrl);
    const first = this.firstCheck(order, clock.now());
    const result = await store.transition({
      outTradeNo: order.outTradeNo,
      to: 'PENDING',
      at: clock.now().toISOString(),
      source: 'api',
      prepay: this.prepayOf(prepay, now),
      nextCheckAt: first.bound,
    });
    const stored = orderOf(result, order.outTradeNo);
    if (result.kind === 'applied') await this.scheduleFirstCheck(order.outTradeNo, first);
    return stored;
  }

  /**
   * The first check, and the watch bound the order is written with: the checks that follow write
   * nothing until one is due past it (see Reconciler), so the due index's entry is written once here.
   */
  private firstCheck(order: Order, now: Date): { dueAt: string; bound: string } {
    const { reconcileSchedule } = this.deps;
    const { expiresAt } = order.request;
    const dueAt = nextCheckAt(reconcileSchedule, 0, now, expiresAt);
    return { dueAt, bound: watchBound(reconcileSchedule, 0, dueAt, now, expiresAt) };
  }

  private async scheduleFirstCheck(outTradeNo: string, first: { dueAt: string; bound: string }): Promise<void> {
    try {
      await this.deps.scheduler.schedule({ outTradeNo, attempt: 0, dueAt: first.dueAt, bound: first.bound });
    } catch (error) {
      // The sweep looks for an order only once its watch bound has passed, hours away: moved to the
      // check's due time, the order is re-enqueued by the sweep's first run after the grace. Should that
      // write fail too, the sweep still finds the order at its bound. The payment itself is fine.
      await this.deps.store.extendWatch(outTradeNo, first.bound, first.dueAt).catch((cause: unknown) => {
        this.deps.observer.recovered('bound not brought forward; the sweep finds the order at its bound', {
          outTradeNo,
          error: cause,
        });
      });
      this.deps.observer.recovered('check not scheduled; the sweep will re-enqueue it', { outTradeNo, error });
    }
  }

  /** A payer opens the cashier only with a live prepay_id; WeChat gives a fresh one when asked again. */
  private prepayLapsed(order: Order, now: Date): boolean {
    const awaitingPayment = order.status === 'PENDING' || order.status === 'FAILED';
    return (
      awaitingPayment &&
      order.prepay !== undefined &&
      Date.parse(order.prepay.validUntil) <= now.getTime() &&
      Date.parse(order.request.expiresAt) - now.getTime() >= MIN_RENEWAL_LEAD_MS
    );
  }

  private async renewPrepay(order: Order, now: Date): Promise<Order> {
    const { provider, store, clock, reports, notifyUrl } = this.deps;
    let prepay: PrepayResult;
    try {
      prepay = await provider.prepay(order.request, notifyUrl);
    } catch (err) {
      // Paid or closed at WeChat since: the caller needs WeChat's word, not a new prepay.
      if (isWechatRefusal(err, 'ORDERPAID', 'ORDERCLOSED')) {
        const outcome = await reports.apply(await provider.query(order.outTradeNo), 'api', { known: order });
        return outcome.order ?? order;
      }
      throw err;
    }
    // The same prepay_id back means WeChat's own two hours are not over: it lives as long as it did.
    if (prepay.prepayId === order.prepay?.prepayId) return order;
    // An order whose checks were given up on is out of the due index: with a payer able to pay again,
    // nothing would ever notice a payment whose notification is lost. The renewal starts its checks
    // afresh. Any other order's chain of checks goes on as it was.
    const watchAgain = order.checksExhaustedAt === undefined ? undefined : this.firstCheck(order, clock.now());
    const renewed = await store.renewPrepay(
      order.outTradeNo,
      this.prepayOf(prepay, now),
      clock.now().toISOString(),
      watchAgain?.bound,
    );
    if (watchAgain !== undefined && renewed.kind === 'applied') {
      await this.scheduleFirstCheck(order.outTradeNo, watchAgain);
    }
    return orderOf(renewed, order.outTradeNo);
  }

  private prepayOf(prepay: PrepayResult, now: Date): Prepay {
    return {
      prepayId: prepay.prepayId,
      client: prepay.client,
      validUntil: new Date(now.getTime() + this.deps.prepayTtlSeconds * 1000).toISOString(),
    };
  }
}
