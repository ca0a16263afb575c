import { describe, expect, it } from 'vitest';
import { MinuteQuota, QUOTA_WINDOW_MS } from '#sandbox/simulator/miniprogram/minute-quota';

/** The per-user code2Session quota, on a hand-driven clock (its window is real time). */

function quotaAt(limit: number) {
  let now = 1_700_000_000_000;
  const quota = new MinuteQuota(limit, () => now);
  return { quota, advance: (ms: number) => (now += ms) };
}

describe('MinuteQuota', () => {
  it('allows `limit` calls in any 60 s, does not count a refused one, and allows again once the oldest is out', () => {
    const { quota, advance } = quotaAt(2);
    expect(quota.take('a')).toBe(true);
    advance(30_000);
    expect(quota.take('a')).toBe(true);
    expect(quota.take('a')).toBe(false);
    expect(quota.take('b')).toBe(true);
    advance(QUOTA_WINDOW_MS - 30_000 - 1);
    expect(quota.take('a')).toBe(false);
    advance(1);
    expect(quota.take('a')).toBe(true);
    expect(quota.take('a')).toBe(false);
  });

  it('drops a key once its window is empty: many users over time do not grow the map', () => {
    const { quota, advance } = quotaAt(5);
    for (let i = 0; i < 1000; i += 1) {
      expect(quota.take(`user-${i}`)).toBe(true);
      advance(1000);
    }
    // Only the users of the last 60 s are held, not the 1000 seen.
    expect(quota.trackedKeys).toBe(60);
    advance(QUOTA_WINDOW_MS);
    quota.take('late');
    expect(quota.trackedKeys).toBe(1);
  });

  it("keeps a refused key's place: its window empties from its last counted call, not its last refusal", () => {
    const { quota, advance } = quotaAt(1);
    expect(quota.take('busy')).toBe(true);
    advance(10_000);
    expect(quota.take('other')).toBe(true);
    advance(40_000);
    expect(quota.take('busy')).toBe(false);
    advance(10_000);
    // 60 s after busy's only counted call: it is forgotten, other (50 s ago) is not.
    expect(quota.take('third')).toBe(true);
    expect(quota.trackedKeys).toBe(2);
    expect(quota.take('busy')).toBe(true);
    expect(quota.take('other')).toBe(false);
  });
});
