import { createHash } from 'node:crypto';

import { FloodSampler } from './flood-sampler';
import type { PaymentObserver } from './payment-observer';
import type {
  Clock,
  NotificationCodec,
  NotificationRecord,
  OrderStore,
  RawNotification,
  UnverifiedNotification,
  UnverifiedReason,
} from './ports';
import type { ApplyOutcome, RejectionReason, TradeReports } from './trade-reports';

export interface ReceiveNotificationDeps {
  store: OrderStore;
  clock: Clock;
  reports: TradeReports;
  observer: PaymentObserver;
  /** Unique per receipt. */
  newId: () => string;
  /** Which unverified notifications are recorded; by default a per-instance FloodSampler. */
  sampler?: FloodSampler;
}

/**
 * What the endpoint answers: ok only once the notification and its effect are durably stored.
 * - unverified: not proven WeChat's; `claimedOutTradeNo` is what the sender wrote, worth nothing.
 * - refused: WeChat's own words, refused by the domain (foreign merchant, amount, unknown order).
 * - unusable: WeChat's own words (the signature verified) that could not be read as a trade; kept
 *   and reported like a refused report, under the order it names when that order is ours.
 */
export type NotificationOutcome =
  | { ok: true; outcome: ApplyOutcome }
  | { ok: false; refusal: 'unverified'; reason: UnverifiedReason; claimedOutTradeNo?: string }
  | { ok: false; refusal: 'refused'; reason: RejectionReason; outTradeNo: string }
  | { ok: false; refusal: 'unusable'; reason: typeof UNUSABLE_NOTIFICATION; outTradeNo?: string };

/**
 * The reason code of a notification proven WeChat's that could not be read as a trade: one code, so
 * the metric and alarm stay a closed list; the codec's wording is kept with the stored body.
 */
export const UNUSABLE_NOTIFICATION = 'UNUSABLE_NOTIFICATION';

/** Longest codec wording passed on (log, stored reason): a parser's message may quote the body at length. */
const MAX_DETAIL_CHARS = 200;

/**
 * Verifies, records, then applies a notification: nothing is acknowledged before it is stored. Only
 * a verified body is ever stored: of anything else, only traces (hash, length, source, a reason code).
 */
export class ReceiveNotification {
  private readonly sampler: FloodSampler;

  constructor(private readonly deps: ReceiveNotificationDeps) {
    this.sampler = deps.sampler ?? new FloodSampler(deps.clock);
  }

