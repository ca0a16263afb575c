import { formatTradeBill } from '#shared/wechatpay/bills/trade-bill';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { billTime, startOfBillDate } from './bill-dates';
import type { BillFaults } from './bill-faults';
import type { Payment, SimOrder } from './order-model';
import type { SimRefund } from './refund-model';
import type { StateStore } from './state-store';

/**
 * The daily trade bill (ALL) WeChat makes of the simulator's own trades and refunds: one SUCCESS line
 * per payment made that Beijing day, one REFUND line per refund applied for (accepted) that day with
 * its status as it now stands, in time order, written by the library's formatTradeBill. Nothing is
 * stored: a bill is derived from the persisted trades and refunds whenever it is asked for, so it
 * survives restarts with them and always shows a refund's latest status.
 */

const DAY_MS = 86_400_000;

/** The basic rate WeChat charges ordinary merchants, as the bill writes it. */
export const BILL_FEE_RATE = '0.60%';

/** 0.6 % of an amount, rounded to the fen as WeChat charges it (a 1-fen payment costs nothing), in 1/1000 fen. */
export function billFeeMilliFen(fen: number): number {
  return Math.floor((fen * 6 + 500) / 1000) * 1000;
}

/**
 * Which API a bill is served through, since each proves its bill differently: v2's only proof is the
 * summary line (no hash, no signature), v3's is the SHA1 `hash_value` of the signed tradebill answer.
 */
export type BillApi = 'v2' | 'v3';

export type IssuedBill =
  | { kind: 'creating' }
  /** No payment or refund that day: WeChat has no bill (an empty day, not an error). */
  | { kind: 'no_bill' }
  /** `served` is what goes out; `original` what WeChat made (they differ under the tamper fault). */
  | { kind: 'bill'; served: string; original: string };

export class TradeBills {
  constructor(
    private readonly store: StateStore,
    private readonly faults: BillFaults,
  ) {}

  /** The day's lines (the date already checked), oldest first; payments before refunds at the same second. */
  rows(billDate: string): TradeBillRow[] {
    const start = startOfBillDate(billDate);
    const within = (ms: number) => ms >= start && ms < start + DAY_MS;
    const lines: Array<{ at: number; rank: number; key: string; row: TradeBillRow }> = [];
    for (const order of this.store.allOrders()) {
      const { payment } = order;
      if (order.state !== 'SUCCESS' || payment === undefined || !within(payment.paidAt)) continue;
      lines.push({ at: payment.paidAt, rank: 0, key: order.outTradeNo, row: paymentRow(order, payment) });
    }
    for (const refund of this.store.allRefunds()) {
      const order = this.store.getOrder(refund.outTradeNo);
      const payment = order?.payment;
      if (order === undefined || payment === undefined || !within(refund.createdAt)) continue;
      lines.push({ at: refund.createdAt, rank: 1, key: refund.outRefundNo, row: refundRow(refund, order, payment) });
    }
    lines.sort((a, b) => a.at - b.at || a.rank - b.rank || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return lines.map((line) => line.row);
  }

  /** The day's bill as WeChat hands it out through `api` (the date already checked), with the day's faults applied. */
  issue(billDate: string, api: BillApi): IssuedBill {
    if (this.faults.of(billDate).creating) return { kind: 'creating' };
    const bill = this.make(billDate, api);
    return bill === undefined ? { kind: 'no_bill' } : { kind: 'bill', ...bill };
  }

  /** The day's bill even while "creating" (tamper applied as for `api`); undefined for a day without lines. */
  make(billDate: string, api: BillApi): { served: string; original: string } | undefined {
    const rows = this.rows(billDate);
    if (rows.length === 0) return undefined;
    const original = formatTradeBill(rows);
    return { original, served: this.faults.of(billDate).tamper ? tamper(original, rows, api) : original };
  }
}

function paymentRow(order: SimOrder, payment: Payment): TradeBillRow {
  return {
    ...tradeFields(order, payment),
    tradeTime: billTime(payment.paidAt),
    tradeState: 'SUCCESS',
    settlementTotalFen: order.totalFee,
    refundId: '0',
    outRefundNo: '0',
    refundFen: 0,
    refundType: '',
    refundStatus: undefined,
    feeMilliFen: billFeeMilliFen(order.totalFee),
    totalFen: order.totalFee,
    appliedRefundFen: 0,
  };
}

function refundRow(refund: SimRefund, order: SimOrder, payment: Payment): TradeBillRow {
  return {
    ...tradeFields(order, payment),
    tradeTime: billTime(refund.createdAt),
    tradeState: 'REFUND',
    settlementTotalFen: 0,
    refundId: refund.refundId,
    outRefundNo: refund.outRefundNo,
    refundFen: refund.refundFee,
    refundType: 'ORIGINAL',
    refundStatus: refund.status,
    // The fee WeChat gives back with the refund.
    feeMilliFen: -billFeeMilliFen(refund.refundFee),
    totalFen: 0,
    appliedRefundFen: refund.refundFee,
  };
}

/** What a payment's and its refunds' lines share: the trade. */
function tradeFields(order: SimOrder, payment: Payment) {
  return {
    appid: order.appid,
    mchid: order.mchid,
    subMchid: '',
    deviceInfo: order.deviceInfo ?? '',
    transactionId: payment.transactionId,
    outTradeNo: order.outTradeNo,
    openid: payment.openid,
    tradeType: order.tradeType,
    bankType: payment.bankType,
    currency: order.currency,
    couponFen: 0,
    couponRefundFen: 0,
    body: order.description,
    attach: order.attach ?? '',
    rate: BILL_FEE_RATE,
    rateNote: '',
  };
}

/**
 * The tamper fault, made after the bill (and its hash) so that each API's own proof, and only it, is
 * what catches it. v2: the first line's amount the merchant reads (a payment's 订单金额, a refund's
 * 申请退款金额) one fen more, the summary left as it was, so the summary disagrees with the lines. v3:
 * the first line's 微信订单号 with its last digit changed, a field the summary does not add up, so
 * the file still agrees with its summary and only its SHA1 differs from hash_value.
 */
function tamper(original: string, rows: readonly TradeBillRow[], api: BillApi): string {
  const first = rows[0] as TradeBillRow;
  const altered: TradeBillRow =
    api === 'v3'
      ? { ...first, transactionId: otherLastDigit(first.transactionId) }
      : first.tradeState === 'REFUND'
        ? { ...first, appliedRefundFen: first.appliedRefundFen + 1 }
        : { ...first, totalFen: first.totalFen + 1 };
  const lines = original.split('\r\n');
  // formatTradeBill's second line is the first data line: the altered row written exactly as the bill writes rows.
  lines[1] = formatTradeBill([altered]).split('\r\n')[1] as string;
  return lines.join('\r\n');
}

/** The id with its last digit replaced by the next one (9 → 0): as long as before, still all digits. */
function otherLastDigit(id: string): string {
  const last = Number(id.slice(-1));
  return `${id.slice(0, -1)}${Number.isInteger(last) ? (last + 1) % 10 : 0}`;
}
