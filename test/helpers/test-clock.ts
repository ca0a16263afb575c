import type { Clock } from '#shared/domain/ports';

/** A Clock that stands still until told: set it, or advance it by seconds. */
export class TestClock implements Clock {
  private ms: number;

  constructor(start: Date | string | number) {
    this.ms = toMs(start);
  }

  /** A fresh Date each time, so a caller cannot move the clock by mutating it. */
  now(): Date {
    return new Date(this.ms);
  }

  set(instant: Date | string | number): this {
    this.ms = toMs(instant);
    return this;
  }

  advance(seconds: number): this {
    this.ms += seconds * 1000;
    return this;
  }

  /** The current instant as the store keeps instants. */
  iso(): string {
    return this.now().toISOString();
  }
}

function toMs(instant: Date | string | number): number {
  const ms = instant instanceof Date ? instant.getTime() : typeof instant === 'string' ? Date.parse(instant) : instant;
  if (Number.isNaN(ms)) throw new Error(`TestClock: not an instant: ${String(instant)}`);
  return ms;
}
