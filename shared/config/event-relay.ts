/**
 * How the table's stream feeds the events function, shared by the CDK stack (its event source mapping)
 * and the local stack (its stream poller), so a batch is the same size and bounded the same way here
 * as in AWS.
 */

/** Stream records per invocation: handled one at a time, in order, so a batch is a few seconds at most. */
export const EVENT_RELAY_BATCH_SIZE = 100;

/** A full batch is 100 records one after the other, each a few calls of tens of milliseconds. */
export const EVENTS_FUNCTION_TIMEOUT_SECONDS = 30;
