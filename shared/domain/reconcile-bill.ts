import type {
  BillDate,
  BillSource,
  ReconciliationReport,
  ReconciliationStore,
  SettledRecords,
} from './bill-reconciliation';
import type { Clock, OrderStore, PaymentProvider } from './ports';
import type { Refund } from './refund';
import type { RefundStore } from './refund-ports';
import type { TradeReports } from './trade-reports';

export interface ReconcileBillDeps {
  bills: BillSource;
  settled: SettledRecords;
  orders: OrderStore;
  refunds: RefundStore;
  /** Confirms a billed payment that is not PAID here (the query), before anything is applied. */
  provider: Pick<PaymentProvider, 'query'>;
  /** The path by which WeChat's word changes an order (a notification's path too). */
  tradeReports: TradeReports;
  /** Asks WeChat about one refund and applies its answer (GetRefund with sync); the refund after. */
  syncRefund(outTradeNo: string, outRefundNo: string): Promise<Refund>;
  store: ReconciliationStore;
  clock: Clock;
}

/**
 * One day's reconciliation: WeChat's bill against the records here, repairs applied through the
 * notification path, the report stored and returned.
 * Throws BillNotReadyError (ask later), BillRefusedError (tampered bill: nothing applied or stored),
 * ProviderError (WeChat could not be asked).
 */
export class ReconcileBill {
  constructor(private readonly deps: ReconcileBillDeps) {}

  async run(billDate: BillDate): Promise<ReconciliationReport> {
    void this.deps;
    throw new Error(`ReconcileBill.run(${billDate}) is being written`);
  }
}
