import { describe, expect, it } from 'vitest';

import { checkTimes, compressedSchedule, earlyHops } from '#bench/expired-schedule';
import { COST_RUN_ENV } from '#bench/cost-per-payment';
import { DEFAULT_RECONCILE_SCHEDULE } from '#shared/config/settings';

const DEFAULT = DEFAULT_RECONCILE_SCHEDULE.split(',').map(Number);
const TWO_HOURS = 7200;

describe('checkTimes', () => {
  it('follows the intervals, the last repeating, and ends with the check at expiry', () => {
    expect(checkTimes([30, 60, 120, 600, 1800], TWO_HOURS)).toEqual([30, 90, 210, 810, 2610, 4410, 6210, 7200]);
    expect(checkTimes([10], 35)).toEqual([10, 20, 30, 35]);
    // A check due exactly at expiry is the last one.
    expect(checkTimes([5], 10)).toEqual([5, 10]);
  });
});

describe('compressedSchedule', () => {
  it('makes as many checks in the short life as the schedule makes over two hours, the expiry one included', () => {
    for (const schedule of [DEFAULT, [30, 60, 120, 300, 600, 900], [600], [30, 60, 120, 600, 1800, 3600]]) {
      const compressed = compressedSchedule(schedule, TWO_HOURS, 65);
      expect(compressed.every((s) => Number.isInteger(s) && s >= 1)).toBe(true);
      expect(checkTimes(compressed, 65)).toHaveLength(checkTimes(schedule, TWO_HOURS).length);
    }
  });

  it('keeps production’s shape: dense first, sparser after, the last check at expiry', () => {
    expect(compressedSchedule(DEFAULT, TWO_HOURS, 65)).toEqual([1, 1, 1, 4, 17, 16, 16, 9]);
    expect(checkTimes(compressedSchedule(DEFAULT, TWO_HOURS, 65), 65)).toEqual([1, 2, 3, 7, 24, 40, 56, 65]);
  });

  it('refuses a life too short for the checks a second apart', () => {
    expect(() => compressedSchedule([60], TWO_HOURS, 65)).toThrow(/do not fit/);
  });

  it('is what part 4 runs with', () => {
    const run = COST_RUN_ENV.RECONCILE_SCHEDULE.split(',').map(Number);
    expect(checkTimes(run, Number(COST_RUN_ENV.PREPAY_TTL_SECONDS))).toHaveLength(
      checkTimes(DEFAULT, TWO_HOURS).length,
    );
  });
});

describe('earlyHops', () => {
  it('counts a message per 15 minutes of a wait beyond the first, none for waits SQS can delay at once', () => {
    // 30, 60, 120 and 600 fit; three 1800 s waits and the last 990 s to expiry take two messages each.
    expect(earlyHops(DEFAULT, TWO_HOURS)).toBe(4);
    expect(earlyHops([900], 1800)).toBe(0);
    expect(earlyHops([2700], 2700)).toBe(2);
  });

  it('sends nothing round for a check that arrives at most a second early', () => {
    expect(earlyHops([901], 901)).toBe(0);
    expect(earlyHops([902], 902)).toBe(1);
  });

  it('finds none in the compressed run, which is why they are modelled', () => {
    expect(earlyHops(compressedSchedule(DEFAULT, TWO_HOURS, 65), 65)).toBe(0);
  });
});
