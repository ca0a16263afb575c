import { describe, expect, it } from 'vitest';

import { attemptForAge, intervalBefore, nextCheckAt } from '#shared/domain/reconcile-schedule';

const schedule = [30, 60, 120];
const now = new Date('2026-01-01T00:00:00.000Z');
const farExpiry = '2026-01-02T00:00:00.000Z';

describe('reconcile schedule', () => {
  it('uses the interval of the attempt, the last one repeating', () => {
    expect(nextCheckAt(schedule, 0, now, farExpiry)).toBe('2026-01-01T00:00:30.000Z');
    expect(nextCheckAt(schedule, 1, now, farExpiry)).toBe('2026-01-01T00:01:00.000Z');
    expect(nextCheckAt(schedule, 2, now, farExpiry)).toBe('2026-01-01T00:02:00.000Z');
    expect(nextCheckAt(schedule, 9, now, farExpiry)).toBe('2026-01-01T00:02:00.000Z');
  });

  it('never lands after the expiry, so an expiring order is closed on time', () => {
    expect(nextCheckAt(schedule, 2, now, '2026-01-01T00:00:45.000Z')).toBe('2026-01-01T00:00:45.000Z');
  });

  it('never lands in the past when the order is already expired', () => {
    expect(nextCheckAt(schedule, 0, now, '2025-12-31T00:00:00.000Z')).toBe(now.toISOString());
  });

  it('maps an order age to the attempt it would be at', () => {
    expect(attemptForAge(schedule, 0)).toBe(0);
    expect(attemptForAge(schedule, 29)).toBe(0);
    expect(attemptForAge(schedule, 30)).toBe(1);
    expect(attemptForAge(schedule, 89)).toBe(1);
    expect(attemptForAge(schedule, 90)).toBe(2);
    expect(attemptForAge(schedule, 10_000)).toBe(3);
  });
});

describe('intervalBefore', () => {
  it('follows the schedule, then repeats its last interval', () => {
    expect([0, 1, 2, 3, 9].map((attempt) => intervalBefore([30, 60, 120], attempt))).toEqual([30, 60, 120, 120, 120]);
  });
});
