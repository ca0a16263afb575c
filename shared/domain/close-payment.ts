import { ConflictError, NotFoundError } from './errors';
import type { Order } from './order';
import type { OrderCloser } from './order-closer';
import type { OrderStore } from './ports';

export interface ClosePaymentDeps {
  store: OrderStore;
  closer: OrderCloser;
}

/** The merchant's close: refused for paid orders and for orders younger than WeChat allows. */
export class ClosePayment {
  constructor(private readonly deps: ClosePaymentDeps) {}

  async execute(outTradeNo: string): Promise<Order> {
    const { store, closer } = this.deps;
    const order = await store.get(outTradeNo);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${outTradeNo}`);
    if (order.status === 'CLOSED') return order;
    if (order.status === 'PAID') throw new ConflictError('ORDERPAID', 'the order is paid and cannot be closed');
    const waitSeconds = closer.secondsUntilClosable(order);
    if (waitSeconds > 0) {
      throw new ConflictError(
        'TOO_EARLY',
        `WeChat allows closing an order 5 minutes after creation; try again in ${waitSeconds} s`,
      );
    }
    const closed = await closer.closeAtWeChatAndHere(order, 'close');
    if (closed.status === 'CLOSED') return closed;
    // WeChat refused the close because the order is paid; its query may not show the payment yet, and
    // the order's pending checks will record it. Either way, the merchant must not treat it as closed.
    throw new ConflictError('ORDERPAID', 'the order was paid before it could be closed');
  }
}
