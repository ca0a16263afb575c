import { describe, expect, it } from 'vitest';

import { reconciliationView } from '#shared/app/reconciliation-view';
import { reconciliationReport } from '#test/helpers/reconciliation-fixtures';

const REPORT = reconciliationReport();

describe('reconciliationView: the contract’s JSON of a day', () => {
  it('is snake_case throughout, amounts in fen, optional fields only when the report has them', () => {
    expect(reconciliationView(REPORT)).toEqual({
      bill_date: '2030-01-01',
      status: 'DISCREPANCIES',
      counts: { wechat: 3, here: 3, matched: 1, discrepancies: 2 },
      discrepancies: [
        {
          kind: 'NOT_PAID_HERE',
          out_trade_no: 'T1',
          wechat: { status: 'SUCCESS', amount: 1999, transaction_id: '4200000000000000000000000001' },
          here: { status: 'PENDING', amount: 1999 },
          repaired: true,
        },
        {
          kind: 'REFUND_MISMATCH',
          out_trade_no: 'T2',
          out_refund_no: 'R2',
          wechat: {
            status: 'SUCCESS',
            amount: 300,
            transaction_id: '4200000000000000000000000002',
            refund_id: '50000000000000000000000000002',
          },
          here: { status: 'PROCESSING', amount: 300 },
        },
      ],
      bill_found: true,
      api_version: 'v3',
      reconciled_at: '2030-01-02T02:30:07.123Z',
    });
  });

  it('reconciled_at is RFC 3339 (UTC) whatever ISO 8601 form the instant was stored in', () => {
    const view = reconciliationView({ ...REPORT, reconciledAt: '2030-01-02T10:30:07+08:00' });
    expect(view.reconciled_at).toBe('2030-01-02T02:30:07.000Z');
    expect(view.reconciled_at).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
  });

  it('a discrepancy missing at WeChat has no wechat side; a report beyond its cap keeps the full count', () => {
    const view = reconciliationView({
      ...REPORT,
      counts: { ...REPORT.counts, discrepancies: 1_500 },
      discrepancies: [{ kind: 'MISSING_AT_WECHAT', outTradeNo: 'T3', here: { status: 'PAID', amount: 1 } }],
    });
    expect(view.discrepancies).toEqual([
      { kind: 'MISSING_AT_WECHAT', out_trade_no: 'T3', here: { status: 'PAID', amount: 1 } },
    ]);
    expect(view.counts).toMatchObject({ discrepancies: 1_500 });
  });
});
