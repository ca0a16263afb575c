import { fromBeijingWallClock } from '../core/beijing-time';
import { invalidResponseError } from '../core/errors';
import type { V3RefundStatus } from '../v3/refund-responses';
import type { V2RefundQueryRequest, V2RefundRequest } from './refund-requests';
import type { Fields } from './responses';
import { present, readFen, required } from './responses';

/**
 * Typed views of WeChat's (already verified) v2 refund answers. Amounts become numbers only after
 * checking they are exact integers; identifiers stay strings.
 */

/** v2's words for a refund's state: CHANGE is 退款异常 (v3's ABNORMAL), REFUNDCLOSE v3's CLOSED. */
export const V2_REFUND_STATUSES = ['SUCCESS', 'REFUNDCLOSE', 'PROCESSING', 'CHANGE'] as const;
export type V2RefundStatus = (typeof V2_REFUND_STATUSES)[number];

export function isV2RefundStatus(value: unknown): value is V2RefundStatus {
  return (V2_REFUND_STATUSES as readonly unknown[]).includes(value);
}

/**
 * v2's refund_status in APIv3's words, so a caller speaking both versions reads one vocabulary:
 * CHANGE (退款异常) is ABNORMAL, REFUNDCLOSE is CLOSED.
 */
export const V2_REFUND_STATUS_IN_V3: Readonly<Record<V2RefundStatus, V3RefundStatus>> = {
  SUCCESS: 'SUCCESS',
  REFUNDCLOSE: 'CLOSED',
  PROCESSING: 'PROCESSING',
  CHANGE: 'ABNORMAL',
};

/** v2's refund times: `yyyy-MM-dd HH:mm:ss`, Beijing time (groups: year, month, day, hour, minute, second). */
export const V2_REFUND_TIME_PATTERN = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/;

/**
 * A v2 refund time as RFC 3339 with Beijing's offset, as APIv3 writes it; undefined when the text is
 * not that format or names no real calendar time (Feb 30, 24:00).
 */
