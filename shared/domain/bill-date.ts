import { ValidationError } from './errors';
import type { BillDate } from './bill-reconciliation';
import { BEIJING_OFFSET_MS } from './payment-time';

const DAY_MS = 86_400_000;
const BILL_DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/** WeChat starts a day's bill at 09:00 Beijing the next day and advises fetching it after 10:00. */
const BILL_FINAL_HOUR_BEIJING = 10;
/** WeChat serves bills of the last three months only; 92 days covers any three calendar months. */
export const BILL_RETENTION_DAYS = 92;

/** Whether `text` is a real calendar day written `YYYY-MM-DD` (not 2030-02-30). */
export function isBillDate(text: string): boolean {
  const match = BILL_DATE.exec(text);
  if (!match) return false;
  const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]));
  return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === text;
}

/**
 * When the bill of `billDate` can be taken as final: 10:00 Beijing the next day. A run before then may
 * have seen no bill, or one still being made, so its report does not settle the day.
 */
export function billFinalAt(billDate: BillDate): Date {
  const [year, month, day] = billDate.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(year, month - 1, day + 1, BILL_FINAL_HOUR_BEIJING) - BEIJING_OFFSET_MS);
}

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
  if (!isBillDate(billDate)) {
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
