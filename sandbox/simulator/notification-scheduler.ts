import type { Clock, TimerHandle } from './clock';
import type { FaultRegistry, NotifyFault } from './faults';
import { postOnce } from './http-delivery';
import type { DeliveryResult } from './http-delivery';
import { nonce } from './ids';
import type { JournalEntry, NotificationJob, ProtocolInfo, SimOrder } from './order-model';
import type { StateStore } from './state-store';
import type { TimeRules } from './time-rules';

export type NotificationEvent = NotificationJob['event'];
export type Tamper = 'none' | 'corrupt_sign' | 'change_amount';

/** How one protocol writes a payment notification and reads the merchant's acknowledgement. */
export interface NotificationFormat {
  /** Whether WeChat notifies this event at all in this protocol (v3 has no payment-failure notification). */
  sends(event: NotificationEvent): boolean;
  encode(order: SimOrder, event: NotificationEvent, tamper: Tamper): { body: string; headers: Record<string, string> };
  isAcknowledged(httpStatus: number, reply: string): boolean;
}

/**
 * One format per protocol the simulator can speak. A v2-only simulator has no v3 format (it holds
 * no platform key); v3 orders kept from an earlier v3 run then wait, pending, for a v3 start.
 */
export type NotificationFormats = Partial<Record<ProtocolInfo['version'], NotificationFormat>>;

/** WeChat notifies from several servers; "duplicate" sends this many identical copies at once. */
export const DUPLICATE_COPIES = 5;

export interface SchedulerDeps {
  store: StateStore;
  clock: Clock;
  rules: TimeRules;
  faults: FaultRegistry;
  formats: NotificationFormats;
  /** A merchant reply that is not complete within this is a failed attempt (WeChat: 5 s). */
  replyTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * Delivers payment notifications and retries them on WeChat's schedule until the merchant
 * acknowledges, WeChat gives up, or the job is replaced by a newer payer action. The job's progress
 * is part of the order, so a restarted simulator picks the schedule up where it stopped.
 */
export class NotificationScheduler {
  private readonly timers = new Map<string, TimerHandle>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly aborter = new AbortController();
  private closed = false;

  constructor(private readonly deps: SchedulerDeps) {}

  /**
   * Starts a new notification for the order's current state, replacing any unfinished one; nothing
   * when the order's protocol does not notify this event.
   */
  start(outTradeNo: string, event: NotificationEvent): NotificationJob | undefined {
    const { clock, rules, faults, store } = this.deps;
    const protocol = store.getOrder(outTradeNo)?.protocol.version;
    if (protocol === undefined || this.deps.formats[protocol]?.sends(event) !== true) return undefined;
    // "delay" holds back the first delivery by one retry interval, as when WeChat's first try is lost.
    const delay = faults.notifyFaultFor(outTradeNo) === 'delay' ? (rules.retryDelayAfter(1) ?? 0) : 0;
    const job: NotificationJob = {
      id: nonce(12),
      event,
      status: 'pending',
      attempts: 0,
      nextAttemptAt: clock.now() + delay,
    };
    const order = store.updateOrder(outTradeNo, (o) => ({ ...o, notification: job }));
    if (order === undefined) return undefined;
    this.arm(outTradeNo, job);
    return job;
  }

  /** Re-arms every unfinished job, after a restart; overdue ones go out at once. */
  resumeAll(): number {
    let resumed = 0;
    for (const order of this.deps.store.allOrders()) {
      if (order.notification?.status === 'pending') {
        if (this.arm(order.outTradeNo, order.notification)) resumed += 1;
      }
    }
    return resumed;
  }

  /** Cancels the timers and any delivery in flight; unfinished jobs stay pending in the state. */
  async close(): Promise<void> {
    this.closed = true;
    this.aborter.abort();
    for (const timer of this.timers.values()) this.deps.clock.clearTimer(timer);
    this.timers.clear();
    await Promise.allSettled([...this.inFlight]);
  }

