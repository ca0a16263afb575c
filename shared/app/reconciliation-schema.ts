import * as z from 'zod';

import type { BillDate } from '../domain/bill-reconciliation';
import { checkBillDate } from '../domain/bill-date';
import { ValidationError } from '../domain/errors';
import { validationErrorOf } from './schema-errors';

/** The shape alone; whether the day is real and one WeChat serves is checkBillDate's (one rule). */
export const billDateSchema = z
  .string('must be a string written YYYY-MM-DD')
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD');

/** Body of POST /reconciliations (../shared/product.md, "Bill reconciliation (contract)"). */
export const createReconciliationBodySchema = z.strictObject(
  { bill_date: billDateSchema },
  'must be a JSON object { bill_date }',
);

/**
 * The day a caller asks to reconcile: a real Beijing day, not after today and within the three months
 * WeChat keeps bills (as of `now`). Throws ValidationError naming the field.
 */
export function parseCreateReconciliation(body: unknown, now: Date): BillDate {
  const parsed = createReconciliationBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  return checkBillDate(parsed.data.bill_date, now);
}

/**
 * The day of `GET /reconciliations/{bill_date}`. Only its shape is checked: a report outlives WeChat's
 * three months (it is kept 400 days), and a day never reconciled is simply not found.
 */
export function parseReconciliationDate(value: string | undefined): BillDate {
  const parsed = billDateSchema.safeParse(value);
  if (!parsed.success) {
    const rule = value === undefined ? 'is required' : (parsed.error.issues[0]?.message ?? 'is invalid');
    throw new ValidationError(`bill_date ${rule}`, 'bill_date');
  }
  return parsed.data;
}
