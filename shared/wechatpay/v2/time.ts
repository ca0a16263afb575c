/**
 * WeChat Pay v2 times (time_start, time_expire, time_end) are `yyyyMMddHHmmss` in Beijing time
 * (UTC+8, no daylight saving).
 */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export const WECHAT_TIME_PATTERN = /^\d{14}$/;

/** An instant as WeChat v2 writes it. Throws RangeError for an invalid date. */
export function toWechatTime(instant: Date | string): string {
  const ms = (typeof instant === 'string' ? new Date(instant) : instant).getTime();
  if (Number.isNaN(ms)) throw new RangeError(`not a valid instant: ${String(instant)}`);
  const iso = new Date(ms + BEIJING_OFFSET_MS).toISOString();
  // "2014-09-03T13:15:40.000Z" shifted to Beijing → "20140903131540"
  return iso.slice(0, 19).replace(/[-T:]/g, '');
}

/** The instant a WeChat v2 time names, or undefined when it is not a real calendar time. */
export function fromWechatTime(text: string): Date | undefined {
  if (!WECHAT_TIME_PATTERN.test(text)) return undefined;
  const [y, mo, d, h, mi, s] = [0, 4, 6, 8, 10, 12].map((i, n) => Number(text.slice(i, n === 0 ? 4 : i + 2))) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s) - BEIJING_OFFSET_MS;
  const date = new Date(ms);
  // Date.UTC rolls over (Feb 30 → Mar 2); a round trip tells a real date from a rolled one.
  return toWechatTime(date) === text ? date : undefined;
}
