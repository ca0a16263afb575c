import type { Clock, TimerHandle } from './clock';
import type { FaultRegistry, NotifyFault } from './faults';
import { postOnce } from './http-delivery';
import type { DeliveryResult } from './http-delivery';
import { nonce } from './ids';
import type { JournalEntry, NotificationJob, NotificationProgress, ProtocolInfo, SimOrder } from './order-model';
import type { RefundEvent, SimRefund } from './refund-model';
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

/** How one protocol writes a refund notification (the refund's outcome) and reads the acknowledgement. */
export interface RefundNotificationFormat {
  encode(
    refund: SimRefund,
    order: SimOrder,
    event: RefundEvent,
    tamper: Tamper,
  ): { body: string; headers: Record<string, string> };
  isAcknowledged(httpStatus: number, reply: string): boolean;
}

/**
 * One format per protocol the simulator can speak. A v2-only simulator has no v3 format (it holds
 * no platform key); v3 orders kept from an earlier v3 run then wait, pending, for a v3 start.
 */
export type NotificationFormats = Partial<Record<ProtocolInfo['version'], NotificationFormat>>;
export type RefundNotificationFormats = Partial<Record<ProtocolInfo['version'], RefundNotificationFormat>>;

/** What a notification is about: a payment (the order's job) or a refund (the refund's job). */
type Subject = { kind: 'payment'; outTradeNo: string } | { kind: 'refund'; outRefundNo: string };

/** A subject as one attempt needs it, read fresh from the store each time. */
interface Target {
  /** Names the subject's timer. */
  key: string;
  /** Faults and the journal are the order's, refunds included. */
  outTradeNo: string;
  outRefundNo?: string;
  protocol: ProtocolInfo['version'];
  notifyUrl: string;
  job: NotificationProgress | undefined;
  /** Undefined when this simulator does not speak the subject's protocol. */
  format:
    | {
        encode(tamper: Tamper): { body: string; headers: Record<string, string> };
        isAcknowledged: (s: number, r: string) => boolean;
      }
    | undefined;
  save(job: NotificationProgress): void;
}

/** WeChat notifies from several servers; "duplicate" sends this many identical copies at once. */
export const DUPLICATE_COPIES = 5;

export interface SchedulerDeps {
  store: StateStore;
  clock: Clock;
  rules: TimeRules;
  faults: FaultRegistry;
  formats: NotificationFormats;
  refundFormats: RefundNotificationFormats;
  /** A merchant reply that is not complete within this is a failed attempt (WeChat: 5 s). */
  replyTimeoutMs: number;
  log: (line: string) => void;
}

