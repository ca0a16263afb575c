import type { Transport } from './client-options';
import { WechatPayError } from './errors';
import type { ExchangeOptions } from './http-exchange';

/**
 * A caller's deadline (say, a Lambda's remaining time less what it keeps for recording the outcome)
 * bounds every call: no attempt starts with less than `minAttemptMs` left, each attempt's timeout is
 * min(timeoutMs, time left), and no retry is waited for that could not start in time.
 */

/** The call could not get WeChat's answer before the caller's deadline: asking again later may. */
export const DEADLINE_EXCEEDED = 'DEADLINE_EXCEEDED';

export function deadlineError(what: string, cause?: unknown): WechatPayError {
  return new WechatPayError(DEADLINE_EXCEEDED, `${what}: no answer from WeChat Pay before the caller's deadline`, {
    retryable: true,
    kind: 'transport',
    cause,
  });
}

/** Milliseconds left before the deadline; Infinity without one. */
export function timeLeftMs(transport: Transport): number {
  const deadline = transport.deadline();
  return deadline === undefined ? Infinity : deadline - transport.now();
}

/**
 * How one attempt may exchange with WeChat: its timeout is min(`timeoutMs`, time left). Throws
 * DEADLINE_EXCEEDED, with nothing sent, when less than the transport's `minAttemptMs` is left.
 */
export function attemptOptions(transport: Transport, what: string, timeoutMs = transport.timeoutMs): ExchangeOptions {
  const left = timeLeftMs(transport);
  if (left < transport.minAttemptMs) throw deadlineError(what);
  return left < timeoutMs
    ? { fetch: transport.fetch, timeoutMs: Math.floor(left), cutByDeadline: true }
    : { fetch: transport.fetch, timeoutMs };
}

/** Whether an attempt could still start after waiting `waitMs`. */
export function timeForAnotherAttempt(transport: Transport, waitMs: number): boolean {
  return timeLeftMs(transport) - waitMs >= transport.minAttemptMs;
}
