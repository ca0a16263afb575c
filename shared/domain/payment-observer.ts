import type { Source } from './order';
import type { UnverifiedReason } from './ports';

/** What is known of a notification refused before it was proven WeChat's; nothing in it is trusted. */
export interface UnverifiedDetail {
  apiVersion: 'v2' | 'v3';
  bodyBytes: number;
  bodySha256: string;
  /** Whether its traces were stored (see FloodSampler; a failed write is not retried); counted either way. */
  recorded: boolean;
  sourceIp?: string;
  /** The order number the sender wrote: a claim, never filed under that order. */
  claimedOutTradeNo?: string;
  /** The codec's wording, shortened: for the log only, never stored or answered. */
  detail?: string;
}

/**
 * What the domain reports that operators must see (logs, metrics, alarms). The domain decides what
 * happened; the adapter decides how it is shown.
 */
export interface PaymentObserver {
  /**
   * WeChat's own (verified) report was refused: foreign merchant, mismatched amount, no payment facts,
   * unknown order. Rare and always worth a look.
   */
  rejected(reason: string, detail: { outTradeNo?: string; source: Source }): void;
  /** A notification was not proven WeChat's: anyone can send one, so it is counted as traffic. */
  unverified(reason: UnverifiedReason, detail: UnverifiedDetail): void;
  /** WeChat reported a payment for an order CLOSED here: money to refund (kept on the order). */
  latePayment(outTradeNo: string, detail: { transactionId: string; amountTotal: number; source: Source }): void;
  /** WeChat said ORDERPAID while we were closing an expired order: the payment was kept. */
  paidAtExpiry(outTradeNo: string): void;
  /** Something failed that a later step repairs (e.g. the sweep re-enqueues a lost check). */
  recovered(what: string, detail: { outTradeNo: string; error: unknown }): void;
  /**
   * An order's checks were given up on: its check was put back `requeues` times (re-enqueued by the
   * sweep, or retried after running out of time) and never completed. The order is out of the due index
   * (marked checksExhaustedAt) and needs an operator.
   */
  checksExhausted(outTradeNo: string, detail: { requeues: number }): void;
  /**
   * A refund became ABNORMAL (the payer's bank card is closed or frozen): money that reaches nobody
   * until the merchant acts on WeChat Pay's merchant platform. Reported once, by the write that made it.
   */
  refundAbnormal(outTradeNo: string, outRefundNo: string): void;
  /**
   * WeChat's own (verified or decrypted) report about a refund was refused: foreign merchant, unknown
   * refund, another order, amount or refund_id than the stored refund's. Nothing was changed.
   */
  refundRejected(reason: string, detail: { outTradeNo?: string; outRefundNo?: string; source: Source }): void;
}

export const silentObserver: PaymentObserver = {
  rejected: () => {},
  unverified: () => {},
  latePayment: () => {},
  paidAtExpiry: () => {},
  recovered: () => {},
  checksExhausted: () => {},
  refundAbnormal: () => {},
  refundRejected: () => {},
};
