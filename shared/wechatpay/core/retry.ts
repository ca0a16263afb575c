import { DEADLINE_EXCEEDED } from './deadline';
import { WechatPayError } from './errors';

/**
 * Bounded retries with exponential, jittered backoff, so that many Lambdas retrying one outage do
 * not reach WeChat in step. The wait before retry n (1 = the first) is drawn below a ceiling of
 * min(capMs, firstMs · 2^(n-1)): anywhere in [0, ceiling) with full jitter, in [ceiling/2, ceiling]
 * with equal jitter.
 */
export interface Backoff {
  firstMs: number;
  capMs: number;
  jitter: 'full' | 'equal';
}

export function backoffDelay(retry: number, backoff: Backoff, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.capMs, backoff.firstMs * 2 ** (retry - 1));
  const least = backoff.jitter === 'equal' ? ceiling / 2 : 0;
  return Math.floor(least + random() * (ceiling - least));
}

export function waitMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Only a WechatPayError that says so is worth another attempt. */
export function isRetryable(error: unknown): boolean {
  return error instanceof WechatPayError && error.retryable;
}

export interface RetryOptions {
  maxAttempts: number;
  backoff: Backoff;
  sleep?: (ms: number) => Promise<void>;
  isRetryable?: (error: unknown) => boolean;
  random?: () => number;
  /** Whether an attempt could still start after waiting this long (the caller's deadline); default yes. */
  timeForAnother?: (waitMs: number) => boolean;
}

/**
 * Runs `attempt` until it succeeds, fails for good, `maxAttempts` runs have failed, or no further
 * attempt could start in time (then the last failure is thrown as it was).
 */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const retryable = options.isRetryable ?? isRetryable;
  const sleep = options.sleep ?? waitMs;
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (error) {
      if (n >= options.maxAttempts || !retryable(error) || isDeadlineError(error)) throw error;
      const wait = backoffDelay(n, options.backoff, options.random);
      if (options.timeForAnother !== undefined && !options.timeForAnother(wait)) throw error;
      await sleep(wait);
    }
  }
}

/** The deadline has come: no attempt after it could start in time. */
function isDeadlineError(error: unknown): boolean {
  return error instanceof WechatPayError && error.code === DEADLINE_EXCEEDED;
}
