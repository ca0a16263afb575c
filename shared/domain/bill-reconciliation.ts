import type { Currency } from './order';
import type { RefundStatus } from './refund';

/**
 * Daily bill reconciliation (README "Bill reconciliation"): WeChat's trade bill of one Beijing day,
 * line by line, against the orders and refunds here. Money is integer fen.
 */

/** A Beijing calendar day, `YYYY-MM-DD`: the day a bill covers. */
export type BillDate = string;

/** A payment as WeChat's bill lists it (交易状态 SUCCESS; REVOKED: paid, then revoked). */
export interface BilledPayment {
  kind: 'payment';
  outTradeNo: string;
  transactionId: string;
  /** 订单金额: what the order asked for and the payer paid (fen). */
  total: number;
  currency: Currency;
  state: 'SUCCESS' | 'REVOKED';
  /** 交易时间 as RFC 3339 with +08:00. */
  tradeTime: string;
}

/** A refund as WeChat's bill lists it: on the day it was applied for, with its status then. */
export interface BilledRefund {
  kind: 'refund';
  outTradeNo: string;
  transactionId: string;
  outRefundNo: string;
  refundId: string;
  /** 申请退款金额: the refund asked for (fen). */
  refund: number;
  status: RefundStatus;
  /** 交易时间 (the refund's application) as RFC 3339 with +08:00. */
  tradeTime: string;
}

export type BillLine = BilledPayment | BilledRefund;

/**
 * What asking WeChat for a day's bill gave.
 * - bill: the lines, streamed. Iterating them throws BillRefusedError when the file is not WeChat's
 *   (its SHA1 disagrees with the hash WeChat announced, or it disagrees with its own summary): that is
 *   known only at the end, so nothing may be applied before the iteration has completed.
 * - no_bill: WeChat has no bill for the day (No Bill Exist / NO_STATEMENT_EXIST): it saw no trade.
 * - not_ready: the bill is still being generated (Bill Creating / STATEMENT_CREATING): ask later.
 */
export type BillFetch = { kind: 'bill'; lines: AsyncIterable<BillLine> } | { kind: 'no_bill' } | { kind: 'not_ready' };

export interface BillSource {
  readonly apiVersion: 'v2' | 'v3';
  /** Throws ProviderError when WeChat cannot be asked or refuses (other than no_bill / not_ready). */
  fetch(billDate: BillDate): Promise<BillFetch>;
}

/** A PAID order of the day here: the payment's Beijing day (its paidAt) is the bill's. */
export interface SettledPayment {
  kind: 'payment';
  outTradeNo: string;
  transactionId: string;
  /** Fen paid. */
  total: number;
}

/**
 * A SUCCESS refund of the day here: the Beijing day WeChat accepted it (acceptedAt, else createdAt),
 * which is the day WeChat's bill lists it on.
 */
export interface SettledRefund {
  kind: 'refund';
  outTradeNo: string;
  outRefundNo: string;
  refundId?: string;
  /** Fen refunded. */
  refund: number;
}

export type SettledRecord = SettledPayment | SettledRefund;

/** The orders and refunds here that WeChat's bill of a day must list (the settled index). */
export interface SettledRecords {
  listSettled(billDate: BillDate): AsyncIterable<SettledRecord>;
}

export const DISCREPANCY_KINDS = ['NOT_PAID_HERE', 'AMOUNT_MISMATCH', 'MISSING_AT_WECHAT', 'REFUND_MISMATCH'] as const;
/**
 * - NOT_PAID_HERE: WeChat billed a payment for an order that is not PAID here (or unknown here).
 * - AMOUNT_MISMATCH: both sides hold the payment, for different amounts (or payments).
 * - MISSING_AT_WECHAT: PAID here on that day (or a SUCCESS refund), absent from WeChat's bill.
 * - REFUND_MISMATCH: a refund line that disagrees with the refund here (status, amount, unknown here).
 */
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** One side's view of the record a discrepancy is about. `amount` is the payment's total or the refund. */
export interface DiscrepancySide {
  status: string;
  amount: number;
  transactionId?: string;
  refundId?: string;
}

export interface Discrepancy {
  kind: DiscrepancyKind;
  outTradeNo: string;
  outRefundNo?: string;
  /** What the bill says; absent for MISSING_AT_WECHAT. */
  wechat?: DiscrepancySide;
  /** What was here when the run found it; absent when nothing is here. */
  here?: DiscrepancySide;
  /**
   * The run repaired it: WeChat's query confirmed the bill and the change was applied through the same
   * path as a notification (so it produced its event). Running the day again finds it matched.
   */
  repaired?: true;
}

/** At most this many discrepancies are kept in a report (an item's size is bounded); all are counted. */
export const MAX_REPORTED_DISCREPANCIES = 1_000;

export interface ReconciliationReport {
  billDate: BillDate;
  status: 'MATCHED' | 'DISCREPANCIES';
  counts: {
    /** Lines in WeChat's bill (payments and refunds). */
    wechat: number;
    /** Records here of that day: the settled index's, plus those the bill's lines found here. */
    here: number;
    /** Bill lines whose record here agrees. */
    matched: number;
    /** All discrepancies found, also those beyond MAX_REPORTED_DISCREPANCIES. */
    discrepancies: number;
  };
  /** The first MAX_REPORTED_DISCREPANCIES, sorted by kind, then out_trade_no, then out_refund_no. */
  discrepancies: Discrepancy[];
  /** Whether WeChat had a bill for the day (false: No Bill Exist). */
  billFound: boolean;
  apiVersion: 'v2' | 'v3';
  /** ISO 8601 instant the run finished. */
  reconciledAt: string;
}

export interface ReconciliationStore {
  /** Keeps the report of a run, replacing the day's earlier one. */
  save(report: ReconciliationReport): Promise<void>;
  get(billDate: BillDate): Promise<ReconciliationReport | undefined>;
}
