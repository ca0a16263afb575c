import type { Order, Source } from './order';
import type { NotificationRecord, NotificationRefusal, RawNotification } from './ports';
import type { Refund, RefundFailure, RefundReport, RefundStatus } from './refund';

// ---- Refund store -------------------------------------------------------------------------------

/**
 * The outcome of creating a refund: one transaction that stores the refund and moves the order's
 * counters (RefundTotals), conditional on the order being PAID, on fewer than MAX_REFUNDS_PER_ORDER
 * refunds, and on refunded + pending + this refund ≤ paid. Nothing is written unless all hold.
 * - created: both written.
 * - exists: a refund with this out_refund_no exists for the order (compare requestHash); `refund` is it.
 * - out_refund_no_used: another order has a refund with this out_refund_no (WeChat's out_refund_no is
 *   unique per merchant, not per order); `outTradeNo` is that order. Nothing written.
 * - order_not_found / order_not_paid / amount_exceeded / too_many_refunds: refused; `order` is current.
 */
export type RefundCreateResult =
  | { kind: 'created'; refund: Refund; order: Order }
  | { kind: 'exists'; refund: Refund }
  | { kind: 'out_refund_no_used'; outTradeNo: string }
  | { kind: 'order_not_found' }
  | { kind: 'order_not_paid'; order: Order }
  | { kind: 'amount_exceeded'; order: Order }
  | { kind: 'too_many_refunds'; order: Order };

export interface RefundTransitionCommand {
  outTradeNo: string;
  outRefundNo: string;
  to: RefundStatus;
  /** ISO 8601 instant of the transition. */
  at: string;
  source: Source;
  note?: string;
  refundId?: string;
  successTime?: string;
  userReceivedAccount?: string;
  /** WeChat's final refusal of a request it never accepted (with to = CLOSED). */
  failure?: RefundFailure;
  /** When the reconciler should next look; removed when `to` is final. */
  nextCheckAt?: string;
  /** Refuse unless the refund is for exactly this (what WeChat reported must be what was asked). */
  expectAmount?: { refund: number; total: number };
  /**
   * Refuse (conflict) if the refund has acceptedAt: closing on WeChat's refusal of a request must not
   * release money WeChat took with an earlier request for the same out_refund_no.
   */
  expectUnaccepted?: true;
  /** The notification that reports the change, stored by the same transaction (only if it applies). */
  notification?: NotificationRecord;
}

/**
 * The outcome of one refund transition: the refund's status and the order's counters change in the
 * same transaction (pending → refunded on SUCCESS, pending released on CLOSED, nothing on ABNORMAL).
 * - applied / already (already in `to`: a duplicate) / conflict (final in another state; `refund` is
 *   the current one) / amount_mismatch (nothing written) / not_found.
 */
export type RefundTransitionResult =
  | { kind: 'applied'; refund: Refund }
  | { kind: 'already'; refund: Refund }
  | { kind: 'conflict'; refund: Refund }
  | { kind: 'amount_mismatch'; refund: Refund }
  | { kind: 'not_found' };

export interface DueRefund {
  outTradeNo: string;
  outRefundNo: string;
  nextCheckAt: string;
}

export interface RefundStore {
  /** See RefundCreateResult. `refund` is PROCESSING; its amount.total must be the order's paid amount. */
  createRefund(refund: Refund): Promise<RefundCreateResult>;
  getRefund(outTradeNo: string, outRefundNo: string): Promise<Refund | undefined>;
  /** The order's refunds, oldest first. */
  listRefunds(outTradeNo: string): Promise<Refund[]>;
  transitionRefund(command: RefundTransitionCommand): Promise<RefundTransitionResult>;
  /**
   * Records WeChat's acceptance of a refund still PROCESSING or ABNORMAL (no status change): its
   * refund_id and when. Undefined when the refund is gone or final (nothing written).
   */
  recordAcceptance(
    outTradeNo: string,
    outRefundNo: string,
    acceptance: { acceptedAt: string; refundId?: string },
  ): Promise<Refund | undefined>;
  /** Moves the next check of a refund that is not final; a no-op otherwise. */
  setRefundNextCheck(outTradeNo: string, outRefundNo: string, nextCheckAt: string): Promise<void>;
  /** Refunds not final whose next check is at or before `now`, oldest first (an index query). */
  findDueRefunds(now: string, limit: number): Promise<DueRefund[]>;
}

// ---- Refund checks ------------------------------------------------------------------------------

export interface RefundCheck {
  outTradeNo: string;
  outRefundNo: string;
  /** 0 for the first check after the request; grows with each answer that is not final. */
  attempt: number;
  /** ISO 8601 instant the check is for. Delivered earlier (waits over SQS's 15 minutes), it is re-scheduled. */
  dueAt: string;
}

/** Puts refund checks on the same queue as payment checks (the message says which kind it is). */
export interface RefundCheckScheduler {
  scheduleRefund(check: RefundCheck): Promise<void>;
}

// ---- Refund provider (WeChat Pay v2 or v3) ------------------------------------------------------

export interface RefundSubmission {
  outTradeNo: string;
  outRefundNo: string;
  /** Fen to give back, and the order's paid total (WeChat checks both against the payment). */
  refund: number;
  total: number;
  currency: 'CNY';
  reason?: string;
  /** Where WeChat sends the result: the notify URL's /notify/refund. */
  notifyUrl: string;
}

export interface RefundProvider {
  /**
   * Asks WeChat to refund. Resolves with WeChat's acceptance (status PROCESSING, or already final).
   * Throws ProviderError: `retryable` (SYSTEMERROR, BIZERR_NEED_RETRY, NOTENOUGH, FREQUENCY_LIMITED,
   * ORDER_NOT_READY, transport failures) means send the same submission again later; otherwise it is
   * WeChat's final refusal (REFUND_FEE_MISMATCH, INVALID_REQUEST, ERROR, TRADE_OVERDUE, …).
   */
  submitRefund(submission: RefundSubmission): Promise<RefundReport>;
  /** WeChat's view of one refund; status NOT_FOUND when WeChat does not know it. Throws ProviderError. */
  queryRefund(outTradeNo: string, outRefundNo: string): Promise<RefundReport>;
}

// ---- Refund notifications -----------------------------------------------------------------------

/**
 * What a codec made of a refund notification (see VerifiedNotification for the kinds).
 * v2's are unsigned: `refund` means req_info decrypted with our API key (the only proof there is),
 * and the domain then checks every field against the stored refund. `rotatedKeyMayExplain` as for
 * VerifiedNotification: a key we do not hold (yet, or any more) could account for the refusal.
 */
export type VerifiedRefundNotification = { kind: 'refund'; report: RefundReport } | NotificationRefusal;

export interface RefundNotificationCodec {
  readonly apiVersion: 'v2' | 'v3';
  verify(notification: RawNotification): Promise<VerifiedRefundNotification>;
  /** The headers worth keeping with the stored notification (those that carry its signature). */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined;
}
