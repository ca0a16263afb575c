import type * as z from 'zod';

import type { Settings } from '../config/settings';
import type { ClientParams, Order } from '../domain/order';
import { paidAtRfc3339 } from '../domain/payment-time';
import type { orderResponseSchema } from './response-schemas';

/** What orderView answers: typed by the document's schema, so a field that drifts from it fails the build. */
export type OrderView = z.input<typeof orderResponseSchema>;

/** The order's `client`: what WeChat's cashier needs by trade type. */
export type ClientView = NonNullable<OrderView['client']>;

/** The refund summary of a PAID order (fen). */
export type RefundSummary = NonNullable<OrderView['refund']>;

/** How this deployment shows an order besides its facts. */
export interface OrderViewOptions {
  /**
   * SANDBOX_CASHIER_BASE_URL: locally, the simulator's cashier pages (ending with `/`), which the
   * order's `sandbox_cashier_url` then links to. Unset in AWS, where there is no such page.
   */
  sandboxCashierBaseUrl?: string;
}

/** How this deployment shows an order, in answers and in events alike (locally: the cashier link). */
export function orderViewOptionsOf(settings: Pick<Settings, 'SANDBOX_CASHIER_BASE_URL'>): OrderViewOptions {
  const base = settings.SANDBOX_CASHIER_BASE_URL;
  return base === undefined ? {} : { sandboxCashierBaseUrl: base };
}

/** The public JSON shape of an order (the contract in README.md, "The API"): WeChat APIv3 field names, snake_case. */
export function orderView(order: Order, options: OrderViewOptions = {}): OrderView {
  const { request, prepay, payment } = order;
  return {
    out_trade_no: order.outTradeNo,
    status: order.status,
    trade_type: request.tradeType,
    description: request.description,
    amount: { total: request.amount.total, currency: request.amount.currency },
    prepay_id: prepay?.prepayId ?? null,
    expires_at: request.expiresAt,
    client: prepay === undefined ? null : clientView(prepay.client),
    ...(prepay !== undefined && options.sandboxCashierBaseUrl !== undefined
      ? { sandbox_cashier_url: `${options.sandboxCashierBaseUrl}${encodeURIComponent(order.outTradeNo)}` }
      : {}),
    created_at: order.createdAt,
    updated_at: order.updatedAt,
    ...(payment
      ? {
          payment: {
            transaction_id: payment.transactionId,
            amount: { total: payment.amountTotal, currency: payment.currency },
            paid_at: paidAtRfc3339(payment.paidAt),
            bank_type: payment.bankType ?? null,
            payer: { openid: payment.payerOpenid ?? null },
          },
        }
      : {}),
    ...(order.latePayment
      ? {
          // WeChat took this payment after the order was closed here: it is to be refunded, not fulfilled.
          late_payment: {
            transaction_id: order.latePayment.transactionId,
            amount: { total: order.latePayment.amountTotal, currency: order.latePayment.currency },
            paid_at: paidAtRfc3339(order.latePayment.paidAt),
            received_at: order.latePayment.receivedAt,
          },
        }
      : {}),
    ...(order.status === 'PAID' ? { refund: refundSummary(order) } : {}),
    ...(order.reason ? { reason: order.reason } : {}),
    // Nobody asks WeChat about this order any more (its checks kept failing): an operator settles it.
    ...(order.checksExhaustedAt ? { checks_exhausted_at: order.checksExhaustedAt } : {}),
  };
}

/** What the payer's device needs for WeChat's cashier, exactly as WeChat Pay's adapter built (and signed) it. */
function clientView(client: ClientParams): ClientView {
  // The domain keeps the client as the strings the adapter built for the trade type; their shape by
  // trade type is the adapter's (test/e2e/openapi-responses holds real ones to the document).
  return client as ClientView;
}

/**
 * What was given back of a PAID order and what is left (fen): refunded = SUCCESS refunds; pending =
 * PROCESSING and ABNORMAL ones, which may still succeed, so they are not refundable again.
 */
export function refundSummary(order: Order): RefundSummary {
  const paid = order.payment?.amountTotal ?? order.request.amount.total;
  const refunded = order.refunds?.refunded ?? 0;
  const pending = order.refunds?.pending ?? 0;
  return { refunded, pending, refundable: Math.max(paid - refunded - pending, 0) };
}
