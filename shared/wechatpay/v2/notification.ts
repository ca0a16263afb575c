import { isOutTradeNo } from '../core/trade-ids';
import type { Fields, PaymentFields } from './responses';
import { missingPaymentFact, readPaymentFields } from './responses';
import type { SignType } from './sign';
import { signTypeOf, verifyV2 } from './sign';
import { XmlError, parseXml, toXml } from './xml';

/**
 * WeChat Pay v2 payment notifications (POST text/xml to notify_url). A notification carries no
 * sign_type, and WeChat has signed some with MD5 for merchants set up for HMAC-SHA256, so the
 * algorithm is read from the signature's form. Nothing in a notification is trusted before its
 * signature verifies.
 */

/** A real notification is one to three kilobytes (with coupon fields); more is not WeChat. */
export const MAX_NOTIFICATION_BYTES = 32 * 1024;

export interface V2PaymentNotification extends PaymentFields {
  result_code: 'SUCCESS' | 'FAIL';
  appid: string;
  mch_id: string;
  out_trade_no: string;
  err_code?: string;
  err_code_des?: string;
  /** The algorithm the signature turned out to use. */
  sign_type: SignType;
  /** Every field as sent. */
  raw: Fields;
}

/** Why a notification is not proven WeChat's, for callers to act on without reading `reason`. */
export type V2NotificationFailure = 'unreadable' | 'unsigned' | 'malformed_signature' | 'bad_signature';

/**
 * A refusal says whether the signature had verified: `signed: true` is WeChat's own message that
 * cannot be used (a caller keeps it and alarms); otherwise `failure` says why it is not proven WeChat's.
 * `reason` is for people, and may quote the sender.
 */
export type V2NotificationResult =
  | { ok: true; notification: V2PaymentNotification }
  | { ok: false; failure: V2NotificationFailure; reason: string; outTradeNo?: string }
  | { ok: false; signed: true; reason: string; outTradeNo?: string };

function reject(failure: V2NotificationFailure, reason: string, fields?: Fields): V2NotificationResult {
  const outTradeNo = fields?.out_trade_no;
  // Only a well-formed order number is worth filing the rejection under.
  if (isOutTradeNo(outTradeNo)) return { ok: false, failure, reason, outTradeNo };
  return { ok: false, failure, reason };
}

/** A refusal of a notification whose signature verified. */
function unusable(reason: string, fields?: Fields): V2NotificationResult {
  const outTradeNo = fields?.out_trade_no;
  return isOutTradeNo(outTradeNo)
    ? { ok: false, reason, outTradeNo, signed: true }
    : { ok: false, reason, signed: true };
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
    if (err instanceof XmlError) return reject('unreadable', `unreadable notification: ${err.message}`);
    throw err;
  }
  const sign = fields.sign;
  if (sign === undefined || sign === '') return reject('unsigned', 'notification is not signed', fields);
  const signType = signTypeOf(sign);
  if (signType === undefined)
    return reject('malformed_signature', 'notification signature is neither MD5 nor HMAC-SHA256 in form', fields);
  if (!verifyV2(fields, apiKey)) return reject('bad_signature', 'notification signature does not verify', fields);

  if (fields.return_code !== 'SUCCESS') {
    return unusable(
      `return_code ${fields.return_code ?? 'missing'}${fields.return_msg ? `: ${fields.return_msg}` : ''}`,
      fields,
    );
  }
  const resultCode = fields.result_code;
  if (resultCode !== 'SUCCESS' && resultCode !== 'FAIL')
    return unusable(`result_code ${resultCode ?? 'missing'}`, fields);
  for (const key of ['appid', 'mch_id', 'out_trade_no'] as const) {
    if (!fields[key]) return unusable(`notification lacks ${key}`, fields);
  }
  if (!isOutTradeNo(fields.out_trade_no)) return unusable('notification has a malformed out_trade_no');

  const payment = readPaymentFields(fields);
  if ('badAmount' in payment) return unusable(`${payment.badAmount} is not an integer amount`, fields);

  const n: V2PaymentNotification = {
    result_code: resultCode,
    appid: fields.appid as string,
    mch_id: fields.mch_id as string,
    out_trade_no: fields.out_trade_no as string,
    ...payment,
    sign_type: signType,
    raw: fields,
  };
  if (fields.err_code) n.err_code = fields.err_code;
  if (fields.err_code_des) n.err_code_des = fields.err_code_des;
  if (resultCode === 'SUCCESS') {
    const missing = missingPaymentFact(n);
    if (missing !== undefined) return unusable(`paid notification lacks ${missing}`, fields);
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
  const clean = message
    // eslint-disable-next-line no-control-regex -- matching control characters is the point
    .replace(/[\u0000-\u001F\u007F\uD800-\uDFFF\uFFFE\uFFFF]/g, ' ')
    .trim()
    .slice(0, 128);
  return clean === '' ? 'FAIL' : clean;
}
