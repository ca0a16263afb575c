/**
 * The custom metrics the handlers emit and the CDK stack alarms on, in one place so an alarm cannot
 * watch a name nobody emits. The namespace is also the default of POWERTOOLS_METRICS_NAMESPACE: the
 * CDK stack sets that variable from here, the local stack leaves it to the default.
 */

/** CloudWatch namespace of the custom metrics (Powertools EMF). */
export const METRICS_NAMESPACE = 'WechatPayBackend';

/** A notification or query answer refused: forged, foreign merchant, amount mismatch, unknown order. */
export const METRIC_REJECTED_NOTIFICATIONS = 'RejectedNotifications';
/** WeChat said ORDERPAID while an expired order was being closed; the payment was kept. */
export const METRIC_PAID_AT_EXPIRY = 'PaidAtExpiryRace';
/** The sweep gave up re-enqueueing an order whose check never completes; it needs an operator. */
export const METRIC_CHECKS_EXHAUSTED = 'ChecksExhausted';

/** Every custom metric the handlers emit (count 1 per event); the stack alarms on each. */
export const CUSTOM_METRIC_NAMES = [
  METRIC_REJECTED_NOTIFICATIONS,
  METRIC_PAID_AT_EXPIRY,
  METRIC_CHECKS_EXHAUSTED,
] as const;
