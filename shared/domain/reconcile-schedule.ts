/**
 * When to ask WeChat again about an unpaid order. `schedule` lists seconds between checks; the last
 * interval repeats. A check never lands after the order's expiry, so expiry is handled on time.
 */
export function nextCheckAt(schedule: readonly number[], attempt: number, now: Date, expiresAt: string): string {
  const index = Math.min(attempt, schedule.length - 1);
  const delay = schedule[index] ?? schedule[schedule.length - 1] ?? 60;
  const due = Math.min(now.getTime() + delay * 1000, Date.parse(expiresAt));
  return new Date(Math.max(due, now.getTime())).toISOString();
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
