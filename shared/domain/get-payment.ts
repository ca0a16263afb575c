import { NotFoundError } from './errors';
import { canStillChange } from './lifecycle';
import type { Order } from './order';
import type { OrderStore, PaymentProvider } from './ports';
import type { TradeReports } from './trade-reports';

export interface GetPaymentDeps {
  store: OrderStore;
  provider: PaymentProvider;
  reports: TradeReports;
}

/** The stored order; with `sync`, WeChat is asked first while the order can still change. */
export class GetPayment {
  constructor(private readonly deps: GetPaymentDeps) {}

  async execute(outTradeNo: string, options: { sync?: boolean } = {}): Promise<Order> {
    const { store, provider, reports } = this.deps;
    const order = await store.get(outTradeNo);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${outTradeNo}`);
    if (!options.sync || !canStillChange(order.status)) return order;
    const outcome = await reports.apply(await provider.query(outTradeNo), 'query', { known: order });
    return outcome.order ?? order;
  }
}
