import { FloodSampler } from './flood-sampler';
import type { PaymentObserver } from './payment-observer';
import type {
  Clock,
  NotificationRecord,
  OrderStore,
  RawNotification,
  UnverifiedNotification,
  UnverifiedReason,
} from './ports';
import { sha256, UNUSABLE_NOTIFICATION } from './receive-notification';
import type { RefundNotificationCodec } from './refund-ports';
import type { RefundApplyOutcome, RefundRejectionReason, RefundReports } from './refund-reports';

export interface ReceiveRefundNotificationDeps {
  /** Where notifications are kept (refused ones, and those that change nothing) and unverified traces. */
  orders: OrderStore;
  clock: Clock;
  reports: RefundReports;
  observer: PaymentObserver;
  /** Unique per receipt. */
  newId: () => string;
  /** Which unverified notifications are recorded; by default a per-instance FloodSampler. */
  sampler?: FloodSampler;
}

/**
 * What the endpoint answers: ok only once the notification and its effect are durably stored.
 * - unverified: not proven WeChat's (for v2: req_info our key does not decrypt).
 * - refused: WeChat's words that do not match the stored refund (or name none of ours); nothing changed.
 * - unusable: WeChat's words that could not be read as a refund report.
 */
export type RefundNotificationOutcome =
  | { ok: true; outcome: RefundApplyOutcome }
  | { ok: false; refusal: 'unverified'; reason: UnverifiedReason; claimedOutTradeNo?: string }
  | { ok: false; refusal: 'refused'; reason: RefundRejectionReason; outTradeNo: string; outRefundNo: string }
  | { ok: false; refusal: 'unusable'; reason: typeof UNUSABLE_NOTIFICATION; outTradeNo?: string };

/** Longest codec wording passed on (log, stored reason): a parser's message may quote the body at length. */
const MAX_DETAIL_CHARS = 200;

/**
 * POST /notify/refund, as ReceiveNotification does for payments: verifies, records, then applies, and
 * answers ok only after the notification is stored with the change it causes. A v2 refund
 * notification carries no signature: that its req_info decrypts under our key, and that every field
 * of it matches the stored refund (RefundReports), is all the proof there is; anything else changes
 * nothing. Only a verified body is ever stored; of anything else, only traces.
 */
export class ReceiveRefundNotification {
  private readonly sampler: FloodSampler;

  constructor(private readonly deps: ReceiveRefundNotificationDeps) {
    this.sampler = deps.sampler ?? new FloodSampler(deps.clock);
  }

  async execute(codec: RefundNotificationCodec, raw: RawNotification): Promise<RefundNotificationOutcome> {
    const { orders, reports } = this.deps;
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
    const outcome = await reports.apply(report, 'notify', record);
    if (outcome.kind === 'rejected') {
      // Under its order when the order is ours, else apart, so a later order with that number starts clean.
      const ours = outcome.refund !== undefined || (await orders.get(report.outTradeNo)) !== undefined;
      await orders.recordNotification({
        ...record,
        outTradeNo: ours ? report.outTradeNo : undefined,
        outcome: 'rejected',
        reason: `${outcome.reason} (out_trade_no ${report.outTradeNo}, out_refund_no ${report.outRefundNo})`,
      });
      return {
        ok: false,
        refusal: 'refused',
        reason: outcome.reason,
        outTradeNo: report.outTradeNo,
        outRefundNo: report.outRefundNo,
      };
    }
    // An applied change stored its notification in the same write; any other is stored now, before the reply.
    if (outcome.kind !== 'applied') await orders.recordNotification(record);
    return { ok: true, outcome };
  }

  /**
   * A notification refused before any codec read it (the endpoint's size cap): counted and traced as
   * any unverified one.
   */
  async refuseUnread(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
  ): Promise<RefundNotificationOutcome> {
    return this.refuseUnverified(apiVersion, raw, reason, {});
  }

  /**
   * WeChat's own message that cannot be read as a refund report (an unknown event or status, missing
   * fields, a resource our APIv3 key does not decrypt): stored whole and reported, like a refused one.
   */
  private async refuseUnusable(
    codec: RefundNotificationCodec,
    raw: RawNotification,
    verified: { reason: string; outTradeNo?: string },
  ): Promise<RefundNotificationOutcome> {
    const { orders, observer } = this.deps;
    const named = verified.outTradeNo;
    const outTradeNo = named !== undefined && (await orders.get(named)) !== undefined ? named : undefined;
    observer.refundRejected(UNUSABLE_NOTIFICATION, {
      ...(named === undefined ? {} : { outTradeNo: named }),
      source: 'notify',
    });
    await orders.recordNotification({
      ...this.receipt(codec, raw),
      outTradeNo,
      outcome: 'rejected',
      reason: `${UNUSABLE_NOTIFICATION}: ${verified.reason.slice(0, MAX_DETAIL_CHARS)}`,
    });
    return named === undefined
      ? { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION }
      : { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION, outTradeNo: named };
  }

  private receipt(
    codec: RefundNotificationCodec,
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

  private async refuseUnverified(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
    said: { detail?: string; claimedOutTradeNo?: string },
  ): Promise<RefundNotificationOutcome> {
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

  /** Whether the trace was kept; a failed trace write is let go (see ReceiveNotification.keepTrace). */
  private async keepTrace(trace: UnverifiedNotification): Promise<boolean> {
    try {
      await this.deps.orders.recordUnverified(trace);
      return true;
    } catch {
      return false;
    }
  }
}
