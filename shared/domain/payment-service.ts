import { randomUUID } from 'node:crypto';

import { AppError, ConflictError, NotFoundError, ProviderError } from './errors';
import { canStillChange } from './lifecycle';
import type { Order, OrderStatus, Prepay } from './order';
import type { PaymentObserver } from './payment-observer';
import { completeRequest, fingerprint, type NewPayment } from './payment-request';
import type {
  CheckScheduler,
  Clock,
  Merchant,
  NotificationCodec,
  NotificationRecord,
  OrderStore,
  PaymentProvider,
  PrepayResult,
  RawNotification,
  TradeReport,
  TransitionResult,
} from './ports';
import { nextCheckAt } from './reconcile-schedule';

export interface PaymentPolicy {
  prepayTtlSeconds: number;
  closeMinAgeSeconds: number;
  reconcileSchedule: readonly number[];
}

export interface PaymentServiceDeps {
  store: OrderStore;
  scheduler: CheckScheduler;
  provider: PaymentProvider;
  clock: Clock;
  merchant: Merchant;
  /** Where WeChat sends notifications; only creating payments needs it. */
  notifyUrl: string | undefined;
  policy: PaymentPolicy;
  observer: PaymentObserver;
}

/** Why a report from WeChat was not applied. */
export type RejectionReason = 'FOREIGN_MERCHANT' | 'UNKNOWN_ORDER' | 'AMOUNT_MISMATCH' | 'MISSING_PAYMENT';

/**
 * The result of applying what WeChat said about a trade.
 * - applied / already: the order is (now) in the state WeChat reported.
 * - unchanged: WeChat's answer moves nothing (NOTPAY, USERPAYING, unknown at WeChat, a failed notification).
 * - conflict: the order is final in another state; kept as it is.
 * - rejected: the report was refused (see RejectionReason); nothing changed.
 */
export type ApplyOutcome =
  | { kind: 'applied' | 'already' | 'unchanged' | 'conflict'; order: Order }
  | { kind: 'rejected'; reason: RejectionReason; order?: Order };

export type NotificationOutcome =
  { ok: true; outcome: ApplyOutcome } | { ok: false; reason: string; outTradeNo?: string };

type Source = 'api' | 'notify' | 'query' | 'reconcile' | 'close';

const MIN_RENEWAL_LEAD_MS = 60_000;

export class PaymentService {
  constructor(private readonly deps: PaymentServiceDeps) {}

  /**
   * Stores the order, asks WeChat for a prepay, stores that, and schedules the first check.
   * The same out_trade_no with the same content answers the stored payment (or resumes a creation
   * that failed half-way, or renews a prepay that lapsed); with other content it is a conflict.
   */
  async create(input: NewPayment): Promise<Order> {
    const { store, provider, clock, policy } = this.deps;
    const now = clock.now();
    const request = completeRequest(input, now, policy.prepayTtlSeconds);
    const requestHash = fingerprint({ ...input, outTradeNo: request.outTradeNo });
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

    const prepay = await provider.prepay(order.request, this.notifyUrl());
    const dueAt = nextCheckAt(policy.reconcileSchedule, 0, clock.now(), order.request.expiresAt);
    const result = await store.transition({
      outTradeNo: order.outTradeNo,
      to: 'PENDING',
      at: clock.now().toISOString(),
      source: 'api',
      prepay: this.prepayOf(prepay, now),
      nextCheckAt: dueAt,
    });
    const stored = orderOf(result, order.outTradeNo);
    if (result.kind === 'applied') await this.scheduleCheck(order.outTradeNo, 0, dueAt);
    return stored;
  }

