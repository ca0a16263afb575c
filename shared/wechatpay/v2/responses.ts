import { invalidResponseError } from '../core/errors';
import type { TradeState } from '../core/trade-state';
import { isTradeState } from '../core/trade-state';
import type { V2TradeType } from './requests';
import { V2_TRADE_TYPES } from './requests';
import { WECHAT_TIME_PATTERN } from './time';

/**
 * Typed views of WeChat's (already verified) v2 answers. WeChat sends every value as text; amounts
 * become numbers here only after checking they are exact integers, and identifiers stay strings.
 */

export type Fields = Record<string, string>;

export interface UnifiedOrderResponse {
  prepay_id: string;
  trade_type: V2TradeType;
  /** NATIVE: the weixin://wxpay/... link to show as a QR code. */
  code_url?: string;
  /** MWEB: the page that opens the WeChat cashier from a mobile browser. */
  mweb_url?: string;
  /** Every field of WeChat's answer, as sent. */
  raw: Fields;
}

/** What v2 tells about a payment, in an orderquery answer and a payment notification alike. */
export interface PaymentFields {
  /** Present once paid. */
  transaction_id?: string;
  /** Integer fen. */
  total_fee?: number;
  /** Integer fen actually paid in cash. */
  cash_fee?: number;
  /** ISO 4217; WeChat omits it for CNY. */
  fee_type?: string;
  /** yyyyMMddHHmmss, Beijing time. */
  time_end?: string;
  bank_type?: string;
  openid?: string;
  trade_type?: string;
  attach?: string;
}

export interface OrderQueryFound extends PaymentFields {
  found: true;
  trade_state: TradeState;
  trade_state_desc?: string;
  appid: string;
  mch_id: string;
  out_trade_no: string;
  raw: Fields;
}

/** result_code FAIL with err_code ORDERNOTEXIST: WeChat has no such order. */
export interface OrderQueryNotFound {
  found: false;
  err_code: 'ORDERNOTEXIST';
  err_code_des?: string;
  appid: string;
  mch_id: string;
  raw: Fields;
}

export type OrderQueryResponse = OrderQueryFound | OrderQueryNotFound;

/** WeChat's fen text as a number; null when it is not an exact non-negative integer, undefined when absent. */
export function readFen(text: string | undefined): number | undefined | null {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

const PAYMENT_TEXT_FIELDS = [
  'transaction_id',
  'fee_type',
  'time_end',
  'bank_type',
  'openid',
  'trade_type',
  'attach',
] as const;

/** The payment fields present in `fields`, amounts as numbers, or which amount is not an exact integer. */
export function readPaymentFields(fields: Fields): PaymentFields | { badAmount: 'total_fee' | 'cash_fee' } {
  const payment: PaymentFields = {};
  for (const key of ['total_fee', 'cash_fee'] as const) {
    const amount = readFen(fields[key]);
    if (amount === null) return { badAmount: key };
    if (amount !== undefined) payment[key] = amount;
  }
  for (const key of PAYMENT_TEXT_FIELDS) {
    const v = present(fields, key);
    if (v !== undefined) payment[key] = v;
  }
  return payment;
}

/** What a paid answer or notification lacks of the payment's facts, or undefined when it has them all. */
export function missingPaymentFact(payment: PaymentFields): string | undefined {
  if (payment.transaction_id === undefined) return 'transaction_id';
  if (payment.total_fee === undefined) return 'total_fee';
  if (payment.time_end === undefined || !WECHAT_TIME_PATTERN.test(payment.time_end)) return 'a valid time_end';
  return undefined;
}

/** A field's value; WeChat's empty values count as absent. */
export function present(fields: Fields, key: string): string | undefined {
  const v = fields[key];
  return v === undefined || v === '' ? undefined : v;
}

/** A field the answer must carry; its absence makes the answer not WeChat's. */
export function required(fields: Fields, key: string, context: string): string {
  const v = present(fields, key);
  if (v === undefined) throw invalidResponseError(`${context}: answer lacks ${key}`);
  return v;
}

export function decodeUnifiedOrder(fields: Fields, requestedType: V2TradeType): UnifiedOrderResponse {
  const context = 'unifiedorder';
  const prepayId = required(fields, 'prepay_id', context);
  const tradeType = present(fields, 'trade_type') ?? requestedType;
  if (!(V2_TRADE_TYPES as readonly string[]).includes(tradeType) || tradeType !== requestedType) {
    throw invalidResponseError(`${context}: trade_type ${tradeType} does not match the request (${requestedType})`);
  }
  const response: UnifiedOrderResponse = { prepay_id: prepayId, trade_type: requestedType, raw: fields };
  const codeUrl = present(fields, 'code_url');
  const mwebUrl = present(fields, 'mweb_url');
  if (requestedType === 'NATIVE' && codeUrl === undefined)
    throw invalidResponseError(`${context}: NATIVE answer lacks code_url`);
  if (requestedType === 'MWEB' && mwebUrl === undefined)
    throw invalidResponseError(`${context}: MWEB answer lacks mweb_url`);
  if (codeUrl !== undefined) response.code_url = codeUrl;
  if (mwebUrl !== undefined) response.mweb_url = mwebUrl;
  return response;
}

/**
 * Decodes an orderquery answer whose result_code is SUCCESS (or FAIL with ORDERNOTEXIST). The
 * answer must be about the order asked for; a paid one must carry the payment's facts.
 */
export function decodeOrderQuery(
  fields: Fields,
  asked: { out_trade_no?: string; transaction_id?: string },
): OrderQueryResponse {
  const context = 'orderquery';
  const appid = required(fields, 'appid', context);
  const mchId = required(fields, 'mch_id', context);
  if (fields.result_code === 'FAIL') {
    const notFound: OrderQueryNotFound = { found: false, err_code: 'ORDERNOTEXIST', appid, mch_id: mchId, raw: fields };
    const des = present(fields, 'err_code_des');
    if (des !== undefined) notFound.err_code_des = des;
    return notFound;
  }
  const state = required(fields, 'trade_state', context);
  if (!isTradeState(state)) throw invalidResponseError(`${context}: unknown trade_state ${state}`);
  const outTradeNo = present(fields, 'out_trade_no') ?? asked.out_trade_no;
  if (outTradeNo === undefined) throw invalidResponseError(`${context}: answer lacks out_trade_no`);
  if (asked.out_trade_no !== undefined && outTradeNo !== asked.out_trade_no) {
    throw invalidResponseError(`${context}: answer is about out_trade_no ${outTradeNo}, not ${asked.out_trade_no}`);
  }
  if (asked.transaction_id !== undefined && present(fields, 'transaction_id') !== asked.transaction_id) {
    throw invalidResponseError(`${context}: answer is about another transaction_id`);
  }
  const payment = readPaymentFields(fields);
  if ('badAmount' in payment) {
    const { badAmount } = payment;
    throw invalidResponseError(`${badAmount} is not an integer amount: ${JSON.stringify(fields[badAmount])}`);
  }
  const found: OrderQueryFound = {
    found: true,
    trade_state: state,
    appid,
    mch_id: mchId,
    out_trade_no: outTradeNo,
    ...payment,
    raw: fields,
  };
  const description = present(fields, 'trade_state_desc');
  if (description !== undefined) found.trade_state_desc = description;
  if (state === 'SUCCESS' || state === 'REFUND') {
    const missing = missingPaymentFact(found);
    if (missing !== undefined) throw invalidResponseError(`${context}: paid order lacks ${missing}`);
  }
  return found;
}
