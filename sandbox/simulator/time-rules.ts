/**
 * WeChat's time rules, divided by the time scale: with SIMULATOR_TIME_SCALE=1000 the 24-hour
 * notification schedule runs in under 87 seconds and the 5-minute close minimum in 300 ms.
 * Absolute instants (timestamps in replies) stay real; only durations shrink.
 */

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/** Waits between notification attempts after a failed one: 15s/15s/30s/3m/10m/20m/30m×3/60m/3h×3/6h×2. */
export const NOTIFY_RETRY_INTERVALS_MS: readonly number[] = [
  15 * SECOND,
  15 * SECOND,
  30 * SECOND,
  3 * MINUTE,
  10 * MINUTE,
  20 * MINUTE,
  30 * MINUTE,
  30 * MINUTE,
  30 * MINUTE,
  60 * MINUTE,
  3 * HOUR,
  3 * HOUR,
  3 * HOUR,
  6 * HOUR,
  6 * HOUR,
];

/** The first attempt plus one per retry interval. */
export const NOTIFY_MAX_ATTEMPTS = NOTIFY_RETRY_INTERVALS_MS.length + 1;

export const PREPAY_VALIDITY_MS = 2 * HOUR;
/** A refund to the payer's WeChat balance settles within minutes; the simulator takes one (scaled). */
export const REFUND_COMPLETION_MS = 1 * MINUTE;
/**
 * No refund a year after payment (TRADE_OVERDUE). Not scaled: it is measured on the merchant's own
 * clock, as time_expire is, so a sped-up simulator refuses no refund the merchant's side still allows.
 */
export const REFUND_WINDOW_MS = 365 * 24 * HOUR;
export const CLOSE_MINIMUM_AGE_MS = 5 * MINUTE;
/** WeChat asks time_expire to be at least a minute ahead; scaled like every other WeChat rule. */
export const TIME_EXPIRE_MIN_AHEAD_MS = 1 * MINUTE;
/** A wx.login() code is valid for five minutes (WeChat's wx.login documentation). */
export const LOGIN_CODE_VALIDITY_MS = 5 * MINUTE;

export class TimeRules {
  constructor(readonly scale: number) {
    if (!(scale > 0) || !Number.isFinite(scale))
      throw new RangeError(`time scale must be a positive number, got ${scale}`);
  }

  /** A WeChat duration as it passes in this simulator. */
  scaled(ms: number): number {
    return ms / this.scale;
  }

  /** The wait before attempt `attempt + 1`, after `attempt` (1-based) failed; undefined when WeChat gives up. */
  retryDelayAfter(attempt: number): number | undefined {
    const interval = NOTIFY_RETRY_INTERVALS_MS[attempt - 1];
    return interval === undefined ? undefined : this.scaled(interval);
  }

  prepayExpiresAt(issuedAt: number): number {
    return issuedAt + this.scaled(PREPAY_VALIDITY_MS);
  }

  refundCompletesAt(createdAt: number): number {
    return createdAt + this.scaled(REFUND_COMPLETION_MS);
  }

  loginCodeExpiresAt(issuedAt: number): number {
    return issuedAt + this.scaled(LOGIN_CODE_VALIDITY_MS);
  }

  closableFrom(createdAt: number): number {
    return createdAt + this.scaled(CLOSE_MINIMUM_AGE_MS);
  }

  /**
   * Whether a merchant's time_expire is too close to accept. The instant itself is not scaled: it is
   * the merchant's own clock, and a merchant stack under test shortens its expiries itself.
   */
  timeExpireTooSoon(now: number, timeExpire: number): boolean {
    return timeExpire - now < this.scaled(TIME_EXPIRE_MIN_AHEAD_MS);
  }
}
