import { CreateRefund } from '#shared/domain/create-refund';
import { ProviderError } from '#shared/domain/errors';
import { GetRefund } from '#shared/domain/get-refund';
import { ListRefunds } from '#shared/domain/list-refunds';
import type { Order } from '#shared/domain/order';
import type { RawNotification } from '#shared/domain/ports';
import { ReceiveRefundNotification } from '#shared/domain/receive-refund-notification';
import type { Refund, RefundReport, ReportedRefundStatus } from '#shared/domain/refund';
import type { RefundNotificationCodec, VerifiedRefundNotification } from '#shared/domain/refund-ports';
import { RefundReconciler } from '#shared/domain/refund-reconciler';
import { RefundReports } from '#shared/domain/refund-reports';
import { FakeRefundProvider } from '#test/helpers/fake-refund-provider';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { at, orderFixture, T0 } from '#test/helpers/order-fixtures';
import { MERCHANT, paymentFacts } from '#test/helpers/payment-harness';
import { RecordingCheckScheduler } from '#test/helpers/recording-check-scheduler';
import { RecordingObserver } from '#test/helpers/recording-observer';
import { TestClock } from '#test/helpers/test-clock';

export const REFUND_NOTIFY_URL = 'https://pay.example.com/notify/refund';
export const REFUND_CHECK_SCHEDULE: readonly number[] = [60, 300, 1800];

/**
 * The refund use cases wired as the handlers wire them, over the unit tier's doubles: the in-memory
 * order and refund stores (sharing the orders, so the counters are checked together), a scripted
 * WeChat, a recording scheduler and observer, and a clock standing at T0 + 1 h until moved.
 */
export function refundHarness() {
  const orders = new InMemoryOrderStore();
  const refunds = new InMemoryRefundStore(orders);
  const provider = new FakeRefundProvider();
  const scheduler = new RecordingCheckScheduler();
  const clock = new TestClock(T0 + 3_600_000);
  const observer = new RecordingObserver();
  const reports = new RefundReports({ refunds, clock, merchant: MERCHANT, observer });
  const common = { refunds, provider, scheduler, clock, reports, refundNotifyUrl: REFUND_NOTIFY_URL };
  let ids = 0;
  return {
    orders,
    refunds,
    provider,
    scheduler,
    clock,
    observer,
    reports,
    createRefund: new CreateRefund({ ...common, orders, observer, refundCheckSchedule: REFUND_CHECK_SCHEDULE }),
    getRefund: new GetRefund({ refunds, provider, reports }),
    listRefunds: new ListRefunds({ orders, refunds }),
    receiveRefundNotification: new ReceiveRefundNotification({
      orders,
      clock,
      reports,
      observer,
      newId: () => `N${String((ids += 1)).padStart(4, '0')}`,
    }),
    reconciler: new RefundReconciler({ ...common, refundCheckSchedule: REFUND_CHECK_SCHEDULE }),
  };
}

export type RefundHarness = ReturnType<typeof refundHarness>;

/** A PAID order of 19.99 CNY, paid at T0 (v2's time_end in Beijing time: 08:00 there is T0). */
export function paidOrder(overrides: Partial<Order> = {}): Order {
  return orderFixture({
    status: 'PAID',
    payment: { ...paymentFacts(1999), paidAt: '20300101080000' },
    history: [
      { at: at(0), from: null, to: 'CREATED', source: 'api' },
      { at: at(0), from: 'CREATED', to: 'PENDING', source: 'api' },
      { at: at(5), from: 'PENDING', to: 'PAID', source: 'notify' },
    ],
    ...overrides,
    nextCheckAt: undefined,
  });
}

/** The transaction_id of paidOrder's payment: what WeChat's reports about its refunds name. */
export const PAID_TRANSACTION_ID = paymentFacts().transactionId;

/** What WeChat says about one refund: for the refund's own amounts and paidOrder's payment unless overridden. */
export function refundReport(
  refund: Pick<Refund, 'outTradeNo' | 'outRefundNo'> & { amount: { refund: number; total: number } },
  status: ReportedRefundStatus,
  overrides: Partial<RefundReport> = {},
): RefundReport {
  return {
    outTradeNo: refund.outTradeNo,
    outRefundNo: refund.outRefundNo,
    status,
    mchid: MERCHANT.mchid,
    refundId: '50000000382019052709732678859',
    transactionId: PAID_TRANSACTION_ID,
    amount: { refund: refund.amount.refund, total: refund.amount.total },
    ...(status === 'SUCCESS' ? { successTime: '2030-01-01T09:05:00+08:00', userReceivedAccount: '支付用户零钱' } : {}),
    ...overrides,
  };
}

/** WeChat refusing or failing a call, as the provider adapters throw it. */
export function refundError(code: string, retryable: boolean, kind: 'business' | 'transport' = 'business') {
  return new ProviderError(code, `WeChat says ${code}`, { retryable, kind, rawCode: code });
}

/** A RefundNotificationCodec whose verdict the test sets. */
export class ScriptedRefundCodec implements RefundNotificationCodec {
  readonly verified: RawNotification[] = [];

  constructor(
    public verdict: VerifiedRefundNotification,
    readonly apiVersion: 'v2' | 'v3' = 'v3',
  ) {}

  async verify(notification: RawNotification): Promise<VerifiedRefundNotification> {
    this.verified.push(notification);
    return this.verdict;
  }

  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    const serial = notification.headers['wechatpay-serial'];
    return serial === undefined ? undefined : { 'wechatpay-serial': serial };
  }
}
