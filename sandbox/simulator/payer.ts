import type { Clock } from './clock';
import type { NotificationScheduler } from './notification-scheduler';
import type { StateStore } from './state-store';
import type { PayOutcome, PayerResult, Trades } from './trades';

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

  pay(outTradeNo: string, result: PayerResult, openid?: string): PayOutcome {
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
}
