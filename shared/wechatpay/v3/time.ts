import { beijingWallClock } from '../core/beijing-time';

/**
 * WeChat's v3 time format: RFC 3339 with seconds and an explicit offset, written in Beijing time
 * (`2018-06-09T10:34:56+08:00`), as its documentation spells every example. WeChat rejects
 * fractional seconds in time_expire, so an ISO instant like `…:56.789Z` is rewritten, not passed on.
 */
export function toWechatTime(instant: string | Date): string {
  return `${beijingWallClock(instant)}+08:00`;
}
