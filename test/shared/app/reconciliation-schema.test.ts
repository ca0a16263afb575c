import { describe, expect, it } from 'vitest';

import { parseCreateReconciliation, parseReconciliationDate } from '#shared/app/reconciliation-schema';
import { ValidationError } from '#shared/domain/errors';

/** 11:00 on 2 January 2030 in Beijing. */
const NOW = new Date('2030-01-02T03:00:00Z');

function refusal(run: () => unknown): ValidationError {
  try {
    run();
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('POST /reconciliations body', () => {
  it('takes a Beijing day up to today and within the three months WeChat keeps bills', () => {
    expect(parseCreateReconciliation({ bill_date: '2030-01-01' }, NOW)).toBe('2030-01-01');
    expect(parseCreateReconciliation({ bill_date: '2030-01-02' }, NOW)).toBe('2030-01-02');
    expect(parseCreateReconciliation({ bill_date: '2029-10-10' }, NOW)).toBe('2029-10-10');
  });

  it.each([
    [{}, 'bill_date', /required|string/],
    [{ bill_date: null }, 'bill_date', /string/],
    [{ bill_date: '20300101' }, 'bill_date', /YYYY-MM-DD/],
    [{ bill_date: '2030-01-01T00:00:00Z' }, 'bill_date', /YYYY-MM-DD/],
    [{ bill_date: '2030-13-01' }, 'bill_date', /real day/],
    [{ bill_date: '2030-01-03' }, 'bill_date', /after today/],
    [{ bill_date: '2029-01-01' }, 'bill_date', /three months/],
    [{ bill_date: '2030-01-01', bill_type: 'ALL' }, 'bill_type', /not a known field/],
    [[], undefined, /JSON object/],
  ])('refuses %j, naming %s', (body, field, message) => {
    const error = refusal(() => parseCreateReconciliation(body, NOW));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });
});

describe('GET /reconciliations/{bill_date}', () => {
  it('checks the shape only: a day too old to reconcile may still have its report', () => {
    expect(parseReconciliationDate('2029-01-01')).toBe('2029-01-01');
  });

  it.each([undefined, '', '2030-1-1', '2030-01-01x', '..'])('refuses %j on bill_date', (value) => {
    expect(refusal(() => parseReconciliationDate(value)).field).toBe('bill_date');
  });
});
