/**
 * WeChat Pay's daily trade bill (交易账单), bill_type ALL: the same text in v2 (`pay/downloadbill`)
 * and v3 (`/v3/bill/tradebill` + its download URL). Line 1 is the header; each data line's fields are
 * each prefixed with a backtick and separated by commas (so a field is read up to the next "`,`" pair:
 * a product name may itself hold a comma or a backtick); the second-to-last line is the summary's
 * header, the last its values. Amounts are yuan with two decimals (the fee five), converted to integer
 * fen by string arithmetic, never through a float. Times are Beijing `yyyy-MM-dd HH:mm:ss`.
 */

import { fenToYuan } from '../core/money';

/** The ALL bill's 27 columns, in WeChat's order and words. */
export const ALL_BILL_COLUMNS = [
  '交易时间',
  '公众账号ID',
  '商户号',
  '特约商户号',
  '设备号',
  '微信订单号',
  '商户订单号',
  '用户标识',
  '交易类型',
  '交易状态',
  '付款银行',
  '货币种类',
  '应结订单金额',
  '代金券金额',
  '微信退款单号',
  '商户退款单号',
  '退款金额',
  '充值券退款金额',
  '退款类型',
  '退款状态',
  '商品名称',
  '商户数据包',
  '手续费',
  '费率',
  '订单金额',
  '申请退款金额',
  '费率备注',
] as const;

/** The summary's 7 columns. */
export const BILL_SUMMARY_COLUMNS = [
  '总交易单数',
  '应结订单总金额',
  '退款总金额',
  '充值券退款总金额',
  '手续费总金额',
  '订单总金额',
  '申请退款总金额',
] as const;

/**
 * 交易状态 as bills write it: a payment's line is SUCCESS; a refund's line is REFUND (its own 退款状态
 * says how the refund stands); a payment revoked after the fact is REVOKED.
 */
export type BillTradeState = 'SUCCESS' | 'REFUND' | 'REVOKED';
/** 退款状态 of a refund line (empty on payment lines). */
export type BillRefundStatus = 'SUCCESS' | 'PROCESSING' | 'CLOSED' | 'ABNORMAL';

/**
 * One data line of an ALL bill, read. Money in integer fen (the fee in 1/1000 fen, as the bill keeps
 * five decimals of yuan). Text fields exactly as WeChat wrote them (empty strings kept empty).
 */
export interface TradeBillRow {
  /** 交易时间, Beijing `yyyy-MM-dd HH:mm:ss`: the payment's time, or the refund's application time. */
  tradeTime: string;
  appid: string;
  mchid: string;
  subMchid: string;
  deviceInfo: string;
  /** 微信订单号 */
  transactionId: string;
  /** 商户订单号 */
  outTradeNo: string;
  openid: string;
  tradeType: string;
  tradeState: BillTradeState;
  bankType: string;
  currency: string;
  /** 应结订单金额: the order's amount less coupons (0 on a refund line). */
  settlementTotalFen: number;
  /** 代金券金额 */
  couponFen: number;
  /** 微信退款单号 / 商户退款单号: empty (or "0") on payment lines. */
  refundId: string;
  outRefundNo: string;
  /** 退款金额 (settlement refund) */
  refundFen: number;
  /** 充值券退款金额 */
  couponRefundFen: number;
  refundType: string;
  /** 退款状态, undefined on payment lines (empty field). */
  refundStatus: BillRefundStatus | undefined;
  /** 商品名称 and 商户数据包: free text (may hold commas and backticks). */
  body: string;
  attach: string;
  /** 手续费 in thousandths of a fen (5 decimals of yuan): negative on refund lines. */
  feeMilliFen: number;
  /** 费率, as written (e.g. `0.60%`). */
  rate: string;
  /** 订单金额: the order's total as asked (0 on a refund line). */
  totalFen: number;
  /** 申请退款金额: the refund as asked (0 on a payment line). */
  appliedRefundFen: number;
  rateNote: string;
}

/** The bill's last line: its own totals, checked against the rows by the parser. */
export interface TradeBillSummary {
  /** 总交易单数: how many data lines. */
  count: number;
  settlementTotalFen: number;
  refundFen: number;
  couponRefundFen: number;
  feeMilliFen: number;
  totalFen: number;
  appliedRefundFen: number;
}

/** The bill is not in WeChat's format, or disagrees with its own summary (altered or cut short). */
export class BillFormatError extends Error {
  /** 1-based line of the bill where it went wrong, when one line is to blame. */
  readonly line: number | undefined;

  constructor(message: string, line?: number) {
    super(message);
    this.name = 'BillFormatError';
    this.line = line;
  }
}

const YUAN = /^(-?)(\d{1,13})(?:\.(\d{1,2}))?$/;
// Whole yuan digits are capped so that the value in thousandths of a fen stays a safe integer.
const YUAN_5 = /^(-?)(\d{1,10})(?:\.(\d{1,5}))?$/;

