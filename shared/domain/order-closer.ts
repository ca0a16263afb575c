import { isWechatRefusal } from './errors';
import type { Order, Source } from './order';
import type { PaymentObserver } from './payment-observer';
import type { Clock, OrderStore, PaymentProvider } from './ports';
import { orderOf, type TradeReports } from './trade-reports';

export interface OrderCloserDeps {
  store: OrderStore;
  provider: PaymentProvider;
  clock: Clock;
  reports: TradeReports;
  observer: PaymentObserver;
  /** WeChat refuses to close an order younger than this. */
  closeMinAgeSeconds: number;
}

/**
 * Closes unpaid orders at WeChat, then here: what the merchant's close and the reconciler's close
 * at expiry have in common. A late payment wins over the close.
 */
export class OrderCloser {
  constructor(private readonly deps: OrderCloserDeps) {}

  secondsUntilClosable(order: Order): number {
    const closableAt = Date.parse(order.createdAt) + this.deps.closeMinAgeSeconds * 1000;
    return Math.max(0, Math.ceil((closableAt - this.deps.clock.now().getTime()) / 1000));
  }

  /** The order afterwards: CLOSED, or PAID when WeChat says it was paid first (or still open, see below). */
  async closeAtWeChatAndHere(order: Order, source: Source): Promise<Order> {
    const { provider, reports, store, clock, observer } = this.deps;
    try {
      await provider.close(order.outTradeNo);
    } catch (err) {
      if (isWechatRefusal(err, 'ORDERPAID')) {
        // The query may not show the payment yet; then the order stays open and its checks go on.
        const outcome = await reports.apply(await provider.query(order.outTradeNo), source, { known: order });
        if (source !== 'close') observer.paidAtExpiry(order.outTradeNo);
        return outcome.order ?? order;
      }
      // Already closed at WeChat, or never reached it (prepay failed): closing here is right.
      if (!isWechatRefusal(err, 'ORDERCLOSED', 'ORDERNOTEXIST')) throw err;
    }
    const at = clock.now().toISOString();
    const result = await store.transition({
      outTradeNo: order.outTradeNo,
      to: 'CLOSED',
      at,
      source,
      reason: 'closed unpaid',
    });
    return orderOf(result, order.outTradeNo);
  }
}
