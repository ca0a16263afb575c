import { ValidationError } from './errors';
import type { BillDate } from './bill-reconciliation';

/** Beijing time has no daylight saving: always UTC+8. */
const BEIJING_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
const BILL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** WeChat serves bills of the last three months only; 92 days covers any three calendar months. */
export const BILL_RETENTION_DAYS = 92;

/** The Beijing calendar day an instant falls on, `YYYY-MM-DD`. */
export function beijingDateOf(instant: Date): BillDate {
  return new Date(instant.getTime() + BEIJING_OFFSET_MS).toISOString().slice(0, 10);
}

/** The day before `now`'s Beijing day: the bill the daily run reconciles. */
export function previousBillDate(now: Date): BillDate {
  return beijingDateOf(new Date(now.getTime() - DAY_MS));
}

/**
 * A bill date a caller asked for, checked: a real `YYYY-MM-DD` day, not after today in Beijing, and
 * not older than WeChat keeps bills. Throws ValidationError naming `bill_date`.
 */
export function checkBillDate(billDate: string, now: Date): BillDate {
  const match = BILL_DATE.exec(billDate);
  const ms = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== billDate) {
    throw new ValidationError('bill_date must be a real day written YYYY-MM-DD (Beijing)', 'bill_date');
  }
  const today = beijingDateOf(now);
  if (billDate > today)
    throw new ValidationError(`bill_date must not be after today in Beijing (${today})`, 'bill_date');
  const oldest = beijingDateOf(new Date(now.getTime() - BILL_RETENTION_DAYS * DAY_MS));
  if (billDate < oldest) {
    throw new ValidationError(`bill_date must not be before ${oldest}: WeChat keeps bills three months`, 'bill_date');
  }
  return billDate;
}
