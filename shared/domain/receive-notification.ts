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
import type {
  Clock,
  NotificationCodec,
  NotificationRecord,
  OrderStore,
  RawNotification,
  UnverifiedReason,
} from './ports';
import type { ApplyOutcome, RejectionReason, TradeReports } from './trade-reports';

export interface ReceiveNotificationDeps {
  store: OrderStore;
  clock: Clock;
  reports: TradeReports;
  observer: PaymentObserver;
  /** Unique per receipt. */
  newId: () => string;
  /** Which unverified notifications are recorded; by default a per-instance FloodSampler. */
  sampler?: FloodSampler;
}

/**
 * What the endpoint answers: ok only once the notification and its effect are durably stored.
 * - unverified: not proven WeChat's; `claimedOutTradeNo` is what the sender wrote, worth nothing.
 * - refused: WeChat's own words, refused by the domain (foreign merchant, amount, unknown order).
 * - unusable: WeChat's own words (the signature verified) that could not be read as a trade; kept
 *   and reported like a refused report, under the order it names when that order is ours.
 */
export type NotificationOutcome =
  | { ok: true; outcome: ApplyOutcome }
  | UnverifiedOutcome
  | { ok: false; refusal: 'refused'; reason: RejectionReason; outTradeNo: string }
  | UnusableOutcome;

/**
 * Verifies, records, then applies a notification: nothing is acknowledged before it is stored. Only
 * a verified body is ever stored: of anything else, only traces (hash, length, source, a reason code).
 */
export class ReceiveNotification {
  private readonly unverified: UnverifiedTraces;

  constructor(private readonly deps: ReceiveNotificationDeps) {
    this.unverified = new UnverifiedTraces(deps);
  }

  async execute(codec: NotificationCodec, raw: RawNotification): Promise<NotificationOutcome> {
    const { store, reports } = this.deps;
    const verified = await codec.verify(raw);
    if (verified.kind === 'rejected') {
      return this.unverified.refuse(codec.apiVersion, raw, verified.code, {
        detail: verified.reason,
        claimedOutTradeNo: verified.outTradeNo,
      });
    }
    if (verified.kind === 'unusable') {
      return keepUnusable(this.deps, codec, raw, verified, (named) =>
        this.deps.observer.rejected(UNUSABLE_NOTIFICATION, {
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
    // A failed payment moves nothing: the payer may still pay, and the reconciler asks WeChat.
    const options = report.state === 'PAYERROR' ? { moveNothing: true } : { notification: record };
    const outcome = await reports.apply(report, 'notify', options);
    if (outcome.kind === 'rejected') {
      // Kept apart from real orders when the order is unknown, so a later order with that number starts clean.
      const outTradeNo = outcome.reason === 'UNKNOWN_ORDER' ? undefined : report.outTradeNo;
      const reason = `${outcome.reason} (out_trade_no ${report.outTradeNo})`;
      await store.recordNotification({ ...record, outTradeNo, outcome: 'rejected', reason });
      return { ok: false, refusal: 'refused', reason: outcome.reason, outTradeNo: report.outTradeNo };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await store.recordNotification(record);
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
  ): Promise<NotificationOutcome> {
    return this.unverified.refuse(apiVersion, raw, reason, {});
  }
}
