/**
 * How the webhook queue feeds the webhooks Lambda, shared by the CDK stack (the FIFO queue's redrive
 * policy, the SQS event source), the local stack (its queues and poller) and the handler (the retry
 * schedule's bounds), so an event is retried and dead-lettered the same way on this machine as in AWS.
 */

/**
 * Seconds to wait after each failed delivery (1st, 2nd, …); once they are used up the next failure
 * sends the event to the dead-letter queue. About 27 hours in all: a receiver down for a day still
 * gets every event, and each wait fits SQS's visibility maximum.
 */
export const DEFAULT_WEBHOOK_RETRY_SCHEDULE = '5,300,1800,7200,18000,36000,36000';

/** A receiver that has not answered in this long has failed the attempt (Standard Webhooks' usual bound). */
export const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * The longest wait the schedule may hold: a retry is a change of the message's visibility, and SQS
 * refuses a visibility timeout over 12 hours.
 */
export const WEBHOOK_MAX_DELAY_SECONDS = 43_200;

/**
 * Messages handed to one webhooks invocation: one. A FIFO group is locked while any message received
 * from it is in flight, so with one message per receive a later event of an order is never received
 * while an earlier one waits for its retry. With more, the later ones would be received, skipped and
 * held for the queue's whole visibility timeout (delaying the earlier one's retry as long), and each
 * skip would count as a receive towards the dead-letter queue. So every receive is a real attempt, and
 * maxReceiveCount counts attempts. The Lambda's timeout must exceed this many WEBHOOK_TIMEOUT_MS.
 */
export const WEBHOOK_BATCH_SIZE = 1;

/**
 * Receives before the queue moves an event to the dead-letter queue: the first attempt and one per
 * wait of the schedule. The last attempt fails with visibility 0, so the very next receive, one over
 * the count, is the redrive.
 */
export function webhookMaxReceiveCount(schedule: readonly number[]): number {
  return schedule.length + 1;
}
