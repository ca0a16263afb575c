import { describe, expect, it } from 'vitest';

import {
  BILL_DISCREPANCIES_ALARM,
  CUSTOM_METRIC_NAMES,
  METRIC_BILL_DISCREPANCIES,
  METRIC_BILL_NOT_READY,
  UNALARMED_METRIC_NAMES,
} from '#shared/config/metric-names';

describe('bill reconciliation metrics', () => {
  it('are named as the alarm and the dashboards read them', () => {
    expect([METRIC_BILL_DISCREPANCIES, METRIC_BILL_NOT_READY]).toEqual(['BillDiscrepancies', 'BillNotReady']);
  });

  it('a discrepancy alarms at the first one, by the bill reconciler’s own alarm (not the stack-wide sums)', () => {
    expect(BILL_DISCREPANCIES_ALARM).toMatchObject({ metricName: METRIC_BILL_DISCREPANCIES, threshold: 1 });
    expect(CUSTOM_METRIC_NAMES).not.toContain(METRIC_BILL_DISCREPANCIES);
    expect(UNALARMED_METRIC_NAMES).not.toContain(METRIC_BILL_DISCREPANCIES);
  });

  it('a bill not ready is counted, not alarmed: the schedule asks again', () => {
    expect(UNALARMED_METRIC_NAMES).toContain(METRIC_BILL_NOT_READY);
    expect(CUSTOM_METRIC_NAMES).not.toContain(METRIC_BILL_NOT_READY);
  });
});