/** `"12.34"` → 1234. At most two decimals; anything else (`1e3`, `1.234`, ``) is refused. */
export function yuanToFen(text: string): number {
  const match = YUAN.exec(text);
  if (!match) throw new BillFormatError(`not an amount in yuan: ${JSON.stringify(text.slice(0, 24))}`);
  const [, sign, whole, cents = ''] = match;
  const fen = Number(whole) * 100 + Number(cents.padEnd(2, '0'));
  return sign === '-' && fen !== 0 ? -fen : fen;
}

/** A fee with five decimals of yuan (`"-0.02000"`) → thousandths of a fen. */
export function feeToMilliFen(text: string): number {
  const match = YUAN_5.exec(text);
  if (!match) throw new BillFormatError(`not a fee in yuan: ${JSON.stringify(text.slice(0, 24))}`);
  const [, sign, whole, decimals = ''] = match;
  const milli = Number(whole) * 100_000 + Number(decimals.padEnd(5, '0'));
  return sign === '-' && milli !== 0 ? -milli : milli;
}

/** Thousandths of a fen → five decimals of yuan, as bills write fees. */
export function milliFenToFee(milli: number): string {
  if (!Number.isSafeInteger(milli)) throw new RangeError(`fee must be whole thousandths of a fen: ${milli}`);
  const sign = milli < 0 ? '-' : '';
  const abs = Math.abs(milli);
  return `${sign}${Math.floor(abs / 100_000)}.${String(abs % 100_000).padStart(5, '0')}`;
}

/** The summary a list of rows calls for (what the writer prints and the parser checks). */
export function summarize(rows: Iterable<TradeBillRow>): TradeBillSummary {
  const summary: TradeBillSummary = {
    count: 0,
    settlementTotalFen: 0,
    refundFen: 0,
    couponRefundFen: 0,
    feeMilliFen: 0,
    totalFen: 0,
    appliedRefundFen: 0,
  };
  for (const row of rows) addToSummary(summary, row);
  return summary;
}

/** Adds one row to running totals (the parser keeps them as it streams). */
export function addToSummary(summary: TradeBillSummary, row: TradeBillRow): void {
  summary.count += 1;
  summary.settlementTotalFen += row.settlementTotalFen;
  summary.refundFen += row.refundFen;
  summary.couponRefundFen += row.couponRefundFen;
  summary.feeMilliFen += row.feeMilliFen;
  summary.totalFen += row.totalFen;
  summary.appliedRefundFen += row.appliedRefundFen;
}

/** A row's fields in ALL_BILL_COLUMNS order, as the bill writes them. */
function rowFields(row: TradeBillRow): string[] {
  return [
    row.tradeTime,
    row.appid,
    row.mchid,
    row.subMchid,
    row.deviceInfo,
    row.transactionId,
    row.outTradeNo,
    row.openid,
    row.tradeType,
    row.tradeState,
    row.bankType,
    row.currency,
    fenToYuan(row.settlementTotalFen),
    fenToYuan(row.couponFen),
    row.refundId,
    row.outRefundNo,
    fenToYuan(row.refundFen),
    fenToYuan(row.couponRefundFen),
    row.refundType,
    row.refundStatus ?? '',
    row.body,
    row.attach,
    milliFenToFee(row.feeMilliFen),
    row.rate,
    fenToYuan(row.totalFen),
    fenToYuan(row.appliedRefundFen),
    row.rateNote,
  ];
}

function summaryFields(summary: TradeBillSummary): string[] {
  return [
    String(summary.count),
    fenToYuan(summary.settlementTotalFen),
    fenToYuan(summary.refundFen),
    fenToYuan(summary.couponRefundFen),
    milliFenToFee(summary.feeMilliFen),
    fenToYuan(summary.totalFen),
    fenToYuan(summary.appliedRefundFen),
  ];
}

/** Fields as a bill line: each prefixed with a backtick, comma-separated. */
function billLine(fields: readonly string[]): string {
  return fields.map((field) => `\`${field}`).join(',');
}

/**
 * The ALL bill's lines for these rows, each ending in `\r\n` as WeChat's do, with the summary they call
 * for; lazily, so a large bill can be written to a stream without being held (benches, the simulator).
 */
export function* tradeBillLines(rows: Iterable<TradeBillRow>): Generator<string> {
  yield `${ALL_BILL_COLUMNS.join(',')}\r\n`;
  const summary = summarize([]);
  for (const row of rows) {
    yield `${billLine(rowFields(row))}\r\n`;
    addToSummary(summary, row);
  }
  yield `${BILL_SUMMARY_COLUMNS.join(',')}\r\n`;
  yield `${billLine(summaryFields(summary))}\r\n`;
}

/** The ALL bill's text for these rows (tradeBillLines, joined): what the simulator serves. */
export function formatTradeBill(rows: Iterable<TradeBillRow>): string {
  return [...tradeBillLines(rows)].join('');
}
