/**
 * The custom metrics the handlers emit and the CDK stack alarms on, in one place so an alarm cannot
 * watch a name nobody emits. The namespace is also the default of POWERTOOLS_METRICS_NAMESPACE: the
 * CDK stack sets that variable from here, the local stack leaves it to the default.
 */

/** CloudWatch namespace of the custom metrics (Powertools EMF). */
export const METRICS_NAMESPACE = 'WechatPayBackend';

/**
 * WeChat's own (verified) report refused: foreign merchant, amount mismatch, missing payment facts,
 * unknown order. Only WeChat's key can produce one, so each is a real event worth a look.
 */
export const METRIC_REJECTED_NOTIFICATIONS = 'RejectedNotifications';
/** WeChat said ORDERPAID while an expired order was being closed; the payment was kept. */
export const METRIC_PAID_AT_EXPIRY = 'PaidAtExpiryRace';
/** WeChat reported a payment for an order CLOSED here: money to refund (README, runbook). */
export const METRIC_LATE_PAYMENTS = 'LatePayments';
/** A notification not proven WeChat's (bad or no signature, unreadable, too large): anyone can send one. */
export const METRIC_UNVERIFIED_NOTIFICATIONS = 'UnverifiedNotifications';
/** A notification that could not be stored, so WeChat was asked to send it again. */
export const METRIC_NOTIFICATIONS_NOT_STORED = 'NotificationsNotStored';
/** The sweep gave up re-enqueueing an order whose check never completes; it needs an operator. */
export const METRIC_CHECKS_EXHAUSTED = 'ChecksExhausted';
/**
 * WeChat reported a refund ABNORMAL (退款异常: the payer's bank card closed or frozen): the money is
 * stuck until the merchant acts on WeChat's merchant platform, so each one pages.
 */
export const METRIC_ABNORMAL_REFUNDS = 'AbnormalRefunds';
/**
 * WeChat's own (verified) refund report refused: another merchant, an amount or order that does not
 * match the stored refund, an unknown refund. A v2 one decrypted with our API key, so it is WeChat's
 * or the key has leaked: either way worth a look.
 */
export const METRIC_REJECTED_REFUND_NOTIFICATIONS = 'RejectedRefundNotifications';

/**
 * Events recorded by the events function (one per status change the backend is told of). A count to
 * watch, not an alarm: a stalled stream shows in its IteratorAge, which the stack alarms on.
 */
export const METRIC_EVENTS_RECORDED = 'EventsRecorded';
/**
 * Failed webhook attempts (non-2xx, no answer in 5 s, connection refused or dropped), one per attempt.
 * Not alarmed: a merchant's receiver being down for a while is what the retries are for; an event whose
 * retries are used up lands in the webhook dead-letter queue, which is alarmed.
 */
export const METRIC_WEBHOOK_DELIVERY_FAILURES = 'WebhookDeliveryFailures';

/**
 * Discrepancies one bill reconciliation found (all of them, also those beyond the report's first
 * thousand), emitted by every run that produced a report, 0 included: each one is money WeChat and
 * this backend disagree about (the report says which, `GET /reconciliations/{bill_date}`).
 */
export const METRIC_BILL_DISCREPANCIES = 'BillDiscrepancies';
/**
 * A reconciliation found WeChat still generating the day's bill (Bill Creating / STATEMENT_CREATING).
 * Not alarmed: the schedule asks again an hour later, twice; a day that never becomes ready shows as no
 * report for it.
 */
export const METRIC_BILL_NOT_READY = 'BillNotReady';

/**
 * The alarm on METRIC_BILL_DISCREPANCIES: at the first one. It watches the bills function's series
 * alone, so it belongs to the bill reconciler's construct (infra/cdk/bill-reconciler.ts), not to
 * CUSTOM_METRIC_ALARMS, which the stack alarms on summed over every function.
 */
