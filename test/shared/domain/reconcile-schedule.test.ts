import { describe, expect, it } from 'vitest';

import {
  attemptForAge,
  intervalBefore,
  nextCheckAt,
  WATCH_HORIZON_SECONDS,
  watchBound,
} from '#shared/domain/reconcile-schedule';

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

describe('watchBound', () => {
  const t = (seconds: number): string => new Date(now.getTime() + seconds * 1000).toISOString();
  const production = [30, 60, 120, 600, 1800];

  it('is the expiry of an order that expires within the horizon: its checks never write before the close', () => {
    expect(watchBound(production, 0, t(30), now, t(7200))).toBe(t(7200));
    expect(watchBound(schedule, 0, t(10), now, t(10))).toBe(t(10));
  });

  it('is the due time of the last check within the horizon for an order that lives longer', () => {
    // 30, 90, 210, 810, 2610, 4410, 6210 (8010 is past 7200).
    expect(watchBound(production, 0, t(30), now, farExpiry)).toBe(t(6210));
    // From a later check: 1070, then every 120 s up to 7200 after now.
    expect(watchBound(schedule, 6, t(70), now, farExpiry)).toBe(t(7150));
  });

  it('is never before the check it is for: past the expiry, or an interval longer than the horizon', () => {
    expect(watchBound(schedule, 1, t(300), now, t(-10))).toBe(t(300));
    expect(watchBound([WATCH_HORIZON_SECONDS * 2], 0, t(14_400), now, farExpiry)).toBe(t(14_400));
  });

  it('takes another horizon when asked', () => {
    expect(watchBound(schedule, 0, t(30), now, farExpiry, 600)).toBe(t(570));
  });
});
