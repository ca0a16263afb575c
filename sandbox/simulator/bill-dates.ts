import { beijingWallClock, fromBeijingWallClock } from '#shared/wechatpay/core/beijing-time';

/**
 * Bill dates: Beijing calendar days, `YYYY-MM-DD` (v3's form; v2 writes `yyyyMMdd`). A bill can be had
 * for any day up to today on the simulator's clock, and no further back than WeChat keeps bills.
 */

const DAY_MS = 86_400_000;
const BILL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const V2_BILL_DATE = /^(\d{4})(\d{2})(\d{2})$/;

/**
 * WeChat serves the last three months of bills. 92 days covers any three calendar months, and is the
 * rule the merchant's side applies (shared/domain/bill-date.ts), so the two refuse the same days.
 */
export const BILL_RETENTION_DAYS = 92;

/** The Beijing day an instant (epoch ms) falls on, `YYYY-MM-DD`. */
export function beijingDateOf(ms: number): string {
  return beijingWallClock(new Date(ms)).slice(0, 10);
}

/** An instant as a bill writes it: Beijing `yyyy-MM-dd HH:mm:ss`. */
export function billTime(ms: number): string {
  return beijingWallClock(new Date(ms)).replace('T', ' ');
}

/** The instant a Beijing day starts (00:00:00 Beijing), for a date already checked. */
export function startOfBillDate(date: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const start = fromBeijingWallClock({ year, month, day, hour: 0, minute: 0, second: 0 });
  if (start === undefined) throw new RangeError(`not a bill date: ${date}`);
  return start.getTime();
}

/** v2's `yyyyMMdd` as `YYYY-MM-DD`; anything else is returned as is (and then refused as malformed). */
export function fromV2BillDate(text: string): string {
  const match = V2_BILL_DATE.exec(text);
  return match ? `${match[1]}-${match[2]}-${match[3]}` : text;
}

export type BillDateCheck =
  { ok: true; date: string } | { ok: false; reason: 'malformed' | 'future' | 'expired'; message: string };

/** A requested bill date: a real day, not after today in Beijing, not older than WeChat keeps bills. */
export function checkBillDate(text: string, now: number): BillDateCheck {
  const match = BILL_DATE.exec(text);
  const real =
    match !== null &&
    fromBeijingWallClock({
      year: Number(match[1]),
      month: Number(match[2]),
      day: Number(match[3]),
      hour: 0,
      minute: 0,
      second: 0,
    }) !== undefined;
  if (!real) return { ok: false, reason: 'malformed', message: 'not a real day written YYYY-MM-DD' };
  const today = beijingDateOf(now);
  if (text > today) return { ok: false, reason: 'future', message: `after today in Beijing (${today})` };
  const oldest = beijingDateOf(now - BILL_RETENTION_DAYS * DAY_MS);
  if (text < oldest) return { ok: false, reason: 'expired', message: `before ${oldest}: bills are kept three months` };
  return { ok: true, date: text };
}
