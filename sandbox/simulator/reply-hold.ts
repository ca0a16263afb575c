import type { Clock, TimerHandle } from './clock';

/**
 * Replies held back by the "timeout" API fault. Closing the simulator releases them at once,
 * so close() never waits out a hold.
 */
export class ReplyHolds {
  private readonly pending = new Map<TimerHandle, () => void>();

  constructor(private readonly clock: Clock) {}

  hold(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimer(() => {
        this.pending.delete(timer);
        resolve();
      }, ms);
      this.pending.set(timer, resolve);
    });
  }

  releaseAll(): void {
    for (const [timer, resolve] of this.pending) {
      this.clock.clearTimer(timer);
      resolve();
    }
    this.pending.clear();
  }
}
