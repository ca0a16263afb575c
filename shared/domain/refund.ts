import type { Currency, Source } from './order';

/**
 * A refund: the second aggregate, beside the order it gives money back from (README "Refunds").
 * Statuses are WeChat's words: PROCESSING → SUCCESS | CLOSED | ABNORMAL, and ABNORMAL → SUCCESS |
 * CLOSED once WeChat has reprocessed it (a frozen or closed bank card). Money is integer fen.
 */
export const REFUND_STATUSES = ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

/** WeChat's limit of refunds per order. */
export const MAX_REFUNDS_PER_ORDER = 50;
/** WeChat refunds nothing paid more than this long ago (from the payment's success time). */
export const REFUND_WINDOW_DAYS = 365;

/** What the merchant asked for; hashed to tell a retry from a conflicting reuse of out_refund_no. */
export interface RefundRequest {
  outTradeNo: string;
  outRefundNo: string;
  /** Fen to give back. */
  refund: number;
  /** Shown to the payer by WeChat (≤ 80 characters). */
  reason?: string;
}

export interface RefundAmount {
  /** Fen given back by this refund. */
  refund: number;
  /** Fen the order was paid (WeChat wants it with every refund request). */
  total: number;
  currency: Currency;
}

export interface RefundHistoryEntry {
  at: string;
  from: RefundStatus | null;
  to: RefundStatus;
  source: Source;
  note?: string;
}

/** WeChat's final refusal of a refund request it never accepted (the refund is CLOSED). */
export interface RefundFailure {
  code: string;
  message: string;
}

export interface Refund {
  outRefundNo: string;
  outTradeNo: string;
  status: RefundStatus;
  amount: RefundAmount;
  reason?: string;
  requestHash: string;
  createdAt: string;
  updatedAt: string;
  /** WeChat's refund_id, once WeChat has reported it. */
  refundId?: string;
  /**
   * The order's payment (WeChat's transaction_id), copied at creation: every report about the refund
   * must name this payment. Absent on refunds stored before it was kept.
   */
  transactionId?: string;
  /**
   * When WeChat accepted the request (受理). Absent while it is still to be sent, or sent without an
   * answer: the reconciler asks WeChat, and sends it again with the same out_refund_no when WeChat
   * does not know it. Never a new out_refund_no.
   */
  acceptedAt?: string;
  /** Set on a refund WeChat refused outright (CLOSED without ever being accepted). */
  failure?: RefundFailure;
  /** When the money reached the payer: RFC 3339 with its offset. */
  successTime?: string;
  /** Where the money went, in WeChat's words (e.g. 支付用户零钱). */
  userReceivedAccount?: string;
  /** When the reconciler should next ask WeChat; absent once the refund is final. */
  nextCheckAt?: string;
  history: RefundHistoryEntry[];
}

/**
 * The order's refund counters, kept on the order item and changed only in the same transaction as a
 * refund's creation or status change, so the invariant holds in storage: refunded + pending never
 * exceeds the amount paid, and count never exceeds MAX_REFUNDS_PER_ORDER.
 */
export interface RefundTotals {
  /** Fen of SUCCESS refunds. */
  refunded: number;
  /** Fen of PROCESSING and ABNORMAL refunds. */
  pending: number;
  /** Refunds ever created for the order (CLOSED ones included: WeChat counts requests). */
  count: number;
}

/** WeChat's refund status as reported, plus NOT_FOUND (REFUNDNOTEXIST / RESOURCE_NOT_EXISTS). */
export type ReportedRefundStatus = RefundStatus | 'NOT_FOUND';

/** A statement from WeChat about one refund: an answer to create or query, or a notification. */
export interface RefundReport {
  outTradeNo: string;
  outRefundNo: string;
  status: ReportedRefundStatus;
  /** The merchant it is for (mch_id / mchid), checked against ours. */
  mchid: string;
  /** v2 notifications and answers carry appid; v3 refund messages do not. */
  appid?: string;
  refundId?: string;
  /** The payment refunded (transaction_id), where WeChat's message carries it. */
  transactionId?: string;
  /** Checked against the stored refund: a report for another amount changes nothing. */
  amount?: { refund: number; total: number };
  /** RFC 3339 with its offset (converted from v2's Beijing `yyyy-MM-dd HH:mm:ss`). */
  successTime?: string;
  userReceivedAccount?: string;
  /**
   * When WeChat accepted the request, in WeChat's own words (v3's `create_time`, RFC 3339 with its
   * offset): the day its trade bill lists the refund on. v2's answers and every notification carry
   * no such time.
   */
  acceptedAt?: string;
  /**
   * The call of ours the report answers, where the provider says: our submission's answer is heard
   * the moment WeChat accepts, a query's may be heard long after. Absent for a notification.
   */
  answerTo?: 'submit' | 'query';
}
