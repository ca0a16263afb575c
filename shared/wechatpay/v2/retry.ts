/**
 * Bounded retries with "full jitter" backoff: each wait is uniform in [0, min(cap, base·2^n)), so
 * many Lambdas retrying the same outage do not hit WeChat in step.
 */

export const RETRY_BASE_MS = 100;
export const RETRY_CAP_MS = 2_000;

export function fullJitterDelay(retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** retry);
  return Math.floor(random() * ceiling);
}

export interface RetryOptions {
  maxAttempts: number;
  sleep: (ms: number) => Promise<void>;
  isRetryable: (err: unknown) => boolean;
  random?: () => number;
}

/** Runs `attempt` until it succeeds, fails for good, or `maxAttempts` runs have failed. */
export async function withRetries<T>(attempt: (n: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let n = 1; ; n += 1) {
    try {
      return await attempt(n);
    } catch (err) {
      if (n >= options.maxAttempts || !options.isRetryable(err)) throw err;
      await options.sleep(fullJitterDelay(n - 1, options.random));
    }
  }
}