/**
 * Delivers payment and refund notifications and retries them on WeChat's schedule until the
 * merchant acknowledges, WeChat gives up, or the job is replaced by a newer event (a new payer
 * action; a refund's next outcome). The job's progress is part of the order (or the refund), so a
 * restarted simulator picks the schedule up where it stopped. Faults are the order's for both.
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
    const protocol = this.deps.store.getOrder(outTradeNo)?.protocol.version;
    if (protocol === undefined || this.deps.formats[protocol]?.sends(event) !== true) return undefined;
    const job: NotificationJob = { ...this.newProgress(outTradeNo), event };
    const order = this.deps.store.updateOrder(outTradeNo, (o) => ({ ...o, notification: job }));
    if (order === undefined) return undefined;
    this.arm({ kind: 'payment', outTradeNo }, job);
    return job;
  }

  /** Starts the notification of a refund's outcome, replacing any unfinished one (an ABNORMAL's). */
  startRefund(outRefundNo: string, event: RefundEvent): void {
    const refund = this.deps.store.getRefund(outRefundNo);
    if (refund?.notifyUrl === undefined) return;
    const job = { ...this.newProgress(refund.outTradeNo), event };
    this.deps.store.updateRefund(outRefundNo, (r) => ({ ...r, notification: job }));
    this.arm({ kind: 'refund', outRefundNo }, job);
  }

  /** Re-arms every unfinished job, after a restart; overdue ones go out at once. */
  resumeAll(): number {
    let resumed = 0;
    for (const order of this.deps.store.allOrders()) {
      if (order.notification?.status === 'pending') {
        if (this.arm({ kind: 'payment', outTradeNo: order.outTradeNo }, order.notification)) resumed += 1;
      }
    }
    for (const refund of this.deps.store.allRefunds()) {
      if (refund.notification?.status === 'pending') {
        if (this.arm({ kind: 'refund', outRefundNo: refund.outRefundNo }, refund.notification)) resumed += 1;
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

  private newProgress(outTradeNo: string): NotificationProgress {
    const { clock, rules, faults } = this.deps;
    // "delay" holds back the first delivery by one retry interval, as when WeChat's first try is lost.
    const delay = faults.notifyFaultFor(outTradeNo) === 'delay' ? (rules.retryDelayAfter(1) ?? 0) : 0;
    return { id: nonce(12), status: 'pending', attempts: 0, nextAttemptAt: clock.now() + delay };
  }

  /** The subject as it now stands, with how to encode it and where its job is kept. */
  private target(subject: Subject): Target | undefined {
    const { store } = this.deps;
    if (subject.kind === 'payment') {
      const order = store.getOrder(subject.outTradeNo);
      if (order === undefined) return undefined;
      const format = this.deps.formats[order.protocol.version];
      const job = order.notification;
      return {
        key: `payment:${order.outTradeNo}`,
        outTradeNo: order.outTradeNo,
        protocol: order.protocol.version,
        notifyUrl: order.notifyUrl,
        job,
        format:
          format === undefined || job === undefined
            ? undefined
            : {
                encode: (tamper) => format.encode(order, job.event, tamper),
                isAcknowledged: (status, reply) => format.isAcknowledged(status, reply),
              },
        save: (progress) =>
          store.updateOrder(order.outTradeNo, (o) =>
            o.notification === undefined ? o : { ...o, notification: { ...o.notification, ...progress } },
          ),
      };
    }
    const refund = store.getRefund(subject.outRefundNo);
    const order = refund === undefined ? undefined : store.getOrder(refund.outTradeNo);
    if (refund?.notifyUrl === undefined || order === undefined) return undefined;
    const format = this.deps.refundFormats[refund.protocol.version];
    const job = refund.notification;
    return {
      key: `refund:${refund.outRefundNo}`,
      outTradeNo: refund.outTradeNo,
      outRefundNo: refund.outRefundNo,
      protocol: refund.protocol.version,
      notifyUrl: refund.notifyUrl,
      job,
      format:
        format === undefined || job === undefined
          ? undefined
          : {
              encode: (tamper) => format.encode(refund, order, job.event, tamper),
              isAcknowledged: (status, reply) => format.isAcknowledged(status, reply),
            },
      save: (progress) =>
        store.updateRefund(refund.outRefundNo, (r) =>
          r.notification === undefined ? r : { ...r, notification: { ...r.notification, ...progress } },
        ),
    };
  }

  /** Sets the timer for the job's next attempt; false when it cannot run here. */
  private arm(subject: Subject, job: NotificationProgress): boolean {
    if (this.closed) return false;
    const target = this.target(subject);
    if (target === undefined) return false;
    const label = target.outRefundNo === undefined ? target.outTradeNo : `refund ${target.outRefundNo}`;
    if (target.format === undefined) {
      this.deps.log(`notify ${label}: left pending, this simulator does not speak ${target.protocol}`);
      return false;
    }
    const previous = this.timers.get(target.key);
    if (previous) this.deps.clock.clearTimer(previous);
    const wait = (job.nextAttemptAt ?? 0) - this.deps.clock.now();
    const timer = this.deps.clock.setTimer(() => {
      this.timers.delete(target.key);
      const run = this.attempt(subject, job.id).catch((err: unknown) => {
        this.deps.log(`notify ${label}: attempt failed unexpectedly: ${(err as Error).message}`);
      });
      this.inFlight.add(run);
      void run.finally(() => this.inFlight.delete(run));
    }, wait);
    this.timers.set(target.key, timer);
    return true;
  }

  private async attempt(subject: Subject, jobId: string): Promise<void> {
    const { faults, clock, rules, log, store } = this.deps;
    const target = this.target(subject);
    const job = target?.job;
    if (this.closed || target === undefined || job === undefined || job.id !== jobId || job.status !== 'pending')
      return;
    const { outTradeNo, outRefundNo, notifyUrl } = target;
    const label = outRefundNo === undefined ? outTradeNo : `refund ${outRefundNo}`;
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
        url: notifyUrl,
        outcome: 'dropped',
        outRefundNo,
        fault,
      });
      target.save({ ...job, status: 'dropped', nextAttemptAt: undefined });
      log(`notify ${label}: dropped (fault)`);
      return;
    }

    const format = target.format;
    if (format === undefined) return; // see arm(): the job waits for a simulator that speaks its protocol
    const { body, headers } = format.encode(tamperFor(fault));
    const copies = fault === 'duplicate' ? DUPLICATE_COPIES : 1;
    const results = await Promise.all(
      Array.from({ length: copies }, () =>
        postOnce(notifyUrl, body, headers, this.deps.replyTimeoutMs, this.aborter.signal),
      ),
    );
    // Cut short by close(): not an attempt; the job stays due and resumes on the next start.
    if (this.closed) return;

    let delivered = false;
    results.forEach((result, index) => {
      const acknowledged =
        result.httpStatus !== undefined && format.isAcknowledged(result.httpStatus, result.reply ?? '');
      delivered ||= acknowledged;
      store.appendJournal(outTradeNo, {
        ...journalEntry(at, jobId, attempt, index + 1, notifyUrl, body, result, acknowledged, fault),
        outRefundNo,
      });
    });

    const current = this.target(subject);
    if (current?.job?.id !== jobId) return; // replaced by a newer event meanwhile
    const retryIn = delivered ? undefined : rules.retryDelayAfter(attempt);
    const next: NotificationProgress = delivered
      ? { ...current.job, attempts: attempt, status: 'delivered', nextAttemptAt: undefined }
      : retryIn === undefined
        ? { ...current.job, attempts: attempt, status: 'gave_up', nextAttemptAt: undefined }
        : { ...current.job, attempts: attempt, nextAttemptAt: clock.now() + retryIn };
    current.save(next);
    const outcome = delivered ? 'acknowledged' : next.status === 'gave_up' ? 'failed, giving up' : 'failed, will retry';
    log(`notify ${label}: attempt ${attempt} ${outcome}`);
    if (next.status === 'pending') this.arm(subject, next);
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
): Extract<JournalEntry, { kind: 'notify' }> {
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
