import { describe, expect, it, vi } from 'vitest';

import {
  beforeInvocationEnds,
  DECISION_MARGIN_MS,
  invocationEnd,
  RECORDING_MARGIN_MS,
  wechatCallDeadline,
  withInvocationDeadline,
} from '#shared/app/invocation-deadline';

const remaining = (ms: number) => {
  const end = Date.now() + ms;
  return { getRemainingTimeInMillis: () => end - Date.now() };
};

describe('the invocation’s deadline', () => {
  it('is known to what the invocation calls, and WeChat calls end RECORDING_MARGIN_MS before it', async () => {
    expect(invocationEnd()).toBeUndefined();
    expect(wechatCallDeadline()).toBeUndefined();
    // The clock stands still, so no millisecond ticks between reading the time and the remaining time.
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const before = Date.now();
      await withInvocationDeadline(remaining(20_000), async () => {
        await new Promise((r) => setTimeout(r, 5));
        const end = invocationEnd() ?? 0;
        expect(end).toBeGreaterThanOrEqual(before + 20_000);
        expect(end).toBeLessThan(before + 20_100);
        expect(wechatCallDeadline()).toBe(end - RECORDING_MARGIN_MS);
      });
    } finally {
      vi.useRealTimers();
    }
  });

  it('is each invocation’s own when invocations run at once in one process (the local stack)', async () => {
    const seen = await Promise.all(
      [5_000, 9_000].map((ms) =>
        withInvocationDeadline(remaining(ms), async () => {
          await new Promise((r) => setTimeout(r, 10));
          return (invocationEnd() ?? 0) - Date.now();
        }),
      ),
    );
    expect(seen[0]).toBeLessThan(5_000);
    expect(seen[1]).toBeGreaterThan(8_000);
  });

  it('cuts off work that would outlast the invocation, DECISION_MARGIN_MS before its end', async () => {
    const started = Date.now();
    const never = new Promise<string>(() => {});
    const outcome = withInvocationDeadline(remaining(DECISION_MARGIN_MS + 300), () =>
      beforeInvocationEnds(() => never),
    );
    await expect(outcome).rejects.toThrow(/before the invocation ends/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    expect(Date.now() - started).toBeLessThan(DECISION_MARGIN_MS);
    await expect(
      withInvocationDeadline(remaining(5_000), () => beforeInvocationEnds(async () => 'done')),
    ).resolves.toBe('done');
  });
});
