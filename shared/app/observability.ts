import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';

import type { PaymentObserver } from '../domain/payment-observer';
import type { Settings } from '../config/settings';
import {
  METRIC_ABNORMAL_REFUNDS,
  METRIC_CHECKS_EXHAUSTED,
  METRIC_LATE_PAYMENTS,
  METRIC_PAID_AT_EXPIRY,
  METRIC_REJECTED_NOTIFICATIONS,
  METRIC_REJECTED_REFUND_NOTIFICATIONS,
  METRIC_UNVERIFIED_NOTIFICATIONS,
} from '../config/metric-names';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  observer: PaymentObserver;
}

export function createObservability(settings: Settings): Observability {
  const logger = new Logger({
    serviceName: settings.POWERTOOLS_SERVICE_NAME,
    logLevel: settings.LOG_LEVEL,
  });
  const metrics = new Metrics({
    namespace: settings.POWERTOOLS_METRICS_NAMESPACE,
    serviceName: settings.POWERTOOLS_SERVICE_NAME,
  });
  const observer: PaymentObserver = {
    rejected(reason, detail) {
      logger.warn('WeChat report rejected', { reason, ...detail });
      metrics.addMetric(METRIC_REJECTED_NOTIFICATIONS, MetricUnit.Count, 1);
    },
    unverified(reason, detail) {
      // Counted always; logged only when its traces are kept, so a flood cannot flood the logs either.
      if (detail.recorded) logger.info('unverified notification refused', { reason, ...detail });
      metrics.addMetric(METRIC_UNVERIFIED_NOTIFICATIONS, MetricUnit.Count, 1);
    },
    latePayment(outTradeNo, detail) {
      logger.error('payment reported for a closed order; kept on the order, to be refunded', {
        outTradeNo,
        ...detail,
      });
      metrics.addMetric(METRIC_LATE_PAYMENTS, MetricUnit.Count, 1);
    },
    paidAtExpiry(outTradeNo) {
      logger.warn('order paid while it was being closed at expiry; kept as paid', { outTradeNo });
      metrics.addMetric(METRIC_PAID_AT_EXPIRY, MetricUnit.Count, 1);
    },
    recovered(what, { outTradeNo, error }) {
      logger.warn(what, { outTradeNo, error: error instanceof Error ? error.message : String(error) });
    },
    checksExhausted(outTradeNo, { requeues }) {
      logger.error('checks of an open order never complete; given up on (checksExhaustedAt)', {
        outTradeNo,
        requeues,
      });
      metrics.addMetric(METRIC_CHECKS_EXHAUSTED, MetricUnit.Count, 1);
    },
    refundAbnormal(outTradeNo, outRefundNo) {
      logger.error('refund ABNORMAL: the payer’s account cannot take it; act on WeChat Pay’s merchant platform', {
        outTradeNo,
        outRefundNo,
      });
      metrics.addMetric(METRIC_ABNORMAL_REFUNDS, MetricUnit.Count, 1);
    },
    refundRejected(reason, detail) {
      logger.warn('WeChat refund report rejected', { reason, ...detail });
      metrics.addMetric(METRIC_REJECTED_REFUND_NOTIFICATIONS, MetricUnit.Count, 1);
    },
  };
  return { logger, metrics, observer };
}
