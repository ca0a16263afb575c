import { invalidResponseError } from './classification';
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

/** v2 trade_state values (ACCEPT: accepted, awaiting debit, as in WeChat's later v2 pages). */
export const V2_TRADE_STATES = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
  'ACCEPT',
] as const;
export type V2TradeState = (typeof V2_TRADE_STATES)[number];

export interface OrderQueryFound {
  found: true;
  trade_state: V2TradeState;
  trade_state_desc?: string;
  appid: string;
  mch_id: string;
  out_trade_no: string;
  /** Present once paid (SUCCESS, REFUND). */
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

function present(fields: Fields, key: string): string | undefined {
  const v = fields[key];
  return v === undefined || v === '' ? undefined : v;
}

function required(fields: Fields, key: string, context: string): string {
  const v = present(fields, key);
  if (v === undefined) throw invalidResponseError(`${context}: answer lacks ${key}`);
  return v;
}

/** WeChat's fen text as a number, refusing anything that is not an exact non-negative integer. */
export function parseFen(text: string, field: string): number {
  if (!/^\d{1,16}$/.test(text))
    throw invalidResponseError(`${field} is not an integer amount: ${JSON.stringify(text)}`);
  const value = Number(text);
  if (!Number.isSafeInteger(value)) throw invalidResponseError(`${field} is out of range: ${text}`);
  return value;
}

function optionalFen(fields: Fields, key: string): number | undefined {
  const v = present(fields, key);
  return v === undefined ? undefined : parseFen(v, key);
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
  if (!(V2_TRADE_STATES as readonly string[]).includes(state))
    throw invalidResponseError(`${context}: unknown trade_state ${state}`);
  const outTradeNo = present(fields, 'out_trade_no') ?? asked.out_trade_no;
  if (outTradeNo === undefined) throw invalidResponseError(`${context}: answer lacks out_trade_no`);
  if (asked.out_trade_no !== undefined && outTradeNo !== asked.out_trade_no) {
    throw invalidResponseError(`${context}: answer is about out_trade_no ${outTradeNo}, not ${asked.out_trade_no}`);
  }
  const transactionId = present(fields, 'transaction_id');
  if (asked.transaction_id !== undefined && transactionId !== asked.transaction_id) {
    throw invalidResponseError(`${context}: answer is about another transaction_id`);
  }
  const found: OrderQueryFound = {
    found: true,
    trade_state: state as V2TradeState,
    appid,
    mch_id: mchId,
    out_trade_no: outTradeNo,
    raw: fields,
  };
  const totalFee = optionalFen(fields, 'total_fee');
  const cashFee = optionalFen(fields, 'cash_fee');
  if (totalFee !== undefined) found.total_fee = totalFee;
  if (cashFee !== undefined) found.cash_fee = cashFee;
  if (transactionId !== undefined) found.transaction_id = transactionId;
  for (const key of [
    'trade_state_desc',
    'fee_type',
    'time_end',
    'bank_type',
    'openid',
    'trade_type',
    'attach',
  ] as const) {
    const v = present(fields, key);
    if (v !== undefined) found[key] = v;
  }
  if (state === 'SUCCESS' || state === 'REFUND') {
    if (found.transaction_id === undefined) throw invalidResponseError(`${context}: paid order lacks transaction_id`);
    if (found.total_fee === undefined) throw invalidResponseError(`${context}: paid order lacks total_fee`);
    if (found.time_end === undefined || !WECHAT_TIME_PATTERN.test(found.time_end)) {
      throw invalidResponseError(`${context}: paid order lacks a valid time_end`);
    }
  }
  return found;
}
