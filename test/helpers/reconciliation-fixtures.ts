import type { ReconciliationReport } from '#shared/domain/bill-reconciliation';

/**
 * A stored day's report with one discrepancy of each side's shape: a payment repaired (NOT_PAID_HERE,
 * ids on WeChat's side only) and a refund still PROCESSING here that WeChat's bill calls SUCCESS
 * (REFUND_MISMATCH, with an out_refund_no and a refund_id). Tests override what they are about.
 */
export function reconciliationReport(overrides: Partial<ReconciliationReport> = {}): ReconciliationReport {
  return {
    billDate: '2030-01-01',
    status: 'DISCREPANCIES',
    counts: { wechat: 3, here: 3, matched: 1, discrepancies: 2 },
    discrepancies: [
      {
        kind: 'NOT_PAID_HERE',
        outTradeNo: 'T1',
        wechat: { status: 'SUCCESS', amount: 1999, transactionId: '4200000000000000000000000001' },
        here: { status: 'PENDING', amount: 1999 },
        repaired: true,
      },
      {
        kind: 'REFUND_MISMATCH',
        outTradeNo: 'T2',
        outRefundNo: 'R2',
        wechat: {
          status: 'SUCCESS',
          amount: 300,
          transactionId: '4200000000000000000000000002',
          refundId: '50000000000000000000000000002',
        },
        here: { status: 'PROCESSING', amount: 300 },
      },
    ],
    billFound: true,
    apiVersion: 'v3',
    reconciledAt: '2030-01-02T02:30:07.123Z',
    ...overrides,
  };
}
