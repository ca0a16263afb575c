import type { FloodSampler } from './flood-sampler';
import {
  keepUnusable,
  notificationReceipt,
  UnverifiedTraces,
  UNUSABLE_NOTIFICATION,
  type UnusableOutcome,
  type UnverifiedOutcome,
} from './notification-receipts';
import type { PaymentObserver } from './payment-observer';
import type { Clock, NotificationRecord, OrderStore, RawNotification, UnverifiedReason } from './ports';
import type { RefundNotificationCodec } from './refund-ports';
import type { RefundApplyOutcome, RefundRejectionReason, RefundReports } from './refund-reports';

export interface ReceiveRefundNotificationDeps {
  /** Where notifications are kept (refused ones, and those that change nothing) and unverified traces. */
  orders: OrderStore;
  clock: Clock;
  reports: RefundReports;
  observer: PaymentObserver;
  /** Unique per receipt. */
  newId: () => string;
  /** Which unverified notifications are recorded; by default a per-instance FloodSampler. */
  sampler?: FloodSampler;
}

/**
 * What the endpoint answers: ok only once the notification and its effect are durably stored.
 * - unverified: not proven WeChat's (for v2: req_info our key does not decrypt).
 * - refused: WeChat's words that do not match the stored refund (or name none of ours); nothing changed.
 * - unusable: WeChat's words that could not be read as a refund report.
 */
export type RefundNotificationOutcome =
  | { ok: true; outcome: RefundApplyOutcome }
  | UnverifiedOutcome
  | { ok: false; refusal: 'refused'; reason: RefundRejectionReason; outTradeNo: string; outRefundNo: string }
  | UnusableOutcome;

/**
 * POST /notify/refund, as ReceiveNotification does for payments: verifies, records, then applies, and
 * answers ok only after the notification is stored with the change it causes. A v2 refund
 * notification carries no signature: that its req_info decrypts under our key, and that every field
 * of it matches the stored refund (RefundReports), is all the proof there is; anything else changes
 * nothing. Only a verified body is ever stored; of anything else, only traces.
 */
export class ReceiveRefundNotification {
  private readonly unverified: UnverifiedTraces;

  constructor(private readonly deps: ReceiveRefundNotificationDeps) {
    this.unverified = new UnverifiedTraces({ ...deps, store: deps.orders });
  }

  async execute(codec: RefundNotificationCodec, raw: RawNotification): Promise<RefundNotificationOutcome> {
    const { orders, reports } = this.deps;
    const verified = await codec.verify(raw);
    if (verified.kind === 'rejected') {
      return this.unverified.refuse(codec.apiVersion, raw, verified.code, {
        detail: verified.reason,
        claimedOutTradeNo: verified.outTradeNo,
      });
    }
    if (verified.kind === 'unusable') {
      return keepUnusable({ ...this.deps, store: this.deps.orders }, codec, raw, verified, (named) =>
        this.deps.observer.refundRejected(UNUSABLE_NOTIFICATION, {
          ...(named === undefined ? {} : { outTradeNo: named }),
          source: 'notify',
        }),
      );
    }
    const report = verified.report;
    const record: NotificationRecord = {
      ...notificationReceipt(this.deps, codec, raw),
      outTradeNo: report.outTradeNo,
      outcome: 'accepted',
    };
    const outcome = await reports.apply(report, 'notify', record);
    if (outcome.kind === 'rejected') {
      // Under its order when the order is ours, else apart, so a later order with that number starts clean.
      const ours = outcome.refund !== undefined || (await orders.get(report.outTradeNo)) !== undefined;
      await orders.recordNotification({
        ...record,
        outTradeNo: ours ? report.outTradeNo : undefined,
        outcome: 'rejected',
        reason: `${outcome.reason} (out_trade_no ${report.outTradeNo}, out_refund_no ${report.outRefundNo})`,
      });
      return {
        ok: false,
        refusal: 'refused',
        reason: outcome.reason,
        outTradeNo: report.outTradeNo,
        outRefundNo: report.outRefundNo,
      };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await orders.recordNotification(record);
    return { ok: true, outcome };
  }

  /**
   * A notification refused before any codec read it (the endpoint's size cap): counted and traced as
   * any unverified one.
   */
  async refuseUnread(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
  ): Promise<RefundNotificationOutcome> {
    return this.unverified.refuse(apiVersion, raw, reason, {});
  }
}