export function v2RefundTimeToRfc3339(text: string): string | undefined {
  const m = V2_REFUND_TIME_PATTERN.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  if (fromBeijingWallClock({ year, month, day, hour, minute, second }) === undefined) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}+08:00`;
}

/** secapi/pay/refund's answer: WeChat accepted (受理) the refund; how it ends comes later. */
export interface V2RefundResponse {
  appid: string;
  mch_id: string;
  out_refund_no: string;
  refund_id: string;
  out_trade_no?: string;
  transaction_id?: string;
  refund_fee: number;
  total_fee?: number;
  cash_fee?: number;
  cash_refund_fee?: number;
  settlement_refund_fee?: number;
  settlement_total_fee?: number;
  coupon_refund_fee?: number;
  fee_type?: string;
  /** Every field of WeChat's answer, as sent. */
  raw: Fields;
}

/** One refund of a refundquery answer (its `_$n` fields). */
export interface V2RefundRecord {
  out_refund_no: string;
  refund_id: string;
  refund_fee: number;
  refund_status: V2RefundStatus;
  /** Present once SUCCESS; `yyyy-MM-dd HH:mm:ss`, Beijing time. */
  refund_success_time?: string;
  /** Where the money went (sic: WeChat's spelling), e.g. 支付用户零钱. */
  refund_recv_accout?: string;
  refund_channel?: string;
  refund_account?: string;
  settlement_refund_fee?: number;
}

export interface V2RefundQueryResponse {
  appid: string;
  mch_id: string;
  out_trade_no: string;
  transaction_id: string;
  total_fee: number;
  cash_fee?: number;
  fee_type?: string;
  /** The order's refunds in all; WeChat sends it only when asked with an offset. */
  total_refund_count?: number;
  /** This page's refunds, in WeChat's order. */
  refunds: V2RefundRecord[];
  raw: Fields;
}

/** WeChat pages refunds ten at a time, and an order has at most 50; anything near this is not WeChat. */
const MAX_RECORDS = 100;

function amount(fields: Fields, key: string, context: string): number | undefined {
  const n = readFen(fields[key]);
  if (n === null) throw invalidResponseError(`${context}: ${key} is not an integer amount`);
  return n;
}

function requiredAmount(fields: Fields, key: string, context: string): number {
  const n = amount(fields, key, context);
  if (n === undefined) throw invalidResponseError(`${context}: answer lacks ${key}`);
  return n;
}

/** Copies the optional amounts present in `fields` onto `target`. */
function optionalAmounts<K extends string>(
  target: Partial<Record<K, number>>,
  fields: Fields,
  keys: readonly K[],
  context: string,
  suffix = '',
): void {
  for (const key of keys) {
    const n = amount(fields, `${key}${suffix}`, context);
    if (n !== undefined) target[key] = n;
  }
}

/**
 * A refund answer whose result_code is SUCCESS. It must be about the refund asked for: the same
 * out_refund_no and refund_fee, and the order named as it was asked.
 */
export function decodeRefund(fields: Fields, asked: V2RefundRequest): V2RefundResponse {
  const context = 'refund';
  const outRefundNo = required(fields, 'out_refund_no', context);
  if (outRefundNo !== asked.out_refund_no)
    throw invalidResponseError(`${context}: answer is about out_refund_no ${outRefundNo}, not ${asked.out_refund_no}`);
  const refundFee = requiredAmount(fields, 'refund_fee', context);
  if (refundFee !== asked.refund_fee)
    throw invalidResponseError(`${context}: answer refunds ${refundFee} fen, not the ${asked.refund_fee} asked`);
  const response: V2RefundResponse = {
    appid: required(fields, 'appid', context),
    mch_id: required(fields, 'mch_id', context),
    out_refund_no: outRefundNo,
    refund_id: required(fields, 'refund_id', context),
    refund_fee: refundFee,
    raw: fields,
  };
  for (const key of ['out_trade_no', 'transaction_id'] as const) {
    const v = present(fields, key);
    const wanted = asked[key];
    if (v !== undefined && wanted !== undefined && v !== wanted)
      throw invalidResponseError(`${context}: answer is about another ${key}`);
    if (v !== undefined) response[key] = v;
  }
  optionalAmounts(
    response,
    fields,
    ['total_fee', 'cash_fee', 'cash_refund_fee', 'settlement_refund_fee', 'settlement_total_fee', 'coupon_refund_fee'],
    context,
  );
  const feeType = present(fields, 'fee_type');
  if (feeType !== undefined) response.fee_type = feeType;
  return response;
}

function decodeRecord(fields: Fields, n: number, context: string): V2RefundRecord {
  const status = required(fields, `refund_status_${n}`, context);
  if (!isV2RefundStatus(status)) throw invalidResponseError(`${context}: unknown refund_status_${n} ${status}`);
  const record: V2RefundRecord = {
    out_refund_no: required(fields, `out_refund_no_${n}`, context),
    refund_id: required(fields, `refund_id_${n}`, context),
    refund_fee: requiredAmount(fields, `refund_fee_${n}`, context),
    refund_status: status,
  };
  const successTime = present(fields, `refund_success_time_${n}`);
  if (successTime !== undefined) {
    if (!V2_REFUND_TIME_PATTERN.test(successTime))
      throw invalidResponseError(`${context}: refund_success_time_${n} is not yyyy-MM-dd HH:mm:ss`);
    record.refund_success_time = successTime;
  }
  for (const key of ['refund_recv_accout', 'refund_channel', 'refund_account'] as const) {
    const v = present(fields, `${key}_${n}`);
    if (v !== undefined) record[key] = v;
  }
  optionalAmounts(record, fields, ['settlement_refund_fee'], context, `_${n}`);
  return record;
}

/** A refundquery answer whose result_code is SUCCESS, with its paged `_$n` records decoded. */
export function decodeRefundQuery(fields: Fields, asked: V2RefundQueryRequest): V2RefundQueryResponse {
  const context = 'refundquery';
  const count = requiredAmount(fields, 'refund_count', context);
  if (count > MAX_RECORDS) throw invalidResponseError(`${context}: refund_count ${count} is not believable`);
  const response: V2RefundQueryResponse = {
    appid: required(fields, 'appid', context),
    mch_id: required(fields, 'mch_id', context),
    out_trade_no: required(fields, 'out_trade_no', context),
    transaction_id: required(fields, 'transaction_id', context),
    total_fee: requiredAmount(fields, 'total_fee', context),
    refunds: Array.from({ length: count }, (_, n) => decodeRecord(fields, n, context)),
    raw: fields,
  };
  for (const key of ['out_trade_no', 'transaction_id'] as const) {
    const wanted = asked[key];
    if (wanted !== undefined && response[key] !== wanted)
      throw invalidResponseError(`${context}: answer is about another ${key}`);
  }
  const byRefund = asked.out_refund_no ?? asked.refund_id;
  if (byRefund !== undefined) {
    const key = asked.out_refund_no !== undefined ? 'out_refund_no' : 'refund_id';
    if (!response.refunds.some((r) => r[key] === byRefund))
      throw invalidResponseError(`${context}: answer has no record for the ${key} asked`);
  }
  optionalAmounts(response, fields, ['cash_fee', 'total_refund_count'], context);
  const feeType = present(fields, 'fee_type');
  if (feeType !== undefined) response.fee_type = feeType;
  return response;
}
