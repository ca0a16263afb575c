import type { RefundTotals } from './refund';

/** The order as the domain knows it. Money is integer fen; every identifier is a string. */

export const ORDER_STATUSES = ['CREATED', 'PENDING', 'PAID', 'CLOSED', 'FAILED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TRADE_TYPES = ['APP', 'JSAPI', 'NATIVE', 'MWEB'] as const;
export type TradeType = (typeof TRADE_TYPES)[number];

export type Currency = 'CNY';

export interface Amount {
  /** Integer fen. */
  total: number;
  currency: Currency;
}

export interface H5Info {
  type: string;
  app_name?: string;
  app_url?: string;
  bundle_id?: string;
  package_name?: string;
}

/** What the merchant asked for; hashed to tell a retry from a conflicting reuse of out_trade_no. */
export interface PaymentRequest {
  outTradeNo: string;
  description: string;
  amount: Amount;
  tradeType: TradeType;
  payerOpenid?: string;
  productId?: string;
  payerClientIp: string;
  h5Info?: H5Info;
  attach?: string;
  /** ISO 8601 instant. */
  expiresAt: string;
}

/** What the client (phone, browser, QR code) needs to open the WeChat cashier. */
export type ClientParams = Record<string, string>;

export interface Prepay {
  prepayId: string;
  client: ClientParams;
  /** ISO 8601 instant after which the prepay_id is no longer usable (WeChat: 2 hours). */
  validUntil: string;
}

/** Facts WeChat reports about a successful payment. */
export interface PaymentFacts {
  transactionId: string;
  /** Fen actually paid. */
  amountTotal: number;
  currency: Currency;
  /** WeChat's completion time, as WeChat sent it (v2 yyyyMMddHHmmss, v3 RFC 3339). */
  paidAt: string;
  bankType?: string;
  payerOpenid?: string;
}

/**
 * What moved an order: the merchant's API call creating it (api), a notification (notify), a query
 * asked for by the merchant (query), the reconciler's check (reconcile), the merchant's close (close),
 * the daily bill reconciliation's confirming query (bill).
 */
export const SOURCES = ['api', 'notify', 'query', 'reconcile', 'close', 'bill'] as const;
export type Source = (typeof SOURCES)[number];

export interface HistoryEntry {
  at: string;
  from: OrderStatus | null;
  to: OrderStatus;
  source: Source;
  note?: string;
}

/**
 * A payment WeChat reported for an order already CLOSED here: WeChat holds the payer's money for an
 * order we will not fulfil, so an operator refunds it (README, "A payment on a closed order").
 */
export interface LatePayment {
  transactionId: string;
  /** Fen paid. */
  amountTotal: number;
  currency: Currency;
  /** WeChat's completion time, as WeChat sent it. */
  paidAt: string;
  /** When we learnt of it (ISO 8601). */
  receivedAt: string;
  source: Source;
}

export interface Order {
  outTradeNo: string;
  status: OrderStatus;
  request: PaymentRequest;
  requestHash: string;
  createdAt: string;
  updatedAt: string;
  prepay?: Prepay;
  payment?: PaymentFacts;
  /** Why the order was closed or failed, in WeChat's words where there are some. */
  reason?: string;
  /** Set once, on a CLOSED order that WeChat then reported paid. */
  latePayment?: LatePayment;
  /**
   * The watch bound: the instant by which the order's chain of checks must have written again (moved
   * the bound on, or settled the order) if it is alive; past it (and a grace), the sweep re-enqueues a
   * check. Written when the order is created, moved on rarely (see Reconciler), absent once it is final.
   */
  nextCheckAt?: string;
  /**
   * How often the order's check was put back without completing (re-enqueued by the sweep, or asked
   * again after running out of the invocation's time) since a check last completed; absent at none.
   * Past a bound (SWEEP_MAX_REQUEUES) the checks are given up on.
   */
  requeues?: number;
  /**
   * When its checks were given up on: the order left the due index then, and nobody asks WeChat about it
   * until an operator settles it or a renewed prepay puts it back.
   */
  checksExhaustedAt?: string;
  /** The order's refund counters (see RefundTotals); absent until its first refund. */
  refunds?: RefundTotals;
  history: HistoryEntry[];
}
