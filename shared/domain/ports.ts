import type {
  Amount,
  ClientParams,
  LatePayment,
  Order,
  OrderStatus,
  PaymentFacts,
  PaymentRequest,
  Prepay,
  Source,
} from './order';

// ---- Order store --------------------------------------------------------------------------------

export type CreateResult = { kind: 'created'; order: Order } | { kind: 'exists'; order: Order };

export interface TransitionCommand {
  outTradeNo: string;
  to: OrderStatus;
  /** ISO 8601 instant of the transition. */
  at: string;
  source: Source;
  note?: string;
  prepay?: Prepay;
  payment?: PaymentFacts;
  reason?: string;
  /** The order's watch bound (Order.nextCheckAt) to set; omitted on settled states, where it is removed. */
  nextCheckAt?: string;
  /** Refuse unless the order asks for exactly this amount: a payment must be for what was asked. */
  expectAmount?: Amount;
  /** The notification that reports the change, stored by the same write (only if it applies). */
  notification?: NotificationRecord;
}

/**
 * The outcome of one conditional write.
 * - applied: this call made the change.
 * - already: the order was already in the target state; nothing was written (a duplicate).
 * - conflict: the order is in a state the target cannot be reached from; `order` is the current one.
 * - amount_mismatch: the order asks for another amount than `expectAmount`; nothing was written.
 */
export type TransitionResult =
  | { kind: 'applied'; order: Order }
  | { kind: 'already'; order: Order }
  | { kind: 'conflict'; order: Order }
  | { kind: 'amount_mismatch'; order: Order }
  | { kind: 'not_found' };

/**
 * A verified notification exactly as received (WeChat's own words), kept for audit whatever became of
 * it. Duplicates that change nothing are kept once: the store keys them by the body's hash.
 */
export interface NotificationRecord {
  /** Unique per receipt. */
  id: string;
  /** SHA-256 of the body, hex: the key a duplicate is recognised by. */
  bodySha256: string;
  /** Absent when the notification could not be read far enough to know it. */
  outTradeNo?: string;
  receivedAt: string;
  apiVersion: 'v2' | 'v3';
  /** accepted: verified and for a known order; rejected: refused, with the reason. */
  outcome: 'accepted' | 'rejected';
  reason?: string;
  /** The body as received (capped by the caller). */
  body: string;
  /** The headers that carry the signature, as the codec chose them (v3). */
  headers?: Record<string, string>;
}

/**
 * Why a notification was refused before it could be proven WeChat's: a closed list, so nothing the
 * sender wrote is ever echoed into storage or a reply.
 */
export const UNVERIFIED_REASONS = [
  'TOO_LARGE',
  'UNREADABLE',
  'UNSIGNED',
  'BAD_SIGNATURE',
  /** A v2 refund notification's req_info that our API key does not decrypt (it carries no signature). */
  'UNDECRYPTABLE',
  'UNKNOWN_KEY',
  'STALE_TIMESTAMP',
  'UNVERIFIED',
] as const;
export type UnverifiedReason = (typeof UNVERIFIED_REASONS)[number];

/** What is kept of a notification that was not proven WeChat's: never its body, only its traces. */
export interface UnverifiedNotification {
  /** Unique per receipt. */
  id: string;
  receivedAt: string;
  apiVersion: 'v2' | 'v3';
  reason: UnverifiedReason;
  /** SHA-256 of the body, hex, and its length in bytes. */
  bodySha256: string;
  bodyBytes: number;
  /** The caller's address as the Function URL saw it. */
  sourceIp?: string;
}

export interface DueOrder {
  outTradeNo: string;
  nextCheckAt: string;
}

/**
 * What putting back a check that did not complete (the sweep's re-enqueue of an overdue check, or the
 * reconciler's retry of one that ran out of time) did.
 * - requeued: the next check moved to the given instant; `requeues` counts the put-backs since a check
 *   last completed, this one included.
 * - exhausted: the order had been put back `maxRequeues` times already; it has left the due index and
 *   is marked for an operator instead. `requeues` is the count it stopped at.
 * - not_due: the order is settled, gone or already out of the index; nothing was written.
 */
