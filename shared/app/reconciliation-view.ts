import type * as z from 'zod';

import type { Discrepancy, DiscrepancySide, ReconciliationReport } from '../domain/bill-reconciliation';
import type { reconciliationResponseSchema } from './response-schemas';

/** What reconciliationView answers: typed by the document's schema, so drift from it fails the build. */
export type ReconciliationView = z.input<typeof reconciliationResponseSchema>;
type DiscrepancyView = ReconciliationView['discrepancies'][number];
type DiscrepancySideView = NonNullable<DiscrepancyView['here']>;

/**
 * The public JSON shape of a day's reconciliation (../shared/product.md, "Bill reconciliation
 * (contract)"): snake_case, amounts in fen, the optional fields left out when the report has none.
 */
export function reconciliationView(report: ReconciliationReport): ReconciliationView {
  return {
    bill_date: report.billDate,
    status: report.status,
    counts: {
      wechat: report.counts.wechat,
      here: report.counts.here,
      matched: report.counts.matched,
      discrepancies: report.counts.discrepancies,
    },
    discrepancies: report.discrepancies.map(discrepancyView),
    bill_found: report.billFound,
    api_version: report.apiVersion,
    // Stored as an ISO 8601 instant; answered in the one form of it RFC 3339 callers all read.
    reconciled_at: new Date(report.reconciledAt).toISOString(),
  };
}

function discrepancyView(discrepancy: Discrepancy): DiscrepancyView {
  return {
    kind: discrepancy.kind,
    out_trade_no: discrepancy.outTradeNo,
    ...(discrepancy.outRefundNo === undefined ? {} : { out_refund_no: discrepancy.outRefundNo }),
    ...(discrepancy.wechat === undefined ? {} : { wechat: sideView(discrepancy.wechat) }),
    ...(discrepancy.here === undefined ? {} : { here: sideView(discrepancy.here) }),
    ...(discrepancy.repaired === true ? { repaired: true } : {}),
  };
}

function sideView(side: DiscrepancySide): DiscrepancySideView {
  return {
    status: side.status,
    amount: side.amount,
    ...(side.transactionId === undefined ? {} : { transaction_id: side.transactionId }),
    ...(side.refundId === undefined ? {} : { refund_id: side.refundId }),
  };
}
