import { describe, expect, it } from 'vitest';

import { WechatPayError } from '#shared/wechatpay/core/errors';
import type { Backoff } from '#shared/wechatpay/core/retry';
import { backoffDelay, withRetries } from '#shared/wechatpay/core/retry';

const FULL: Backoff = { firstMs: 100, capMs: 2_000, jitter: 'full' };
const EQUAL: Backoff = { firstMs: 200, capMs: 2_000, jitter: 'equal' };

describe('backoff', () => {
  it('full jitter stays within [0, min(cap, first · 2^(n-1)))', () => {
    expect(backoffDelay(1, FULL, () => 0)).toBe(0);
    expect(backoffDelay(1, FULL, () => 0.999999)).toBe(99);
    expect(backoffDelay(4, FULL, () => 0.5)).toBe(400);
    expect(backoffDelay(21, FULL, () => 0.999999)).toBe(1999);
  });

  it('equal jitter stays within half and all of min(cap, first · 2^(n-1))', () => {
    expect([backoffDelay(1, EQUAL, () => 0), backoffDelay(1, EQUAL, () => 1)]).toEqual([100, 200]);
    expect([backoffDelay(3, EQUAL, () => 0), backoffDelay(3, EQUAL, () => 1)]).toEqual([400, 800]);
    expect([backoffDelay(9, EQUAL, () => 0), backoffDelay(9, EQUAL, () => 1)]).toEqual([1000, 2000]);
  });
});

describe('withRetries', () => {
  it('stops at the first success', async () => {
    let calls = 0;
    const result = await withRetries(
      async (n) => {
        calls += 1;
        if (n < 2) throw new Error('transient');
        return 'done';
      },
      { maxAttempts: 5, backoff: FULL, sleep: async () => {}, isRetryable: () => true },
    );
    expect(result).toBe('done');
    expect(calls).toBe(2);
  });

  it('does not retry what is not retryable', async () => {
    let calls = 0;
    await expect(
      withRetries(
        async () => {
          calls += 1;
          throw new Error('final');
        },
        { maxAttempts: 5, backoff: FULL, sleep: async () => {}, isRetryable: () => false },
      ),
    ).rejects.toThrow('final');
    expect(calls).toBe(1);
  });

  it('passes the computed waits to sleep', async () => {
    const waits: number[] = [];
    await expect(
      withRetries(
        async () => {
          throw new Error('x');
        },
        {
          maxAttempts: 4,
          backoff: FULL,
          sleep: async (ms) => void waits.push(ms),
          isRetryable: () => true,
          random: () => 0.5,
        },
      ),
    ).rejects.toThrow('x');
    expect(waits).toEqual([50, 100, 200]);
  });

  it('by default retries only a WechatPayError that says it is retryable', async () => {
    const transient = new WechatPayError('SYSTEMERROR', 'busy', { retryable: true, kind: 'business' });
    const final = new WechatPayError('ORDERPAID', 'paid', { retryable: false, kind: 'business' });
    const attempts: unknown[][] = [[transient, final], [new Error('plain')]];
    for (const errors of attempts) {
      let calls = 0;
      await expect(
        withRetries(
          async () => {
            throw errors[Math.min(calls++, errors.length - 1)];
          },
          { maxAttempts: 5, backoff: FULL, sleep: async () => {} },
        ),
      ).rejects.toBe(errors[errors.length - 1]);
      expect(calls).toBe(errors.length);
    }
  });
});
