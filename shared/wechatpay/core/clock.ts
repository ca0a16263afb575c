/** The library's time source: injected so that signatures and expiry checks can be tested at a fixed instant. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** Seconds since the epoch as WeChat writes them in signatures and client parameters: digits as text. */
export function unixTimestamp(instant: Date): string {
  return String(Math.floor(instant.getTime() / 1000));
}

/** How far (in whole seconds, either way) a Unix timestamp of digits lies from `now`. */
export function secondsApart(now: Date, timestamp: string): number {
  return Math.abs(Math.floor(now.getTime() / 1000) - Number(timestamp));
}