  /** Sets the timer for the job's next attempt; false when it cannot run here. */
  private arm(outTradeNo: string, job: NotificationJob): boolean {
    if (this.closed) return false;
    const protocol = this.deps.store.getOrder(outTradeNo)?.protocol.version;
    if (protocol !== undefined && this.deps.formats[protocol] === undefined) {
      this.deps.log(`notify ${outTradeNo}: left pending, this simulator does not speak ${protocol}`);
      return false;
    }
    const previous = this.timers.get(outTradeNo);
    if (previous) this.deps.clock.clearTimer(previous);
    const wait = (job.nextAttemptAt ?? 0) - this.deps.clock.now();
    const timer = this.deps.clock.setTimer(() => {
      this.timers.delete(outTradeNo);
      const run = this.attempt(outTradeNo, job.id).catch((err: unknown) => {
        this.deps.log(`notify ${outTradeNo}: attempt failed unexpectedly: ${(err as Error).message}`);
      });
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }, wait);
    this.timers.set(outTradeNo, timer);
    return true;
  }

  private async attempt(outTradeNo: string, jobId: string): Promise<void> {
    const { store, faults, clock, rules, log } = this.deps;
    const order = store.getOrder(outTradeNo);
    const job = order?.notification;
    if (this.closed || order === undefined || job === undefined || job.id !== jobId || job.status !== 'pending') return;
    const attempt = job.attempts + 1;
    const fault = faults.notifyFaultFor(outTradeNo);
    const at = new Date(clock.now()).toISOString();

    if (fault === 'drop') {
      store.appendJournal(outTradeNo, {
        kind: 'notify',
        at,
        jobId,
        attempt,
        copy: 1,
        url: order.notifyUrl,
        outcome: 'dropped',
        fault,
      });
      store.updateOrder(outTradeNo, (o) => ({
        ...o,
        notification: { ...job, status: 'dropped', nextAttemptAt: undefined },
      }));
      log(`notify ${outTradeNo}: dropped (fault)`);
      return;
    }

    const format = this.deps.formats[order.protocol.version];
    if (format === undefined) return; // see arm(): the job waits for a simulator that speaks its protocol
    const { body, headers } = format.encode(order, job.event, tamperFor(fault));
    const copies = fault === 'duplicate' ? DUPLICATE_COPIES : 1;
    const results = await Promise.all(
      Array.from({ length: copies }, () =>
        postOnce(order.notifyUrl, body, headers, this.deps.replyTimeoutMs, this.aborter.signal),
      ),
    );
    // Cut short by close(): not an attempt; the job stays due and resumes on the next start.
    if (this.closed) return;

    let delivered = false;
    results.forEach((result, index) => {
      const acknowledged =
        result.httpStatus !== undefined && format.isAcknowledged(result.httpStatus, result.reply ?? '');
      delivered ||= acknowledged;
      store.appendJournal(
        outTradeNo,
        journalEntry(at, jobId, attempt, index + 1, order.notifyUrl, body, result, acknowledged, fault),
      );
    });

    const current = store.getOrder(outTradeNo)?.notification;
    if (current?.id !== jobId) return; // replaced by a newer payer action meanwhile
    const retryIn = delivered ? undefined : rules.retryDelayAfter(attempt);
    const next: NotificationJob = delivered
      ? { ...current, attempts: attempt, status: 'delivered', nextAttemptAt: undefined }
      : retryIn === undefined
        ? { ...current, attempts: attempt, status: 'gave_up', nextAttemptAt: undefined }
        : { ...current, attempts: attempt, nextAttemptAt: clock.now() + retryIn };
    store.updateOrder(outTradeNo, (o) => ({ ...o, notification: next }));
    const outcome = delivered ? 'acknowledged' : next.status === 'gave_up' ? 'failed, giving up' : 'failed, will retry';
    log(`notify ${outTradeNo}: attempt ${attempt} ${outcome}`);
    if (next.status === 'pending') this.arm(outTradeNo, next);
  }
}

function tamperFor(fault: NotifyFault): Tamper {
  return fault === 'corrupt_sign' || fault === 'change_amount' ? fault : 'none';
}

function journalEntry(
  at: string,
  jobId: string,
  attempt: number,
  copy: number,
  url: string,
  body: string,
  result: DeliveryResult,
  acknowledged: boolean,
  fault: NotifyFault,
): JournalEntry {
  const outcome = acknowledged
    ? 'delivered'
    : result.timedOut
      ? 'timeout'
      : result.httpStatus === undefined
        ? 'error'
        : 'failed';
  return {
    kind: 'notify',
    at,
    jobId,
    attempt,
    copy,
    url,
    outcome,
    fault: fault === 'deliver' ? undefined : fault,
    body,
    httpStatus: result.httpStatus,
    reply: result.reply,
    durationMs: result.durationMs,
    error: result.error,
  };
}