export type RequeueResult =
  { kind: 'requeued'; requeues: number } | { kind: 'exhausted'; requeues: number } | { kind: 'not_due' };

/**
 * What moving an order's watch bound on (extendWatch) did.
 * - extended: the bound was `from` and is `to` now; the order's count of put-backs is cleared.
 * - superseded: the bound is not `from` (another chain of checks owns the order now: the sweep's
 *   re-enqueue, an out-of-time retry, or a twin that extended it first), or the order is settled, gone
 *   or out of the due index; nothing was written. `bound` is the order's bound now, when it has one.
 */
export type WatchExtension = { kind: 'extended' } | { kind: 'superseded'; bound?: string };

export interface OrderStore {
  /** Stores a new order; conditional on out_trade_no not existing. */
  create(order: Order): Promise<CreateResult>;
  get(outTradeNo: string): Promise<Order | undefined>;
  /** One conditional write on the current status (see lifecycle.sourcesOf). */
  transition(command: TransitionCommand): Promise<TransitionResult>;
  /**
   * Moves a watched order's watch bound (its nextCheckAt, the due index's sort key) from `from` to `to`,
   * conditional on it still being `from`, in one write that also clears the order's count of put-backs:
   * only a check that completes calls it. Refused, it writes nothing and answers `superseded`.
   */
  extendWatch(outTradeNo: string, from: string, to: string): Promise<WatchExtension>;
  /**
   * Puts back a check that did not complete, counted (the order's `requeues`): moves the watch bound to
   * `nextCheckAt` (the put-back check's due time, which its message carries as its bound) and adds one
   * to the count in the same conditional write, so concurrent callers cannot pass the bound; once the
   * count has reached `maxRequeues`, takes the order out of the due index instead and marks its checks
   * exhausted at `at` (by default `nextCheckAt`). Unlike extendWatch, it never clears the count.
   */
  requeueCheck(outTradeNo: string, nextCheckAt: string, maxRequeues: number, at?: string): Promise<RequeueResult>;
  /**
   * Replaces a lapsed prepay; conditional on the order still awaiting payment (PENDING or FAILED).
   * With `watchAgainAt` (for an order whose checks were given up on) the same write puts the order back
   * in the due index with that next check, and clears its count and its checksExhaustedAt.
   */
  renewPrepay(outTradeNo: string, prepay: Prepay, at: string, watchAgainAt?: string): Promise<TransitionResult>;
  /** Keeps a verified notification; one with the same body as one kept already is not kept again. */
  recordNotification(record: NotificationRecord): Promise<void>;
  /** Keeps the traces of a notification that was not proven WeChat's (under short-lived, sharded keys). */
  recordUnverified(record: UnverifiedNotification): Promise<void>;
  listNotifications(outTradeNo: string): Promise<NotificationRecord[]>;
  /**
   * Keeps a payment reported for an order that is CLOSED here; conditional on the order being CLOSED,
   * and the first such payment kept stays (applied, or `already` when one was kept before).
   */
  recordLatePayment(outTradeNo: string, payment: LatePayment): Promise<TransitionResult>;
  /** Watched orders whose watch bound is at or before `now`, oldest first (an index query). */
  findDue(now: string, limit: number): Promise<DueOrder[]>;
}

// ---- Check scheduler ----------------------------------------------------------------------------

export interface ReconcileCheck {
  outTradeNo: string;
  /** 0 for the first check after prepay; grows with each NOTPAY answer. */
  attempt: number;
  /** ISO 8601 instant the check is for. Delivered earlier (waits over SQS's 15 minutes), it is re-scheduled. */
  dueAt: string;
  /**
   * The watch bound of the chain the check belongs to (ISO 8601): the check runs only while the order's
   * nextCheckAt is exactly this. Absent on messages sent before bounds, whose bound is their `dueAt`
   * (what nextCheckAt held then).
   */
  bound?: string;
}

