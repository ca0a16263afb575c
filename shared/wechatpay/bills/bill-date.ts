import * as z from 'zod';

/** A bill's day as callers name it, `YYYY-MM-DD` (Beijing): a real calendar day (v2 sends it as yyyyMMdd). */
export const billDateSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'must be YYYY-MM-DD')
  .refine((date) => {
    const ms = Date.parse(`${date}T00:00:00Z`);
    return !Number.isNaN(ms) && new Date(ms).toISOString().slice(0, 10) === date;
  }, 'must be a real calendar day');
