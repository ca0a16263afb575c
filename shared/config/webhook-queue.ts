/**
 * How the webhook queue feeds the webhooks Lambda, shared by the CDK stack (the FIFO queue's redrive
 * policy, the SQS event source), the local stack (its queues and poller) and the handler (the retry
 * schedule's bounds), so an event is retried and dead-lettered the same way on this machine as in AWS.
 */

import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '../webhooks/deliver';

/**
 * Seconds to wait after each failed delivery (1st, 2nd, …); once they are used up the next failure
 * sends the event to the dead-letter queue. About 27 hours in all: a receiver down for a day still
 * gets every event, and each wait fits within WEBHOOK_MAX_DELAY_SECONDS.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5,300,1800,7200,18000,36000,36000';

/**
 * Messages handed to one webhooks invocation: one. A FIFO group is locked while any message received
 * from it is in flight, so with one message per receive a later event of an order is never received
 * while an earlier one waits for its retry. With more, the later ones would be received, skipped and
 * held for the queue's whole visibility timeout (delaying the earlier one's retry as long), and each
 * skip would count as a receive towards the dead-letter queue. So every receive is a real attempt, and
 * maxReceiveCount counts attempts.
 */
export const WEBHOOK_BATCH_SIZE = 1;

/**
 * The webhooks Lambda's timeout: its batch's attempts one after the other (each bounded by the
 * webhooks library's DEFAULT_WEBHOOK_TIMEOUT_MS), plus the secret's read at a cold start. The CDK
 * stack deploys it, the local stack enforces it.
 */
export const WEBHOOKS_FUNCTION_TIMEOUT_SECONDS = (WEBHOOK_BATCH_SIZE * DEFAULT_WEBHOOK_TIMEOUT_MS) / 1000 + 10;

/**
 * The webhook queue's visibility timeout: six times the consumer's timeout (AWS's advice for Lambda
 * event sources, as for the reconcile queue). A receive that ends without an attempt (a throttled
 * invocation) still counts towards the schedule, so the message must not come back while Lambda
 * retries the invocation.
 */
export const WEBHOOK_QUEUE_VISIBILITY_SECONDS = 6 * WEBHOOKS_FUNCTION_TIMEOUT_SECONDS;

/**
 * SQS's longest visibility, 12 hours counted from the receive, not from a ChangeMessageVisibility call
 * (shared/adapters/sqs-message-visibility.ts checks every change against it).
 */
export const SQS_MAX_VISIBILITY_SECONDS = 43_200;

/** Slack beyond the function's run between the receive and the visibility change (hand-over, clocks). */
const VISIBILITY_MARGIN_SECONDS = 60;

/**
 * The longest wait the schedule may hold: derived from SQS's limit, not the limit itself. A retry is a
 * change of the message's visibility, made up to a function timeout after the receive, and SQS refuses
 * one that would end more than 12 hours after the receive; so the timeout and a margin come off.
 */
export const WEBHOOK_MAX_DELAY_SECONDS =
  SQS_MAX_VISIBILITY_SECONDS - WEBHOOKS_FUNCTION_TIMEOUT_SECONDS - VISIBILITY_MARGIN_SECONDS;

/** How long the webhook queue (and its dead-letter queue) keep a message: SQS's maximum. */
export const WEBHOOK_QUEUE_RETENTION_DAYS = 14;

/**
 * The whole schedule's bound. An event waits behind a failing earlier event of the same order (FIFO
 * group) for that one's whole schedule: at most half the retention in all, so the next one still has
 * its own whole schedule before SQS would drop it.
 */
export const MAX_WEBHOOK_RETRY_TOTAL_SECONDS = (WEBHOOK_QUEUE_RETENTION_DAYS / 2) * 24 * 3600;

/**
 * Receives before the queue moves an event to the dead-letter queue: the first attempt and one per
 * wait of the schedule. The last attempt fails with visibility 0, so the very next receive, one over
 * the count, is the redrive.
 */
export function webhookMaxReceiveCount(schedule: readonly number[]): number {
  return schedule.length + 1;
}
