import type { Source } from './order';

/**
 * What the domain reports that operators must see (logs, metrics, alarms). The domain decides what
 * happened; the adapter decides how it is shown.
 */
export interface PaymentObserver {
  /** A notification or query answer was refused: forged, foreign, mismatched, unknown order. */
  rejected(reason: string, detail: { outTradeNo?: string; source: Source }): void;
  /** WeChat said ORDERPAID while we were closing an expired order: the payment was kept. */
  paidAtExpiry(outTradeNo: string): void;
  /** Something failed that a later step repairs (e.g. the sweep re-enqueues a lost check). */
  recovered(what: string, detail: { outTradeNo: string; error: unknown }): void;
  /**
   * The sweep gave up on an order: its check was re-enqueued `requeues` times and never completed. The
   * order is out of the due index (marked checksExhaustedAt) and needs an operator.
   */
  checksExhausted(outTradeNo: string, detail: { requeues: number }): void;
}

export const silentObserver: PaymentObserver = {
  rejected: () => {},
  paidAtExpiry: () => {},
  recovered: () => {},
  checksExhausted: () => {},
};