  async execute(codec: NotificationCodec, raw: RawNotification): Promise<NotificationOutcome> {
    const { store, reports } = this.deps;
    const verified = await codec.verify(raw);
    if (verified.kind === 'rejected') {
      return this.refuseUnverified(codec.apiVersion, raw, verified.code, {
        detail: verified.reason,
        claimedOutTradeNo: verified.outTradeNo,
      });
    }
    if (verified.kind === 'unusable') return this.refuseUnusable(codec, raw, verified);
    const report = verified.report;
    const record: NotificationRecord = {
      ...this.receipt(codec, raw),
      outTradeNo: report.outTradeNo,
      outcome: 'accepted',
    };
    // A failed payment moves nothing: the payer may still pay, and the reconciler asks WeChat.
    const options = report.state === 'PAYERROR' ? { moveNothing: true } : { notification: record };
    const outcome = await reports.apply(report, 'notify', options);
    if (outcome.kind === 'rejected') {
      // Kept apart from real orders when the order is unknown, so a later order with that number starts clean.
      const outTradeNo = outcome.reason === 'UNKNOWN_ORDER' ? undefined : report.outTradeNo;
      const reason = `${outcome.reason} (out_trade_no ${report.outTradeNo})`;
      await store.recordNotification({ ...record, outTradeNo, outcome: 'rejected', reason });
      return { ok: false, refusal: 'refused', reason: outcome.reason, outTradeNo: report.outTradeNo };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await store.recordNotification(record);
    return { ok: true, outcome };
  }

  /**
   * WeChat's own message (its signature verified) that cannot be applied: an unknown event, a resource
   * our APIv3 key does not decrypt, an unsupported currency, missing fields. Likely our configuration
   * or WeChat's protocol changed, so it is stored whole, like a refused report (under its order when
   * that order is ours, else apart), and reported to alarm at once. WeChat retries on the refusal.
   */
  private async refuseUnusable(
    codec: NotificationCodec,
    raw: RawNotification,
    verified: { reason: string; outTradeNo?: string },
  ): Promise<NotificationOutcome> {
    const { store, observer } = this.deps;
    const named = verified.outTradeNo;
    // An order number that is not ours is filed apart, so a later order with that number starts clean.
    const outTradeNo = named !== undefined && (await store.get(named)) !== undefined ? named : undefined;
    observer.rejected(UNUSABLE_NOTIFICATION, {
      ...(named === undefined ? {} : { outTradeNo: named }),
      source: 'notify',
    });
    await store.recordNotification({
      ...this.receipt(codec, raw),
      outTradeNo,
      outcome: 'rejected',
      reason: `${UNUSABLE_NOTIFICATION}: ${verified.reason.slice(0, MAX_DETAIL_CHARS)}`,
    });
    return named === undefined
      ? { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION }
      : { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION, outTradeNo: named };
  }

  /** What is stored of every verified notification, whatever becomes of it: the body as received. */
  private receipt(
    codec: NotificationCodec,
    raw: RawNotification,
  ): Omit<NotificationRecord, 'outTradeNo' | 'outcome' | 'reason'> {
    return {
      id: this.deps.newId(),
      bodySha256: sha256(raw.body),
      receivedAt: this.deps.clock.now().toISOString(),
      apiVersion: codec.apiVersion,
      body: raw.body,
      headers: codec.auditHeaders(raw),
    };
  }

  /**
   * A notification refused before any codec read it (the endpoint's size cap): counted and traced as
   * any unverified one.
   */
  async refuseUnread(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
  ): Promise<NotificationOutcome> {
    return this.refuseUnverified(apiVersion, raw, reason, {});
  }

  private async refuseUnverified(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
    said: { detail?: string; claimedOutTradeNo?: string },
  ): Promise<NotificationOutcome> {
    const trace: UnverifiedNotification = {
      id: this.deps.newId(),
      receivedAt: this.deps.clock.now().toISOString(),
      apiVersion,
      reason,
      bodySha256: sha256(raw.body),
      bodyBytes: Buffer.byteLength(raw.body, 'utf8'),
      ...(raw.sourceIp === undefined ? {} : { sourceIp: raw.sourceIp }),
    };
    const recorded = this.sampler.admit() && (await this.keepTrace(trace));
    this.deps.observer.unverified(reason, {
      apiVersion,
      bodyBytes: trace.bodyBytes,
      bodySha256: trace.bodySha256,
      recorded,
      ...(raw.sourceIp === undefined ? {} : { sourceIp: raw.sourceIp }),
      ...(said.claimedOutTradeNo === undefined ? {} : { claimedOutTradeNo: said.claimedOutTradeNo }),
      ...(said.detail === undefined ? {} : { detail: said.detail.slice(0, MAX_DETAIL_CHARS) }),
    });
    return said.claimedOutTradeNo === undefined
      ? { ok: false, refusal: 'unverified', reason }
      : { ok: false, refusal: 'unverified', reason, claimedOutTradeNo: said.claimedOutTradeNo };
  }

  /**
   * Whether the trace was kept. A trace that could not be written is let go: nothing is owed to its
   * sender, the metric counts it anyway, and a throttled trace partition under a flood must not look
   * like a genuine notification lost (that failure fails the request, so WeChat retries, and alarms).
   */
  private async keepTrace(trace: UnverifiedNotification): Promise<boolean> {
    try {
      await this.deps.store.recordUnverified(trace);
      return true;
    } catch {
      return false;
    }
  }
}

/** SHA-256 of a body as received, hex. */
export function sha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}
