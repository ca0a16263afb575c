/**
 * WeChat's per-minute quota on code2Session (45011), per user: at most `limit` calls in any 60
 * seconds. Real seconds, never time-scaled: the quota protects WeChat from real requests, and a
 * sped-up simulator does not make the caller's requests any cheaper. A refused call is not counted,
 * so waiting a minute always helps, as WeChat's "retry next minute" promises.
 */
export const QUOTA_WINDOW_MS = 60_000;

export class MinuteQuota {
  /** Per key, the instants of the calls still inside the window, oldest first. */
  private readonly calls = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    private readonly now: () => number,
  ) {}

  /** Counts one call for `key`; false when the key has used up its quota for this minute. */
  take(key: string): boolean {
    const now = this.now();
    const recent = (this.calls.get(key) ?? []).filter((at) => now - at < QUOTA_WINDOW_MS);
    if (recent.length >= this.limit) {
      this.calls.set(key, recent);
      return false;
    }
    recent.push(now);
    this.calls.set(key, recent);
    return true;
  }
}
