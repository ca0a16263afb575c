import type * as z from 'zod';

import type { Refund } from '../domain/refund';
import type { refundResponseSchema } from './response-schemas';

/** What refundView answers: typed by the document's schema, so a field that drifts from it fails the build. */
export type RefundView = z.input<typeof refundResponseSchema>;

/**
 * The public JSON shape of a refund (../shared/product.md, "Refunds (contract)"): WeChat APIv3's
 * field names, snake_case; the optional fields are left out until WeChat has given them.
 */
export function refundView(refund: Refund): RefundView {
  return {
    out_refund_no: refund.outRefundNo,
    out_trade_no: refund.outTradeNo,
    status: refund.status,
    amount: { refund: refund.amount.refund, total: refund.amount.total, currency: refund.amount.currency },
    ...(refund.refundId === undefined ? {} : { refund_id: refund.refundId }),
    ...(refund.reason === undefined ? {} : { reason: refund.reason }),
    created_at: refund.createdAt,
    updated_at: refund.updatedAt,
    ...(refund.successTime === undefined ? {} : { success_time: refund.successTime }),
  };
}
