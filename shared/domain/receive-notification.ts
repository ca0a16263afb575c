import type { PaymentObserver } from './payment-observer';
import type { Clock, NotificationCodec, NotificationRecord, OrderStore, RawNotification } from './ports';
import type { ApplyOutcome, TradeReports } from './trade-reports';

export interface ReceiveNotificationDeps {
  store: OrderStore;
  clock: Clock;
  reports: TradeReports;
  observer: PaymentObserver;
  /** Unique per receipt, so that duplicates are each kept. */
  newId: () => string;
}

/** What the endpoint answers: ok only once the notification and its effect are durably stored. */
export type NotificationOutcome =
  { ok: true; outcome: ApplyOutcome } | { ok: false; reason: string; outTradeNo?: string };

/** Verifies, records, then applies a notification: nothing is acknowledged before it is stored. */
export class ReceiveNotification {
  constructor(private readonly deps: ReceiveNotificationDeps) {}

  async execute(codec: NotificationCodec, raw: RawNotification): Promise<NotificationOutcome> {
    const { store, clock, observer, reports } = this.deps;
    const verified = await codec.verify(raw);
    const record = {
      id: this.deps.newId(),
      receivedAt: clock.now().toISOString(),
      apiVersion: codec.apiVersion,
      body: raw.body,
      headers: codec.auditHeaders(raw),
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
    // A failed payment moves nothing: the payer may still pay, and the reconciler asks WeChat.
    const options = report.state === 'PAYERROR' ? { moveNothing: true } : { notification: accepted };
    const outcome = await reports.apply(report, 'notify', options);
    if (outcome.kind === 'rejected') {
      // Kept apart from real orders when the order is unknown, so a later order with that number starts clean.
      const outTradeNo = outcome.reason === 'UNKNOWN_ORDER' ? undefined : report.outTradeNo;
      const reason = `${outcome.reason} (out_trade_no ${report.outTradeNo})`;
      await store.recordNotification({ ...record, outTradeNo, outcome: 'rejected', reason });
      return { ok: false, reason: outcome.reason, outTradeNo: report.outTradeNo };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await store.recordNotification(accepted);
    return { ok: true, outcome };
  }
}
