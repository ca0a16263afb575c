/** Time and timers, injectable so tests can control them; the default is the real clock. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

export interface TimerHandle {
  readonly id: unknown;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer: (fn, ms) => {
    const id = setTimeout(fn, Math.max(0, ms));
    // Timers never keep the process alive on their own: closing the simulator is what ends it.
    id.unref();
    return { id };
  },
  clearTimer: (handle) => clearTimeout(handle.id as ReturnType<typeof setTimeout>),
};
