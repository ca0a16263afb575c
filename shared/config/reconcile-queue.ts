/**
 * How the reconcile queue feeds its Lambda, shared by the CDK stack (the queue's redrive policy and
 * the SQS event source) and the local stack (its queues and poller), so a check is retried and
 * batched the same way on this machine as in AWS.
 */

/**
 * Receives before a check goes to the dead-letter queue, where an alarm sees it. Only a check's own
 * failures count: one that WeChat could not answer within the invocation's time is scheduled again
 * and acknowledged (shared/domain/reconciler.ts), and an invocation never times out as a whole
 * (shared/app/invocation-deadline.ts), so a slow check cannot use up the receives of the others.
 */
export const RECONCILE_MAX_RECEIVE_COUNT = 5;

/**
 * Checks handed to one reconcile invocation: Lambda's default and maximum for a standard queue
 * without a batching window. They run side by side, each bounded by the invocation's deadline, so a
 * batch takes as long as its slowest check and no longer than the Lambda's timeout less a second. A
 * failed check is retried alone (ReportBatchItemFailures).
 */
export const RECONCILE_BATCH_SIZE = 10;
