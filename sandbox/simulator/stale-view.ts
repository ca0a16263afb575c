import type { SimOrder } from './order-model';

/**
 * The order as a lagging query sees it (the "stale_query" fault): a payment that has happened is
 * not visible yet, so a paid order reads NOTPAY and has no transaction. Every other state is told
 * as it is. Close never uses this view: it always sees the truth.
 */
export function staleView(order: SimOrder): SimOrder {
  if (order.state !== 'SUCCESS') return order;
  return { ...order, state: 'NOTPAY', payment: undefined };
}
