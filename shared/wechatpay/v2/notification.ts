import { outTradeNoSchema } from './requests';
import type { Fields } from './responses';
import type { SignType } from './sign';
import { signTypeOf, verifyV2 } from './sign';
import { WECHAT_TIME_PATTERN } from './time';
import { XmlError, parseXml, toXml } from './xml';

/**
 * WeChat Pay v2 payment notifications (POST text/xml to notify_url). A notification carries no
 * sign_type, and WeChat has signed some with MD5 for merchants set up for HMAC-SHA256, so the
 * algorithm is read from the signature's form. Nothing in a notification is trusted before its
 * signature verifies.
 */

/** A real notification is one to three kilobytes (with coupon fields); more is not WeChat. */
export const MAX_NOTIFICATION_BYTES = 32 * 1024;

export interface V2PaymentNotification {
  result_code: 'SUCCESS' | 'FAIL';
  appid: string;
  mch_id: string;
  out_trade_no: string;
  /** Present when result_code is SUCCESS. */
  transaction_id?: string;
  /** Integer fen; present when result_code is SUCCESS. */
  total_fee?: number;
  cash_fee?: number;
  /** ISO 4217; WeChat omits it for CNY. */
  fee_type?: string;
  /** yyyyMMddHHmmss, Beijing time; present when result_code is SUCCESS. */
  time_end?: string;
  bank_type?: string;
  openid?: string;
  trade_type?: string;
  attach?: string;
  err_code?: string;
  err_code_des?: string;
  /** The algorithm the signature turned out to use. */
  sign_type: SignType;
  /** Every field as sent. */
  raw: Fields;
}

export type V2NotificationResult =
  { ok: true; notification: V2PaymentNotification } | { ok: false; reason: string; outTradeNo?: string };

function reject(reason: string, fields?: Fields): V2NotificationResult {
  const outTradeNo = fields?.out_trade_no;
  // Only a well-formed order number is worth filing the rejection under.
  if (outTradeNo !== undefined && outTradeNoSchema.safeParse(outTradeNo).success)
    return { ok: false, reason, outTradeNo };
  return { ok: false, reason };
}

function fen(text: string | undefined): number | undefined | null {
  if (text === undefined || text === '') return undefined;
  if (!/^\d{1,16}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

/** Parses and verifies a v2 payment notification body; never throws for bad input. */
export function parseV2Notification(
  body: string,
  apiKey: string,
  maxBytes: number = MAX_NOTIFICATION_BYTES,
): V2NotificationResult {
  let fields: Fields;
  try {
    fields = parseXml(body, maxBytes);
  } catch (err) {
    if (err instanceof XmlError) return reject(`unreadable notification: ${err.message}`);
    throw err;
  }
  const sign = fields.sign;
  if (sign === undefined || sign === '') return reject('notification is not signed', fields);
  const signType = signTypeOf(sign);
  if (signType === undefined) return reject('notification signature is neither MD5 nor HMAC-SHA256 in form', fields);
  if (!verifyV2(fields, apiKey)) return reject('notification signature does not verify', fields);

  if (fields.return_code !== 'SUCCESS') {
    return reject(
      `return_code ${fields.return_code ?? 'missing'}${fields.return_msg ? `: ${fields.return_msg}` : ''}`,
      fields,
    );
  }
  const resultCode = fields.result_code;
  if (resultCode !== 'SUCCESS' && resultCode !== 'FAIL')
    return reject(`result_code ${resultCode ?? 'missing'}`, fields);
  for (const key of ['appid', 'mch_id', 'out_trade_no'] as const) {
    if (!fields[key]) return reject(`notification lacks ${key}`, fields);
  }
  if (!outTradeNoSchema.safeParse(fields.out_trade_no).success)
    return reject('notification has a malformed out_trade_no');

  const totalFee = fen(fields.total_fee);
  const cashFee = fen(fields.cash_fee);
  if (totalFee === null) return reject('total_fee is not an integer amount', fields);
  if (cashFee === null) return reject('cash_fee is not an integer amount', fields);

  const n: V2PaymentNotification = {
    result_code: resultCode,
    appid: fields.appid as string,
    mch_id: fields.mch_id as string,
    out_trade_no: fields.out_trade_no as string,
    sign_type: signType,
    raw: fields,
  };
  if (totalFee !== undefined) n.total_fee = totalFee;
  if (cashFee !== undefined) n.cash_fee = cashFee;
  for (const key of [
    'transaction_id',
    'fee_type',
    'time_end',
    'bank_type',
    'openid',
    'trade_type',
    'attach',
    'err_code',
    'err_code_des',
  ] as const) {
    const v = fields[key];
    if (v !== undefined && v !== '') n[key] = v;
  }
  if (resultCode === 'SUCCESS') {
    if (n.transaction_id === undefined) return reject('paid notification lacks transaction_id', fields);
    if (n.total_fee === undefined) return reject('paid notification lacks total_fee', fields);
    if (n.time_end === undefined || !WECHAT_TIME_PATTERN.test(n.time_end)) {
      return reject('paid notification lacks a valid time_end', fields);
    }
  }
  return { ok: true, notification: n };
}

/** The reply WeChat expects; anything but SUCCESS (or no reply within 5 s) makes it retry. */
export function notificationReply(ok: boolean, message: string): string {
  if (ok) return toXml({ return_code: 'SUCCESS', return_msg: 'OK' });
  return toXml({ return_code: 'FAIL', return_msg: replyMessage(message) });
}

function replyMessage(message: string): string {
  // Keep the reply small and XML-safe whatever the caller passes.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = message
    .replace(/[\u0000-\u001F\u007F\uD800-\uDFFF\uFFFE\uFFFF]/g, ' ')
    .trim()
    .slice(0, 128);
  return clean === '' ? 'FAIL' : clean;
}
