import { beijingWallClock, fromBeijingWallClock } from '../core/beijing-time';

/** WeChat Pay v2 times (time_start, time_expire, time_end): `yyyyMMddHHmmss` in Beijing time. */

export const WECHAT_TIME_PATTERN = /^\d{14}$/;

/** An instant as WeChat v2 writes it. Throws RangeError for an invalid date. */
export function toWechatTime(instant: Date | string): string {
  // "2014-09-03T13:15:40" → "20140903131540"
  return beijingWallClock(instant).replace(/[-T:]/g, '');
}

/** The instant a WeChat v2 time names, or undefined when it is not a real calendar time. */
export function fromWechatTime(text: string): Date | undefined {
  if (!WECHAT_TIME_PATTERN.test(text)) return undefined;
  const part = (from: number, to: number): number => Number(text.slice(from, to));
  return fromBeijingWallClock({
    year: part(0, 4),
    month: part(4, 6),
    day: part(6, 8),
    hour: part(8, 10),
    minute: part(10, 12),
    second: part(12, 14),
  });
}
