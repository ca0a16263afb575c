/**
 * WeChat's v3 time format: RFC 3339 with seconds and an explicit offset, written in Beijing time
 * (`2018-06-09T10:34:56+08:00`), as its documentation spells every example. WeChat rejects
 * fractional seconds in time_expire, so an ISO instant like `…:56.789Z` is rewritten, not passed on.
 */
const BEIJING_OFFSET_MS = 8 * 3600 * 1000;

export function toWechatTime(instant: string | Date): string {
  const ms = typeof instant === 'string' ? Date.parse(instant) : instant.getTime();
  if (Number.isNaN(ms)) throw new RangeError(`not a date-time: ${String(instant)}`);
  const seconds = Math.floor(ms / 1000) * 1000;
  return `${new Date(seconds + BEIJING_OFFSET_MS).toISOString().slice(0, 19)}+08:00`;
}
