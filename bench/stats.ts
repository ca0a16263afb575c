/** Small statistics over samples; every function refuses an empty sample rather than invent a number. */

function sorted(samples: readonly number[]): number[] {
  if (samples.length === 0) throw new RangeError('no samples');
  return [...samples].sort((a, b) => a - b);
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(samples: readonly number[]): number {
  const s = sorted(samples);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile (p in 0..100): the smallest sample with at least p% of samples at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be within 0..100, got ${p}`);
  const s = sorted(samples);
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] as number;
}

export function mean(samples: readonly number[]): number {
  if (samples.length === 0) throw new RangeError('no samples');
  return samples.reduce((sum, x) => sum + x, 0) / samples.length;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarizeLatencies(ms: readonly number[]): LatencySummary {
  return { count: ms.length, p50: percentile(ms, 50), p99: percentile(ms, 99), max: percentile(ms, 100) };
}

export interface RequestSummary extends LatencySummary {
  /** Requests completed per second of the run. */
  perSecond: number;
}

export function summarizeRequests(ms: readonly number[], seconds: number): RequestSummary {
  if (!(seconds > 0)) throw new RangeError(`a run must take some time, got ${seconds} s`);
  return { ...summarizeLatencies(ms), perSecond: ms.length / seconds };
}

/** a ÷ b, or null when b is not a positive finite number (a ratio against nothing is not a result). */
export function ratio(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : null;
}

/** Rounds for display and for JSON, keeping `digits` significant figures. */
export function significant(x: number, digits = 3): number {
  if (x === 0 || !Number.isFinite(x)) return x;
  return Number(x.toPrecision(digits));
}
