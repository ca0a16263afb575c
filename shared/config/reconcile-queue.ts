/**
 * How the reconcile queue feeds its Lambda, shared by the CDK stack (the queue's redrive policy and
 * the SQS event source) and the local stack (its queues and poller), so a check is retried and
 * batched the same way on this machine as in AWS.
 */

/** Receives before a check goes to the dead-letter queue, where an alarm sees it. */
export const RECONCILE_MAX_RECEIVE_COUNT = 5;

/**
 * Checks handed to one reconcile invocation: Lambda's default and maximum for a standard queue
 * without a batching window. A failed check is retried alone (ReportBatchItemFailures).
 */
export const RECONCILE_BATCH_SIZE = 10;
