import { describe, expect, it } from 'vitest';

import { beijingDateOf, billFinalAt, checkBillDate, isBillDate, previousBillDate } from '#shared/domain/bill-date';
import { ValidationError } from '#shared/domain/errors';

describe('bill dates (Beijing days)', () => {
  it('puts an instant on its Beijing day: 16:00 UTC is already the next day there', () => {
    expect(beijingDateOf(new Date('2030-01-01T15:59:59.999Z'))).toBe('2030-01-01');
    expect(beijingDateOf(new Date('2030-01-01T16:00:00.000Z'))).toBe('2030-01-02');
    expect(previousBillDate(new Date('2030-01-01T16:30:00Z'))).toBe('2030-01-01');
    expect(previousBillDate(new Date('2030-03-01T02:30:00Z'))).toBe('2030-02-28');
  });

  it('knows a real day from a look-alike', () => {
    expect(isBillDate('2032-02-29')).toBe(true);
    for (const text of ['2030-02-29', '2030-13-01', '2030-1-01', '20300101', '2030-01-01T00:00:00Z', '']) {
      expect(isBillDate(text)).toBe(false);
    }
  });

  it('takes a bill as final at 10:00 Beijing the next day (02:00 UTC), across a month end', () => {
    expect(billFinalAt('2030-01-31').toISOString()).toBe('2030-02-01T02:00:00.000Z');
    expect(billFinalAt('2030-12-31').toISOString()).toBe('2031-01-01T02:00:00.000Z');
  });

  it('accepts today in Beijing and the last 92 days; refuses the future, the older and the unreal', () => {
    const now = new Date('2030-05-01T16:30:00Z'); // 00:30 on 2 May in Beijing
    expect(checkBillDate('2030-05-02', now)).toBe('2030-05-02');
    expect(checkBillDate('2030-01-30', now)).toBe('2030-01-30');
    for (const day of ['2030-05-03', '2030-01-29', '2030-02-30']) {
      expect(() => checkBillDate(day, now)).toThrow(ValidationError);
    }
    try {
      checkBillDate('2030-05-03', now);
    } catch (error) {
      expect(error).toMatchObject({ field: 'bill_date', message: expect.stringContaining('2030-05-02') });
    }
  });
});
