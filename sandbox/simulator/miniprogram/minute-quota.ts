/**
 * WeChat's per-minute quota on code2Session (45011), per user: at most `limit` calls in any 60
 * seconds. Real seconds, never time-scaled: the quota protects WeChat from real requests, and a
 * sped-up simulator does not make the caller's requests any cheaper. A call refused by the quota is
 * not counted, so waiting a minute always helps, as WeChat's "retry next minute" promises.
 */
export const QUOTA_WINDOW_MS = 60_000;

export class MinuteQuota {
  /**
   * Per key, the instants of its counted calls still inside the window, oldest first. The map is kept
   * in the order of each key's latest counted call, so the keys whose window has emptied are at the
   * front and are dropped there: a simulator serving many users does not keep one entry per user for ever.
   */
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Counts one call for `key`; false when the key has used up its quota for this minute. */
  take(key: string): boolean {
    const now = this.now();
    this.forgetIdleKeys(now);
    const recent = (this.calls.get(key) ?? []).filter((at) => now - at < QUOTA_WINDOW_MS);
    if (recent.length >= this.limit) {
      // Set in place: the key's latest counted call, and so its place in the order, is unchanged.
      this.calls.set(key, recent);
      return false;
    }
    recent.push(now);
    this.calls.delete(key);
    this.calls.set(key, recent);
    return true;
  }

  /** How many keys the quota holds in memory: those with a call inside the window at the last take(). */
  get trackedKeys(): number {
    return this.calls.size;
  }

  private forgetIdleKeys(now: number): void {
    for (const [key, times] of this.calls) {
      const latest = times[times.length - 1];
      if (latest !== undefined && now - latest < QUOTA_WINDOW_MS) break;
      this.calls.delete(key);
    }
  }
}