export const BILL_DISCREPANCIES_ALARM: CustomMetricAlarm = {
  metricName: METRIC_BILL_DISCREPANCIES,
  threshold: 1,
  description:
    "WeChat's trade bill and this backend disagree about a day's payments or refunds: read the day's " +
    'report (GET /reconciliations/{bill_date}); a repaired NOT_PAID_HERE is already PAID here',
};

/** Metrics the handlers emit without an alarm of their own (see each one for why). */
export const UNALARMED_METRIC_NAMES: readonly string[] = [
  METRIC_EVENTS_RECORDED,
  METRIC_WEBHOOK_DELIVERY_FAILURES,
  METRIC_BILL_NOT_READY,
];

/**
 * Unverified notifications in five minutes that raise the alarm. Anyone on the internet can post to
 * the notify URL, so a few probes are normal and must not page anyone (nor hold the alarm in ALARM and
 * hide the next one); a sustained flood does. 300 in five minutes is one a second on average, above any
 * scanner's background and far below what costs money (see README, "Notifications under flood").
 */
export const UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD = 300;

/** One alarm per custom metric: it fires when the metric's sum over five minutes reaches `threshold`. */
export interface CustomMetricAlarm {
  readonly metricName: string;
  readonly threshold: number;
  readonly description: string;
}

/**
 * Every alarmed custom metric, with its alarm: the stack builds one alarm per entry. The handlers'
 * other metrics are in UNALARMED_METRIC_NAMES.
 */
export const CUSTOM_METRIC_ALARMS: readonly CustomMetricAlarm[] = [
  {
    metricName: METRIC_REJECTED_NOTIFICATIONS,
    threshold: 1,
    description:
      'WeChat reported a trade we refused (foreign merchant, amount mismatch, missing payment facts, unknown order)',
  },
  {
    metricName: METRIC_PAID_AT_EXPIRY,
    threshold: 1,
    description: 'An order was paid while it was being closed on expiry; check that the payment was kept',
  },
  {
    metricName: METRIC_LATE_PAYMENTS,
    threshold: 1,
    description: 'WeChat took a payment for an order closed here: refund it (README, "A payment on a closed order")',
  },
  {
    metricName: METRIC_NOTIFICATIONS_NOT_STORED,
    threshold: 1,
    description: 'A notification could not be stored (WeChat will resend it): check the table and its throttling',
  },
  {
    metricName: METRIC_CHECKS_EXHAUSTED,
    threshold: 1,
    description:
      'The checks of an open order kept failing or running out of time and were given up on: find it by ' +
      'checksExhaustedAt (checks_exhausted_at in the order view; README, "The due index and the sweep")',
  },
  {
    metricName: METRIC_ABNORMAL_REFUNDS,
    threshold: 1,
    description:
      'A refund is ABNORMAL (the payer’s account cannot take it): give another account or refund offline ' +
      "on WeChat Pay's merchant platform; the reconciler keeps checking until WeChat says SUCCESS or CLOSED",
  },
  {
    metricName: METRIC_REJECTED_REFUND_NOTIFICATIONS,
    threshold: 1,
    description:
      'WeChat reported a refund we refused (foreign merchant, amount or order mismatch, unknown refund); ' +
      'for v2 a decryptable req_info we cannot match may also mean the API key has leaked',
  },
  {
    metricName: METRIC_UNVERIFIED_NOTIFICATIONS,
    threshold: UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD,
    description:
      `At least ${UNVERIFIED_NOTIFICATIONS_ALARM_THRESHOLD} notifications in 5 minutes were not proven ` +
      "WeChat's: a flood of the public notify URL, or a key WeChat no longer matches",
  },
];

/** Every alarmed custom metric the handlers emit (count 1 per event); the stack alarms on each. */
export const CUSTOM_METRIC_NAMES: readonly string[] = CUSTOM_METRIC_ALARMS.map((alarm) => alarm.metricName);
