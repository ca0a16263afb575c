import { AsyncLocalStorage } from 'node:async_hooks';

import type { Context } from 'aws-lambda';

/**
 * Each invocation's end, from the Lambda context, for everything it calls: the WeChat Pay clients
 * read it at every attempt. Held per invocation (AsyncLocalStorage), since the local stack runs
 * concurrent invocations in one process.
 */
const invocationEnds = new AsyncLocalStorage<number>();

/**
 * Kept back from WeChat calls for what follows their answer (a DynamoDB write, an SQS send, the
 * reply): the calls of an invocation are over this long before it ends.
 */
export const RECORDING_MARGIN_MS = 3_000;

/** Runs `handle` as the invocation `context` describes, its end known to everything it calls. */
export function withInvocationDeadline<T>(
  context: Pick<Context, 'getRemainingTimeInMillis'>,
  handle: () => Promise<T>,
): Promise<T> {
  // A context without the clock (a hand-made one) runs without a deadline rather than failing.
  if (typeof context.getRemainingTimeInMillis !== 'function') return handle();
  return invocationEnds.run(Date.now() + context.getRemainingTimeInMillis(), handle);
}

/** When the current invocation ends (ms since the epoch); undefined outside one. */
export function invocationEnd(): number | undefined {
  return invocationEnds.getStore();
}

/** The deadline for the current invocation's WeChat calls: its end less RECORDING_MARGIN_MS. */
export function wechatCallDeadline(): number | undefined {
  const end = invocationEnd();
  return end === undefined ? undefined : end - RECORDING_MARGIN_MS;
}

/** Ends a piece of work that has not finished this long before the invocation ends. */
export const DECISION_MARGIN_MS = 1_000;

/**
 * `work`, or a rejection DECISION_MARGIN_MS before the invocation ends, whichever comes first: what
 * was not done by then is reported as not done, so the invocation itself never times out.
 */
export async function beforeInvocationEnds<T>(work: () => Promise<T>): Promise<T> {
  const end = invocationEnd();
  if (end === undefined) return work();
  let timer: NodeJS.Timeout | undefined;
  const cutOff = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('not finished before the invocation ends: left for the queue to redeliver')),
      Math.max(0, end - DECISION_MARGIN_MS - Date.now()),
    );
  });
  try {
    return await Promise.race([work(), cutOff]);
  } finally {
    clearTimeout(timer);
  }
}
