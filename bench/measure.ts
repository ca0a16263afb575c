import { median } from './stats';

/** One thing to time: `run` is called over and over (awaited when it returns a promise). */
export interface OpCase {
  name: string;
  run: () => unknown;
}

export interface OpsOptions {
  /** Rounds per case; the result is the median round, so one noisy round does not decide it. */
  rounds: number;
  roundMs: number;
  warmupMs: number;
  /** Clock in ms; injectable for tests. */
  now?: () => number;
}

// Results are folded in here so the engine cannot drop the work as unused.
let sink = 0;
export function consumed(): number {
  return sink;
}

function absorb(value: unknown): void {
  if (typeof value === 'string') sink += value.length;
  else if (value === true) sink += 1;
  else if (value !== undefined && value !== null) sink += 2;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** Calls `run` for at least `ms`; returns calls per second. Checks the clock every `batch` calls. */
async function timed(run: () => unknown, ms: number, now: () => number): Promise<number> {
  const first = run();
  const async = isThenable(first);
  absorb(async ? await first : first);
  let calls = 0;
  let batch = 1;
  const started = now();
  let elapsed = 0;
  while (elapsed < ms) {
    if (async) {
      for (let i = 0; i < batch; i++) absorb(await run());
    } else {
      for (let i = 0; i < batch; i++) absorb(run());
    }
    calls += batch;
    elapsed = now() - started;
    // Grow the batch while calls are short, so reading the clock costs next to nothing.
    if (elapsed < ms / 20 && batch < 4096) batch *= 2;
  }
  return (calls / Math.max(elapsed, 1e-6)) * 1000;
}

/**
 * Operations per second of each case, measured round-robin (case A, B, C, then A, B, C again …)
 * so that whatever else the machine does at a given moment falls on every case alike.
 */
export async function measureOps(cases: readonly OpCase[], options: OpsOptions): Promise<Map<string, number>> {
  const now = options.now ?? (() => performance.now());
  for (const c of cases) await timed(c.run, options.warmupMs, now);
  const rounds = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let r = 0; r < options.rounds; r++) {
    for (const c of cases) rounds.get(c.name)?.push(await timed(c.run, options.roundMs, now));
  }
  return new Map([...rounds].map(([name, samples]) => [name, median(samples)]));
}
