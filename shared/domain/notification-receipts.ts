import { createHash } from 'node:crypto';

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

/**
 * What the payment and the refund notification use cases both keep of a notification: the receipt of
 * a verified one (its body as received), and only traces of one not proven WeChat's.
 */

/** Longest codec wording passed on (log, stored reason): a parser's message may quote the body at length. */
export const MAX_DETAIL_CHARS = 200;

/** SHA-256 of a body as received, hex. */
export function sha256(body: string): string {
  return createHash('sha256').update(body, 'utf8').digest('hex');
}

/**
 * The reason code of a notification proven WeChat's that could not be read as a trade or a refund: one
 * code, so the metric and alarm stay a closed list; the codec's wording is kept with the stored body.
 */
export const UNUSABLE_NOTIFICATION = 'UNUSABLE_NOTIFICATION';

/** What the endpoint answers for WeChat's own message that cannot be used. */
export type UnusableOutcome = {
  ok: false;
  refusal: 'unusable';
  reason: typeof UNUSABLE_NOTIFICATION;
  outTradeNo?: string;
};

/** What the endpoint answers for a notification not proven WeChat's. */
export type UnverifiedOutcome = {
  ok: false;
  refusal: 'unverified';
  reason: UnverifiedReason;
  /** What the sender wrote, worth nothing. */
  claimedOutTradeNo?: string;
};

export interface ReceiptDeps {
  clock: Clock;
  /** Unique per receipt. */
  newId: () => string;
}

/** What a receipt needs of the codec that verified the notification. */
type NotificationCodecOf = {
  apiVersion: 'v2' | 'v3';
  auditHeaders(raw: RawNotification): Record<string, string> | undefined;
};

/** What is stored of every verified notification, whatever becomes of it: the body as received. */
export function notificationReceipt(
  deps: ReceiptDeps,
  codec: NotificationCodecOf,
  raw: RawNotification,
): Omit<NotificationRecord, 'outTradeNo' | 'outcome' | 'reason'> {
  return {
    id: deps.newId(),
    bodySha256: sha256(raw.body),
    receivedAt: deps.clock.now().toISOString(),
    apiVersion: codec.apiVersion,
    body: raw.body,
    headers: codec.auditHeaders(raw),
  };
}

/**
 * WeChat's own message (its signature verified, or for v2 refunds its req_info decrypted) that cannot
 * be applied: an unknown event, a resource our key does not decrypt, missing fields. Likely our
 * configuration or WeChat's protocol changed, so it is reported (`report`, to alarm at once) and stored
 * whole like a refused report: under its order when that order is ours, else apart, so a later order
 * with that number starts clean. WeChat retries on the refusal.
 */
export async function keepUnusable(
  deps: ReceiptDeps & { store: Pick<OrderStore, 'get' | 'recordNotification'> },
  codec: NotificationCodecOf,
  raw: RawNotification,
  verified: { reason: string; outTradeNo?: string },
  report: (named: string | undefined) => void,
): Promise<UnusableOutcome> {
  const named = verified.outTradeNo;
  const outTradeNo = named !== undefined && (await deps.store.get(named)) !== undefined ? named : undefined;
  report(named);
  await deps.store.recordNotification({
    ...notificationReceipt(deps, codec, raw),
    outTradeNo,
    outcome: 'rejected',
    reason: `${UNUSABLE_NOTIFICATION}: ${verified.reason.slice(0, MAX_DETAIL_CHARS)}`,
  });
  return named === undefined
    ? { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION }
    : { ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION, outTradeNo: named };
}

export interface UnverifiedTracesDeps extends ReceiptDeps {
  store: Pick<OrderStore, 'recordUnverified'>;
  observer: Pick<PaymentObserver, 'unverified'>;
  /** Which unverified notifications are recorded; by default a per-instance FloodSampler. */
  sampler?: FloodSampler;
}

/**
 * Refuses a notification not proven WeChat's: counted every time, its traces (hash, length, source, a
 * reason code; never the body) kept as far as the sampler admits.
 */
export class UnverifiedTraces {
  private readonly sampler: FloodSampler;

  constructor(private readonly deps: UnverifiedTracesDeps) {
    this.sampler = deps.sampler ?? new FloodSampler(deps.clock);
  }

  async refuse(
    apiVersion: 'v2' | 'v3',
    raw: RawNotification,
    reason: UnverifiedReason,
    said: { detail?: string; claimedOutTradeNo?: string },
  ): Promise<UnverifiedOutcome> {
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
