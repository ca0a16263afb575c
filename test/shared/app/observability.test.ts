import { describe, expect, it, vi } from 'vitest';

import { createObservability } from '#shared/app/observability';
import {
  CUSTOM_METRIC_ALARMS,
  METRIC_ABNORMAL_REFUNDS,
  METRIC_REJECTED_REFUND_NOTIFICATIONS,
} from '#shared/config/metric-names';
import { loadSettings } from '#shared/config/settings';

function observed() {
  const observability = createObservability(loadSettings({ TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT' }));
  const added = vi.spyOn(observability.metrics, 'addMetric');
  const errors = vi.spyOn(observability.logger, 'error');
  const warnings = vi.spyOn(observability.logger, 'warn');
  return { observability, added, errors, warnings };
}

describe('refund observations', () => {
  it('an ABNORMAL refund is counted in AbnormalRefunds and logged as an error naming the refund', () => {
    const { observability, added, errors } = observed();
    observability.observer.refundAbnormal('T000123', 'R1');
    expect(added).toHaveBeenCalledWith(METRIC_ABNORMAL_REFUNDS, 'Count', 1);
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('ABNORMAL'), {
      outTradeNo: 'T000123',
      outRefundNo: 'R1',
    });
  });

  it('a rejected refund report is counted in RejectedRefundNotifications, logged with its reason and source', () => {
    const { observability, added, warnings } = observed();
    observability.observer.refundRejected('AMOUNT_MISMATCH', {
      outTradeNo: 'T000123',
      outRefundNo: 'R1',
      source: 'notify',
    });
    expect(added).toHaveBeenCalledWith(METRIC_REJECTED_REFUND_NOTIFICATIONS, 'Count', 1);
    expect(warnings).toHaveBeenCalledWith(expect.any(String), {
      reason: 'AMOUNT_MISMATCH',
      outTradeNo: 'T000123',
      outRefundNo: 'R1',
      source: 'notify',
    });
  });

  it('both metrics are alarmed at the first one', () => {
    for (const name of [METRIC_ABNORMAL_REFUNDS, METRIC_REJECTED_REFUND_NOTIFICATIONS]) {
      expect(CUSTOM_METRIC_ALARMS.find((alarm) => alarm.metricName === name)?.threshold).toBe(1);
    }
  });
});
