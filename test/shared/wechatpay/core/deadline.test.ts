import { describe, expect, it } from 'vitest';

import { transportOf } from '#shared/wechatpay/core/client-options';
import { attemptOptions, timeForAnotherAttempt } from '#shared/wechatpay/core/deadline';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { withRetries } from '#shared/wechatpay/core/retry';

/** A transport whose deadline is `leftMs` after a clock standing still at 1 000 000. */
function transportWith(leftMs: number | undefined, minAttemptMs?: number) {
  const t = transportOf({
    baseUrl: 'http://127.0.0.1:9',
    deadline: () => (leftMs === undefined ? undefined : 1_000_000 + leftMs),
    ...(minAttemptMs !== undefined ? { minAttemptMs } : {}),
  });
  return { ...t, now: () => 1_000_000 };
}

describe('a deadline bounds every attempt', () => {
  it('without one, each attempt has the full timeout', () => {
    expect(attemptOptions(transportWith(undefined), 'GET /x')).toMatchObject({ timeoutMs: 5000 });
    expect(attemptOptions(transportWith(undefined), 'GET /x').cutByDeadline).toBeUndefined();
  });

  it('an attempt’s timeout is min(5 s, time left)', () => {
    expect(attemptOptions(transportWith(60_000), 'GET /x')).toMatchObject({ timeoutMs: 5000 });
    expect(attemptOptions(transportWith(3_250), 'GET /x')).toMatchObject({ timeoutMs: 3250, cutByDeadline: true });
  });

  it('no attempt starts with less than minAttemptMs left: DEADLINE_EXCEEDED, retryable, transport', () => {
    const error = (() => {
      try {
        attemptOptions(transportWith(999), 'POST /pay/orderquery');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(WechatPayError);
    expect(error).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryable: true, kind: 'transport' });
    expect(() => attemptOptions(transportWith(400, 300), 'GET /x')).not.toThrow();
  });

  it('a retry is not waited for when it could not start in time; the last failure is thrown', async () => {
    let now = 1_000_000;
    const t = { ...transportWith(1_500), now: () => now };
    const transient = new WechatPayError('SYSTEMERROR', 'busy', { retryable: true, kind: 'business' });
    const sleeps: number[] = [];
    let attempts = 0;
    const run = withRetries(
      async () => {
        attempts += 1;
        throw transient;
      },
      {
        maxAttempts: 3,
        backoff: { firstMs: 1_000, capMs: 1_000, jitter: 'equal' },
        random: () => 0,
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
        },
        timeForAnother: (waitMs) => timeForAnotherAttempt(t, waitMs),
      },
    );
    await expect(run).rejects.toBe(transient);
    // 1 500 ms left: after a 500 ms wait 1 000 remain, enough for one more; after the second failure
    // another wait would leave 500, so the call ends there rather than wait for an attempt that cannot run.
    expect(attempts).toBe(2);
    expect(sleeps).toEqual([500]);
  });

  it('a DEADLINE_EXCEEDED is never retried', async () => {
    let attempts = 0;
    const run = withRetries(
      async () => {
        attempts += 1;
        attemptOptions(transportWith(10), 'GET /x');
      },
      { maxAttempts: 3, backoff: { firstMs: 1, capMs: 1, jitter: 'full' }, sleep: async () => {} },
    );
    await expect(run).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(attempts).toBe(1);
  });
});
