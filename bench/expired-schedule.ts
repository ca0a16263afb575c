import { MAX_DELAY_SECONDS } from '#shared/adapters/sqs-check-scheduler';
import { nextCheckAt } from '#shared/domain/reconcile-schedule';

/**
 * The expired order's checks in production and in part 4's compressed run. Part 4 cannot wait two
 * hours per order, so it runs the order's life in about a minute with a schedule derived here that
 * makes exactly as many WeChat queries; the SQS messages production adds to carry a wait longer than
 * SQS's longest delay, which the compressed run cannot show, are counted here to be priced as a
 * modelled line.
 */

/**
 * Seconds after its creation at which an unpaid order is checked, as the reconciler schedules it
 * (nextCheckAt: the schedule's intervals, the last repeating, never past the expiry); the last check
 * is the one at expiry, which finds the order unpaid and closes it.
 */
export function checkTimes(schedule: readonly number[], ttlSeconds: number): number[] {
  if (schedule.length === 0 || schedule.some((s) => !(s > 0))) throw new Error('a schedule needs positive intervals');
  const created = Date.UTC(2025, 0, 1);
  const expiresAt = new Date(created + ttlSeconds * 1000).toISOString();
  const times: number[] = [];
  let now = created;
  for (let attempt = 0; ; attempt++) {
    const due = Date.parse(nextCheckAt(schedule, attempt, new Date(now), expiresAt));
    times.push((due - created) / 1000);
    if (due >= Date.parse(expiresAt)) return times;
    now = due;
  }
}

/**
 * A schedule for an order that lives `compressedTtlSeconds` making as many checks as `schedule` does
 * over `ttlSeconds` (the one at expiry included): production's check times scaled to the short life,
 * whole seconds at least one apart, then the wait to expiry as the last (repeating) interval, so the
 * check after the last early one is the one at expiry.
 */
export function compressedSchedule(
  schedule: readonly number[],
  ttlSeconds: number,
  compressedTtlSeconds: number,
): number[] {
  const early = checkTimes(schedule, ttlSeconds).slice(0, -1);
  if (early.length > compressedTtlSeconds - 1)
    throw new Error(`${early.length} checks before expiry do not fit, a second apart, in ${compressedTtlSeconds} s`);
  const scaled = early.map((t) => Math.round((t * compressedTtlSeconds) / ttlSeconds));
  // Forward: each at least a second after the one before; backward: room left for the ones after.
  for (let i = 0; i < scaled.length; i++) scaled[i] = Math.max(scaled[i] ?? 0, (scaled[i - 1] ?? 0) + 1);
  for (let i = scaled.length - 1; i >= 0; i--)
    scaled[i] = Math.min(scaled[i] ?? 0, compressedTtlSeconds - (scaled.length - i));
  const intervals = scaled.map((t, i) => t - (scaled[i - 1] ?? 0));
  return [...intervals, compressedTtlSeconds - (scaled.at(-1) ?? 0)];
}

/**
 * How early a due check may run: the reconciler sends a check round again only when it arrives more
 * than a second before it is due (shared/domain/reconciler.ts).
 */
export const EARLY_TOLERANCE_SECONDS = 1;

/**
 * SQS messages an expired order's life needs beyond one per check: a wait longer than SQS's longest
 * delay (15 minutes) is a chain of messages, each but the last arriving early and sent round again
 * (an invocation's share, a SendMessage, its receive and delete; no read, no query).
 */
export function earlyHops(
  schedule: readonly number[],
  ttlSeconds: number,
  maxDelaySeconds: number = MAX_DELAY_SECONDS,
): number {
  const times = checkTimes(schedule, ttlSeconds);
  return times.reduce((hops, t, i) => {
    const wait = t - (times[i - 1] ?? 0);
    return hops + Math.max(0, Math.ceil((wait - EARLY_TOLERANCE_SECONDS) / maxDelaySeconds) - 1);
  }, 0);
}