export interface CheckScheduler {
  schedule(check: ReconcileCheck): Promise<void>;
}

// ---- Payment provider (WeChat Pay v2 or v3) -----------------------------------------------------

/** WeChat's trade_state, plus NOT_FOUND for ORDERNOTEXIST / 404. */
export type TradeState =
  'SUCCESS' | 'REFUND' | 'NOTPAY' | 'CLOSED' | 'REVOKED' | 'USERPAYING' | 'PAYERROR' | 'NOT_FOUND';

/** A verified statement from WeChat about one trade: from a query answer or a notification. */
export interface TradeReport {
  outTradeNo: string;
  state: TradeState;
  appid: string;
  mchid: string;
  /** The amount WeChat says the trade is for; checked against the stored order. */
  amount?: Amount;
  /** Present when state is SUCCESS (or REFUND: it was paid). */
  payment?: PaymentFacts;
  /** WeChat's human description (trade_state_desc, err_code_des). */
  description?: string;
}

export interface PrepayResult {
  prepayId: string;
  /** What the client needs: re-signed APP / JSAPI params, or code_url / mweb_url. */
  client: ClientParams;
}

export interface PaymentProvider {
  readonly apiVersion: 'v2' | 'v3';
  /**
   * Throws ValidationError when the prepay for `request` would be refused by WeChat's rules before
   * anything is sent. Nothing is sent here: asked before an order is stored, so a request WeChat's
   * rules refuse never uses up its out_trade_no.
   */
  validate(request: PaymentRequest, notifyUrl: string): void;
  /** Throws ProviderError on failure. */
  prepay(request: PaymentRequest, notifyUrl: string): Promise<PrepayResult>;
  /** Throws ProviderError on failure; an unknown order is state NOT_FOUND, not an error. */
  query(outTradeNo: string): Promise<TradeReport>;
  /** Throws ProviderError (code ORDERPAID, ORDERCLOSED, …) when WeChat refuses. */
  close(outTradeNo: string): Promise<void>;
}

/** An HTTP request as the notify endpoint received it. */
export interface RawNotification {
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: string;
  /** The caller's address, when the transport tells it. */
  sourceIp?: string;
}

/**
 * What a codec made of a notification. `reason` is the codec's own wording (for the log).
 * - trade: proven WeChat's and read.
 * - unusable: proven WeChat's (the signature verified) but not usable here: an event we do not
 *   handle, a resource our key does not decrypt, a currency or fields we cannot read. WeChat's own
 *   message, so it is kept and alarmed on like a refused report; `outTradeNo` when it names one.
 * - rejected: not proven WeChat's; `code` is what is stored and counted, `outTradeNo` only what the
 *   sender claims.
 * `reason` is for the log, and may quote the sender. `rotatedKeyMayExplain`: a key we do not hold yet
 * (or no longer) could account for the refusal, on a notification shaped like WeChat's.
 */
export type VerifiedNotification = { kind: 'trade'; report: TradeReport } | NotificationRefusal;

/** The two ways a codec refuses a notification, payment or refund alike (see VerifiedNotification). */
export type NotificationRefusal =
  | { kind: 'unusable'; reason: string; outTradeNo?: string; rotatedKeyMayExplain?: true }
  | { kind: 'rejected'; code: UnverifiedReason; reason: string; outTradeNo?: string; rotatedKeyMayExplain?: true };

/**
 * Verifies and decodes the provider's notifications. How the provider wants its answer worded is
 * the endpoint's business, not the domain's.
 */
export interface NotificationCodec {
  readonly apiVersion: 'v2' | 'v3';
  verify(notification: RawNotification): Promise<VerifiedNotification>;
  /** The headers worth keeping with the stored notification (those that carry its signature). */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined;
}

// ---- Environment --------------------------------------------------------------------------------

export interface Clock {
  now(): Date;
}

/** The real clock: the default wherever a Clock is not injected. */
export const systemClock: Clock = { now: () => new Date() };

export interface Merchant {
  appid: string;
  mchid: string;
}
