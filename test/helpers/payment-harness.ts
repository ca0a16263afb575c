import { ClosePayment } from '#shared/domain/close-payment';
import { CreatePayment } from '#shared/domain/create-payment';
import { ProviderError } from '#shared/domain/errors';
import { GetPayment } from '#shared/domain/get-payment';
import type { HistoryEntry, Order, PaymentFacts } from '#shared/domain/order';
import { OrderCloser } from '#shared/domain/order-closer';
import type { NewPayment } from '#shared/domain/payment-request';
import type {
  Merchant,
  NotificationCodec,
  OrderStore,
  PrepayResult,
  RawNotification,
  TradeReport,
  TradeState,
  VerifiedNotification,
} from '#shared/domain/ports';
import { ReceiveNotification } from '#shared/domain/receive-notification';
import { Reconciler } from '#shared/domain/reconciler';
import { TradeReports } from '#shared/domain/trade-reports';
import { FakePaymentProvider } from '#test/helpers/fake-payment-provider';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { TestClock } from '#test/helpers/test-clock';

export const MERCHANT: Merchant = { appid: 'wx2421b1c4370ec43b', mchid: '10000100' };
export const NOTIFY_URL = 'https://pay.example.com/notify/pay';
/** WeChat's numbers: a prepay_id lives two hours; an order may be closed five minutes after creation. */
export const PREPAY_TTL_SECONDS = 7200;
export const CLOSE_MIN_AGE_SECONDS = 300;
export const RECONCILE_SCHEDULE: readonly number[] = [30, 60, 120];
/** How often a check may be put back without completing before it is given up (SWEEP_MAX_REQUEUES). */
export const MAX_REQUEUES = 4;

/**
 * The domain's use cases and the reconciler wired as the handlers wire them (shared/app/dependencies.ts),
 * over the unit tier's doubles: an in-memory store, a scripted WeChat, a recording scheduler and
 * observer, and a clock standing at T0 until moved.
 */
export function paymentHarness<Store extends OrderStore = InMemoryOrderStore>(
  options: { store?: Store; reconcileSchedule?: readonly number[] } = {},
) {
  // In memory unless a test runs the same wiring over a real table.
  const store = (options.store ?? new InMemoryOrderStore()) as Store;
  const reconcileSchedule = options.reconcileSchedule ?? RECONCILE_SCHEDULE;
  const provider = new FakePaymentProvider();
  const scheduler = new RecordingCheckScheduler();
  const clock = new TestClock(T0);
  const observer = new RecordingObserver();
  const reports = new TradeReports({ store, clock, merchant: MERCHANT, observer });
  const closer = new OrderCloser({
    store,
    provider,
    clock,
    reports,
    observer,
    closeMinAgeSeconds: CLOSE_MIN_AGE_SECONDS,
  });
  let ids = 0;
  return {
    store,
    provider,
    scheduler,
    clock,
    observer,
    reports,
    closer,
    createPayment: new CreatePayment({
      store,
      scheduler,
      provider,
      clock,
      reports,
      observer,
      notifyUrl: NOTIFY_URL,
      prepayTtlSeconds: PREPAY_TTL_SECONDS,
      reconcileSchedule,
    }),
    getPayment: new GetPayment({ store, provider, reports }),
    closePayment: new ClosePayment({ store, closer }),
    receiveNotification: new ReceiveNotification({
      store,
      clock,
      reports,
      observer,
      newId: () => `N${String((ids += 1)).padStart(4, '0')}`,
    }),
    reconciler: new Reconciler({
      store,
      scheduler,
      provider,
      clock,
      reports,
      closer,
      observer,
      reconcileSchedule,
      maxRequeues: MAX_REQUEUES,
    }),
  };
}

export type PaymentHarness<Store extends OrderStore = InMemoryOrderStore> = ReturnType<typeof paymentHarness<Store>>;

/** What a merchant's backend asks for: 19.99 CNY, NATIVE, like orderFixture. */
export function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return {
    outTradeNo: 'T20300101000000001',
    description: 'Tea, 2 cups',
    amount: { total: 1999, currency: 'CNY' },
    tradeType: 'NATIVE',
    productId: 'tea-2',
    payerClientIp: '203.0.113.7',
    ...overrides,
  };
}

export function prepayResult(prepayId: string): PrepayResult {
  return { prepayId, client: { code_url: `weixin://wxpay/bizpayurl?pr=${prepayId}` } };
}

/** The facts of a payment of `total` fen. */
export function paymentFacts(total = 1999): PaymentFacts {
  return {
    transactionId: '4200001234567890123456789012',
    amountTotal: total,
    currency: 'CNY',
    paidAt: '20300101080510',
    bankType: 'OTHERS',
  };
}

/** What WeChat says about one of our trades; SUCCESS carries a payment of the order's 19.99 CNY. */
export function tradeReport(outTradeNo: string, state: TradeState, overrides: Partial<TradeReport> = {}): TradeReport {
  const paid = state === 'SUCCESS' || state === 'REFUND';
  return {
    outTradeNo,
    state,
    ...MERCHANT,
    amount: { total: 1999, currency: 'CNY' },
    ...(paid ? { payment: paymentFacts() } : {}),
    ...overrides,
  };
}

/** WeChat refusing a call, as the provider adapters throw it. */
export function wechatRefuses(code: string, retryable = false): ProviderError {
  return new ProviderError(code, `WeChat says ${code}`, { retryable, kind: 'business', rawCode: code });
}

/**
 * An order awaiting payment (PENDING unless overridden) with a live prepay and its first check due at
 * T0+30 s; its history leads to its status.
 */
export function pendingOrder(overrides: Partial<Order> = {}): Order {
  const status = overrides.status ?? 'PENDING';
  const history: HistoryEntry[] = [{ at: at(0), from: null, to: 'CREATED', source: 'api' }];
  if (status !== 'CREATED') history.push({ at: at(0), from: 'CREATED', to: 'PENDING', source: 'api' });
  if (status !== 'CREATED' && status !== 'PENDING')
    history.push({ at: at(1), from: 'PENDING', to: status, source: 'notify' });
  return orderFixture({
    status,
    prepay: { prepayId: 'wx-prepay-1', client: { code_url: 'weixin://wxpay/bizpayurl?pr=1' }, validUntil: at(7200) },
    nextCheckAt: at(30),
    history,
    ...overrides,
  });
}

/** A NotificationCodec whose verdict the test sets; it keeps the headers it is told are the signature's. */
export class ScriptedCodec implements NotificationCodec {
  readonly verified: RawNotification[] = [];

  constructor(
    public verdict: VerifiedNotification,
    readonly apiVersion: 'v2' | 'v3' = 'v3',
  ) {}

  async verify(notification: RawNotification): Promise<VerifiedNotification> {
    this.verified.push(notification);
    return this.verdict;
  }

  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    const serial = notification.headers['wechatpay-serial'];
    return serial === undefined ? undefined : { 'wechatpay-serial': serial };
  }
}

/** A notification as the endpoint received it. */
export function rawNotification(body = '{"id":"EV-1"}'): RawNotification {
  return { headers: { 'wechatpay-serial': 'PUB_KEY_ID_0114', 'content-length': String(body.length) }, body };
}
