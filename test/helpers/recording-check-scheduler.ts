import type { CheckScheduler, ReconcileCheck } from '#shared/domain/ports';
import type { RefundCheck, RefundCheckScheduler } from '#shared/domain/refund-ports';

/**
 * A CheckScheduler (and RefundCheckScheduler) that keeps what it was given; told to fail, it throws and
 * schedules nothing.
 */
export class RecordingCheckScheduler implements CheckScheduler, RefundCheckScheduler {
  /** The checks scheduled, in order. */
  readonly scheduled: ReconcileCheck[] = [];
  /** Every call, including those that failed. */
  readonly attempts: ReconcileCheck[] = [];
  /** The refund checks scheduled, in order. */
  readonly scheduledRefunds: RefundCheck[] = [];
  /** Every refund call, including those that failed. */
  readonly refundAttempts: RefundCheck[] = [];
  /** While set, every call throws it. */
  failure: Error | undefined;

  failWith(error: Error | undefined = new Error('queue unavailable')): this {
    this.failure = error;
    return this;
  }

  async schedule(check: ReconcileCheck): Promise<void> {
    const kept = { ...check };
    this.attempts.push(kept);
    if (this.failure) throw this.failure;
    this.scheduled.push(kept);
  }

  async scheduleRefund(check: RefundCheck): Promise<void> {
    const kept = { ...check };
    this.refundAttempts.push(kept);
    if (this.failure) throw this.failure;
    this.scheduledRefunds.push(kept);
  }
}
