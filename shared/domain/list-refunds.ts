import { NotFoundError } from './errors';
import type { OrderStore } from './ports';
import type { Refund } from './refund';
import type { RefundStore } from './refund-ports';

export interface ListRefundsDeps {
  orders: OrderStore;
  refunds: RefundStore;
}

/** Every refund of an order, oldest first; an order we do not know is not an empty list. */
export class ListRefunds {
  constructor(private readonly deps: ListRefundsDeps) {}

  async execute(outTradeNo: string): Promise<Refund[]> {
    const { orders, refunds } = this.deps;
    const [order, list] = await Promise.all([orders.get(outTradeNo), refunds.listRefunds(outTradeNo)]);
    if (order === undefined) throw new NotFoundError(`no order with out_trade_no ${outTradeNo}`);
    return list;
  }
}
