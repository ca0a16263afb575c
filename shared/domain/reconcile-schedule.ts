/**
 * When to ask WeChat again about an unpaid order. `schedule` lists seconds between checks; the last
 * interval repeats. A check never lands after the order's expiry, so expiry is handled on time.
 */
export function nextCheckAt(schedule: readonly number[], attempt: number, now: Date, expiresAt: string): string {
  const due = Math.min(now.getTime() + intervalBefore(schedule, attempt) * 1000, Date.parse(expiresAt));
  return new Date(Math.max(due, now.getTime())).toISOString();
}

/** Seconds to wait before check number `attempt`; the last interval repeats. */
export function intervalBefore(schedule: readonly number[], attempt: number): number {
  return schedule[Math.min(attempt, schedule.length - 1)] ?? 60;
}

/** The attempt an order of this age would be at, for checks re-created by the sweep. */
export function attemptForAge(schedule: readonly number[], ageSeconds: number): number {
  let elapsed = 0;
  for (let i = 0; i < schedule.length; i++) {
    elapsed += schedule[i] ?? 0;
    if (elapsed > ageSeconds) return i;
  }
  return schedule.length;
}
