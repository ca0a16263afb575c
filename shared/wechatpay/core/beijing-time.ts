/**
 * WeChat writes every time in Beijing time (UTC+8, no daylight saving), whatever the API version;
 * only the format differs (v2/time.ts, v3/time.ts). These convert between an instant and Beijing's
 * wall clock, to the second.
 */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export interface WallClock {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** `yyyy-MM-ddTHH:mm:ss` on Beijing's clock, fractions dropped. Throws RangeError for an invalid instant. */
export function beijingWallClock(instant: Date | string): string {
  const ms = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`not a valid instant: ${String(instant)}`);
  return new Date(Math.floor(ms / 1000) * 1000 + BEIJING_OFFSET_MS).toISOString().slice(0, 19);
}

/** The instant a Beijing wall-clock time names, or undefined when that is no real calendar time. */
export function fromBeijingWallClock(t: WallClock): Date | undefined {
  const date = new Date(Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second) - BEIJING_OFFSET_MS);
  // Date.UTC rolls over (Feb 30 → Mar 2); only a round trip tells a real date from a rolled one.
  const back = new Date(date.getTime() + BEIJING_OFFSET_MS);
  const real =
    back.getUTCFullYear() === t.year &&
    back.getUTCMonth() === t.month - 1 &&
    back.getUTCDate() === t.day &&
    back.getUTCHours() === t.hour &&
    back.getUTCMinutes() === t.minute &&
    back.getUTCSeconds() === t.second;
  return real ? date : undefined;
}