  /** The stored order; with `sync`, WeChat is asked first while the order can still change. */
  async get(outTradeNo: string, options: { sync?: boolean } = {}): Promise<Order> {
    const order = await this.deps.store.get(outTradeNo);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${outTradeNo}`);
    if (!options.sync || !canStillChange(order.status)) return order;
    const outcome = await this.applyReport(await this.deps.provider.query(outTradeNo), 'query', { known: order });
    return outcome.order ?? order;
  }

  /** Closes at WeChat, then here. Refused for paid orders and for orders younger than WeChat allows. */
  async close(outTradeNo: string): Promise<Order> {
    const order = await this.deps.store.get(outTradeNo);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${outTradeNo}`);
    if (order.status === 'CLOSED') return order;
    if (order.status === 'PAID') throw new ConflictError('ORDERPAID', 'the order is paid and cannot be closed');
    const waitSeconds = this.secondsUntilClosable(order);
    if (waitSeconds > 0) {
      throw new ConflictError(
        'TOO_EARLY',
        `WeChat allows closing an order 5 minutes after creation; try again in ${waitSeconds} s`,
      );
    }
    const closed = await this.closeAtWeChatAndHere(order, 'close');
    if (closed.status === 'CLOSED') return closed;
    // WeChat refused the close because the order is paid; its query may not show the payment yet,
    // and the order's pending checks will record it. Either way, the merchant must not treat it as closed.
    throw new ConflictError('ORDERPAID', 'the order was paid before it could be closed');
  }

  /** Verifies, records, then applies a notification: nothing is acknowledged before it is stored. */
  async receiveNotification(codec: NotificationCodec, raw: RawNotification): Promise<NotificationOutcome> {
    const { store, clock, observer } = this.deps;
    const verified = await codec.verify(raw);
    const record = {
      id: randomUUID(),
      receivedAt: clock.now().toISOString(),
      apiVersion: codec.apiVersion,
      body: raw.body,
      headers: signatureHeaders(raw.headers),
    };
    if (verified.kind === 'rejected') {
      // Unproven, so it is kept apart from the order it names: anyone can post one.
      const claimed = verified.outTradeNo === undefined ? '' : ` (claims out_trade_no ${verified.outTradeNo})`;
      await store.recordNotification({
        ...record,
        outTradeNo: undefined,
        outcome: 'rejected',
        reason: `${verified.reason}${claimed}`,
      });
      observer.rejected(verified.reason, { outTradeNo: verified.outTradeNo, source: 'notify' });
      return { ok: false, reason: verified.reason, outTradeNo: verified.outTradeNo };
    }
    const report = verified.report;
    const accepted: NotificationRecord = { ...record, outTradeNo: report.outTradeNo, outcome: 'accepted' };
    // A failed payment notification moves nothing: the payer may still pay, and the reconciler asks WeChat.
    const outcome = await this.applyReport(
      report,
      'notify',
      report.state === 'PAYERROR' ? { moveNothing: true } : { notification: accepted },
    );
    if (outcome.kind === 'rejected') {
      // Kept apart from real orders when the order is unknown, so a later order with that number starts clean.
      const outTradeNo = outcome.reason === 'UNKNOWN_ORDER' ? undefined : report.outTradeNo;
      await store.recordNotification({
        ...record,
        outTradeNo,
        outcome: 'rejected',
        reason: `${outcome.reason} (out_trade_no ${report.outTradeNo})`,
      });
      return { ok: false, reason: outcome.reason, outTradeNo: report.outTradeNo };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await store.recordNotification(accepted);
    return { ok: true, outcome };
  }

  /**
   * The one path by which WeChat's word (query answer or notification) changes an order: one
   * conditional write, refused unless the order is in a state the report may move it from and, for
   * a payment, asks for the amount paid. `known` is the order as the caller just read it, which
   * spares a read when nothing is to be written; `notification` is stored by the same write;
   * `moveNothing` checks the report without applying it.
   */
  async applyReport(
    report: TradeReport,
    source: Source,
    options: { known?: Order; notification?: NotificationRecord; moveNothing?: boolean } = {},
  ): Promise<ApplyOutcome> {
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
    if (result.kind === 'conflict' && target === 'PAID') {
      // WeChat took money for an order closed here: an operator must refund or reopen it.
      this.deps.observer.rejected('PAID_AFTER_FINAL', { outTradeNo: report.outTradeNo, source });
    }
    return { kind: result.kind, order: result.order };
  }

  /** Closes an unpaid order at WeChat, then marks it CLOSED; a late payment wins over the close. */
  async closeAtWeChatAndHere(order: Order, source: Source): Promise<Order> {
    try {
      await this.deps.provider.close(order.outTradeNo);
    } catch (err) {
      if (!(err instanceof ProviderError)) throw err;
      if (err.code === 'ORDERPAID') {
        const outcome = await this.applyReport(await this.deps.provider.query(order.outTradeNo), source, {
          known: order,
        });
        if (source !== 'close') this.deps.observer.paidAtExpiry(order.outTradeNo);
        return outcome.order ?? order;
      }
      // Already closed at WeChat, or never reached it (prepay failed): closing here is right.
      if (err.code !== 'ORDERCLOSED' && err.code !== 'ORDERNOTEXIST') throw err;
    }
    const at = this.deps.clock.now().toISOString();
    const result = await this.deps.store.transition({
      outTradeNo: order.outTradeNo,
      to: 'CLOSED',
      at,
      source,
      reason: 'closed unpaid',
    });
    return orderOf(result, order.outTradeNo);
  }

  secondsUntilClosable(order: Order): number {
    const closableAt = Date.parse(order.createdAt) + this.deps.policy.closeMinAgeSeconds * 1000;
    return Math.max(0, Math.ceil((closableAt - this.deps.clock.now().getTime()) / 1000));
  }

  async scheduleCheck(outTradeNo: string, attempt: number, dueAt: string): Promise<void> {
    try {
      await this.deps.scheduler.schedule({ outTradeNo, attempt, dueAt });
    } catch (error) {
      // The order already carries nextCheckAt, so the sweep re-enqueues it; the payment itself is fine.
      this.deps.observer.recovered('check not scheduled; the sweep will re-enqueue it', { outTradeNo, error });
    }
  }

  /** A payer opens the cashier only with a live prepay_id; WeChat gives a fresh one for the same order when asked again. */
  private prepayLapsed(order: Order, now: Date): boolean {
    const awaitingPayment = order.status === 'PENDING' || order.status === 'FAILED';
    return (
      awaitingPayment &&
      order.prepay !== undefined &&
      Date.parse(order.prepay.validUntil) <= now.getTime() &&
      // WeChat refuses an expiry less than a minute ahead, so a last-minute renewal would only fail.
      Date.parse(order.request.expiresAt) - now.getTime() >= MIN_RENEWAL_LEAD_MS
    );
  }

  private async renewPrepay(order: Order, now: Date): Promise<Order> {
    const { provider, store, clock } = this.deps;
    let prepay: PrepayResult;
    try {
      prepay = await provider.prepay(order.request, this.notifyUrl());
    } catch (err) {
      // Paid or closed at WeChat since: the caller needs WeChat's word, not a new prepay.
      if (err instanceof ProviderError && (err.code === 'ORDERPAID' || err.code === 'ORDERCLOSED')) {
        const outcome = await this.applyReport(await provider.query(order.outTradeNo), 'api', { known: order });
        return outcome.order ?? order;
      }
      throw err;
    }
    // The same prepay_id back means WeChat's own two hours are not over: it lives as long as it did.
    if (prepay.prepayId === order.prepay?.prepayId) return order;
    return orderOf(
      await store.renewPrepay(order.outTradeNo, this.prepayOf(prepay, now), clock.now().toISOString()),
      order.outTradeNo,
    );
  }

  private prepayOf(prepay: PrepayResult, now: Date): Prepay {
    return {
      prepayId: prepay.prepayId,
      client: prepay.client,
      validUntil: new Date(now.getTime() + this.deps.policy.prepayTtlSeconds * 1000).toISOString(),
    };
  }

  private notifyUrl(): string {
    if (this.deps.notifyUrl === undefined)
      throw new AppError('CONFIGURATION', 'NOTIFY_URL is required to create payments');
    return this.deps.notifyUrl;
  }

  /** What is wrong with a report on its face, before any order is read. */
  private refusal(report: TradeReport): RejectionReason | undefined {
    const { merchant } = this.deps;
    if (report.appid !== merchant.appid || report.mchid !== merchant.mchid) return 'FOREIGN_MERCHANT';
    if (report.state !== 'SUCCESS' && report.state !== 'REFUND') return undefined;
    if (report.payment === undefined) return 'MISSING_PAYMENT';
    // The order's own amount is checked by the write; here, that the report agrees with itself.
    const { amount, payment } = report;
    if (amount && (amount.total !== payment.amountTotal || amount.currency !== payment.currency))
      return 'AMOUNT_MISMATCH';
    return undefined;
  }

  private reject(reason: RejectionReason, report: TradeReport, source: Source, order?: Order): ApplyOutcome {
    this.deps.observer.rejected(reason, { outTradeNo: report.outTradeNo, source });
    return order ? { kind: 'rejected', reason, order } : { kind: 'rejected', reason };
  }

  /** A report that moves nothing (NOTPAY, USERPAYING, a failed-payment notification) must still name an order of ours. */
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

function orderOf(result: TransitionResult, outTradeNo: string): Order {
  if (result.kind === 'not_found') throw new NotFoundError(`order ${outTradeNo} disappeared`);
  return result.order;
}

const SIGNATURE_HEADERS = [
  'wechatpay-timestamp',
  'wechatpay-nonce',
  'wechatpay-signature',
  'wechatpay-serial',
  'content-type',
];

function signatureHeaders(headers: Record<string, string>): Record<string, string> | undefined {
  const kept = Object.fromEntries(
    SIGNATURE_HEADERS.filter((h) => headers[h] !== undefined).map((h) => [h, headers[h] as string]),
  );
  return Object.keys(kept).length > 0 ? kept : undefined;
}
