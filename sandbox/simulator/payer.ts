import type { Clock } from './clock';
import type { NotificationScheduler } from './notification-scheduler';
import type { StateStore } from './state-store';
import type { PayOutcome, PayerResult, Trades } from './trades';

/** What the payer can do on the payment sheet: WeChat's results, or walk away (the APP SDK's errCode -2). */
export type PayerAction = PayerResult | 'CANCEL';

/**
 * Acts as the person holding the phone: pays, fails or starts paying, then lets WeChat's side
 * notify the merchant of a finished payment (success or failure) as WeChat would.
 */
export class Payer {
  constructor(
    private readonly trades: Trades,
    private readonly scheduler: NotificationScheduler,
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  pay(outTradeNo: string, result: PayerAction, openid?: string): PayOutcome {
    if (result === 'CANCEL') return this.cancel(outTradeNo);
    const outcome = this.trades.pay(outTradeNo, result, openid);
    if (outcome.kind === 'not_found') return outcome;
    this.store.appendJournal(outTradeNo, {
      kind: 'payer',
      at: new Date(this.clock.now()).toISOString(),
      result,
      outcome: outcome.kind === 'done' ? outcome.order.state : `refused: ${outcome.reason}`,
    });
    if (outcome.kind !== 'done' || result === 'USERPAYING') return outcome;
    this.scheduler.start(outTradeNo, result);
    // The job is part of the order; answer with the order as it now stands.
    return { kind: 'done', order: this.store.getOrder(outTradeNo) ?? outcome.order };
  }

  /**
   * The payer closes the payment sheet without paying: WeChat's side changes nothing and tells the
   * merchant nothing (only the merchant's app hears errCode -2), so the order stays as it was. Recorded
   * in the order's journal all the same, for whoever wonders why an order was never paid. A paid or
   * closed order has no payment sheet to close.
   */
  private cancel(outTradeNo: string): PayOutcome {
    const order = this.store.getOrder(outTradeNo);
    if (order === undefined) return { kind: 'not_found' };
    const refused = order.state === 'SUCCESS' ? 'ORDERPAID' : order.state === 'CLOSED' ? 'ORDERCLOSED' : undefined;
    this.store.appendJournal(outTradeNo, {
      kind: 'payer',
      at: new Date(this.clock.now()).toISOString(),
      result: 'CANCEL',
      outcome: refused === undefined ? `${order.state} (cancelled, nothing paid)` : `refused: ${refused}`,
    });
    return refused === undefined ? { kind: 'done', order } : { kind: 'not_payable', reason: refused, order };
  }
}
