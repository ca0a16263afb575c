import type { Clock } from './ports';

/**
 * Of each minute's unverified notifications, this many are recorded in full (their traces: hash,
 * length, source, reason) by one container, so an ordinary trickle of probes is all kept …
 */
export const UNVERIFIED_RECORDED_PER_MINUTE = 60;
/** … and beyond that one in this many, so a flood costs a bounded number of writes per container. */
export const UNVERIFIED_SAMPLE_ONE_IN = 100;

/**
 * Decides which of a stream of events to keep: the first `perMinute` of each clock minute, then one
 * in `oneIn`. Per container (it counts in memory), which is what bounds a flood's writes: the writes
 * grow with the containers the flood starts, which notify's reserved concurrency caps, not with its
 * requests. The metric still counts every event.
 */
export class FloodSampler {
  private minute = Number.NaN;
  private seen = 0;

  constructor(
    private readonly clock: Clock,
    private readonly perMinute: number = UNVERIFIED_RECORDED_PER_MINUTE,
    private readonly oneIn: number = UNVERIFIED_SAMPLE_ONE_IN,
  ) {}

  admit(): boolean {
    const minute = Math.floor(this.clock.now().getTime() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.seen = 0;
    }
    this.seen += 1;
    return this.seen <= this.perMinute || (this.seen - this.perMinute) % this.oneIn === 0;
  }
}
