import type { Source } from '#shared/domain/order';
import type { PaymentObserver, UnverifiedDetail } from '#shared/domain/payment-observer';
import type { UnverifiedReason } from '#shared/domain/ports';

/** One report the domain made to operators. */
export type ObservedEvent =
  | { kind: 'rejected'; reason: string; outTradeNo: string | undefined; source: Source }
  | { kind: 'unverified'; reason: UnverifiedReason; detail: UnverifiedDetail }
  | { kind: 'latePayment'; outTradeNo: string; transactionId: string; amountTotal: number; source: Source }
  | { kind: 'paidAtExpiry'; outTradeNo: string }
  | { kind: 'recovered'; what: string; outTradeNo: string; error: unknown }
  | { kind: 'checksExhausted'; outTradeNo: string; requeues: number }
  | { kind: 'refundAbnormal'; outTradeNo: string; outRefundNo: string }
  | {
      kind: 'refundRejected';
      reason: string;
      outTradeNo: string | undefined;
      outRefundNo: string | undefined;
      source: Source;
    };

/** A PaymentObserver that keeps every report, in order, for tests to assert on. */
export class RecordingObserver implements PaymentObserver {
  readonly events: ObservedEvent[] = [];

  rejected(reason: string, detail: { outTradeNo?: string; source: Source }): void {
    this.events.push({ kind: 'rejected', reason, outTradeNo: detail.outTradeNo, source: detail.source });
  }

  unverified(reason: UnverifiedReason, detail: UnverifiedDetail): void {
    this.events.push({ kind: 'unverified', reason, detail: { ...detail } });
  }

  latePayment(outTradeNo: string, detail: { transactionId: string; amountTotal: number; source: Source }): void {
    this.events.push({ kind: 'latePayment', outTradeNo, ...detail });
  }

  paidAtExpiry(outTradeNo: string): void {
    this.events.push({ kind: 'paidAtExpiry', outTradeNo });
  }

  recovered(what: string, detail: { outTradeNo: string; error: unknown }): void {
    this.events.push({ kind: 'recovered', what, outTradeNo: detail.outTradeNo, error: detail.error });
  }

  checksExhausted(outTradeNo: string, detail: { requeues: number }): void {
    this.events.push({ kind: 'checksExhausted', outTradeNo, requeues: detail.requeues });
  }

  refundAbnormal(outTradeNo: string, outRefundNo: string): void {
    this.events.push({ kind: 'refundAbnormal', outTradeNo, outRefundNo });
  }

  refundRejected(reason: string, detail: { outTradeNo?: string; outRefundNo?: string; source: Source }): void {
    this.events.push({
      kind: 'refundRejected',
      reason,
      outTradeNo: detail.outTradeNo,
      outRefundNo: detail.outRefundNo,
      source: detail.source,
    });
  }

  /** The reasons of the refund reports refused, in order. */
  get refundRejections(): string[] {
    return this.events.flatMap((event) => (event.kind === 'refundRejected' ? [event.reason] : []));
  }

  /** The reasons of the rejections reported, in order. */
  get rejections(): string[] {
    return this.events.flatMap((event) => (event.kind === 'rejected' ? [event.reason] : []));
  }
}
