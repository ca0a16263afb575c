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

/**
 * How far ahead a watch bound is set. The bound is how late a lost chain of checks is noticed by the
 * sweep, so a long-lived order's bound is moved on in steps of about this much rather than set at its
 * expiry; an order that expires within it (a prepay's two hours, the default) is bounded by its expiry
 * and its checks write nothing until it settles.
 */
export const WATCH_HORIZON_SECONDS = 2 * 60 * 60;

/**
 * The watch bound of a chain of checks whose check number `attempt` is due at `dueAt`: the instant by
 * which the chain must have written again (extended the bound, or settled the order) if it is alive.
 * It is the order's expiry when that falls within `horizonSeconds` of `now` (the last check closes the
 * order there), else the due time of the last check the schedule places within that horizon. Never
 * before `dueAt`: a check past the expiry (waiting to close, or to see a payment WeChat reported at
 * the close) is its own bound.
 */
export function watchBound(
  schedule: readonly number[],
  attempt: number,
  dueAt: string,
  now: Date,
  expiresAt: string,
  horizonSeconds: number = WATCH_HORIZON_SECONDS,
): string {
  const dueMs = Date.parse(dueAt);
  const expiresMs = Date.parse(expiresAt);
  const limitMs = now.getTime() + horizonSeconds * 1000;
  if (expiresMs <= limitMs) return new Date(Math.max(expiresMs, dueMs)).toISOString();
  let lastMs = dueMs;
  for (let next = attempt + 1; ; next += 1) {
    const followingMs = lastMs + intervalBefore(schedule, next) * 1000;
    // A schedule of zeros would never leave the horizon; an interval of at least a second is assumed.
    if (followingMs > limitMs || followingMs <= lastMs) break;
    lastMs = followingMs;
  }
  return new Date(lastMs).toISOString();
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
