import { readRefundReqInfo, RefundReqInfoError } from './refund-req-info';
import type { V2RefundStatus } from './refund-responses';
import { isV2RefundStatus } from './refund-responses';
import type { Fields } from './responses';
import { readFen } from './responses';
import { XmlError, parseXml } from './xml';

/**
 * WeChat Pay v2 refund notifications (POST text/xml to the refund's notify_url):
 * `<xml><return_code/><appid/><mch_id/><nonce_str/><req_info/></xml>`, with no signature. Trust
 * comes only from req_info decrypting (AES-256-ECB, refund-req-info.ts) under one of our API keys;
 * until it does, nothing of the body is believed, and a caller must still match every decrypted
 * field, and appid and mch_id, against the refund it holds. Parsed as safely as every v2 message:
 * no DOCTYPE or entities, flat fields, a size cap.
 */

/** A real one is one or two kilobytes (req_info is String(1024) before base64); more is not WeChat. */
export const MAX_REFUND_NOTIFICATION_BYTES = 32 * 1024;

export interface V2RefundNotificationFields {
  out_trade_no: string;
  out_refund_no: string;
  refund_id: string;
  transaction_id: string;
  /** Integer fen: the order's amount, and this refund's. */
  total_fee: number;
  refund_fee: number;
  /** SUCCESS, CHANGE (退款异常) or REFUNDCLOSE: WeChat notifies results only. */
  refund_status: V2RefundStatus;
  /** `yyyy-MM-dd HH:mm:ss`, Beijing time, once SUCCESS. */
  success_time?: string;
  /** Where the money went (sic: WeChat's spelling), e.g. 支付用户零钱. */
  refund_recv_accout?: string;
  settlement_total_fee?: number;
  settlement_refund_fee?: number;
  cash_refund_fee?: number;
  /** REFUND_SOURCE_RECHARGE_FUNDS | REFUND_SOURCE_UNSETTLED_FUNDS. */
  refund_account?: string;
  /** API or VENDOR_PLATFORM (refunded on the merchant platform, not by us). */
  refund_request_source?: string;
  /** Every decrypted field, as sent. */
  raw: Fields;
}

/** Ways a notification is not proven WeChat's: nothing of it is to be believed. */
export type V2RefundNotificationFailure = 'TOO_LARGE' | 'UNREADABLE' | 'UNDECRYPTABLE';

/**
 * `ok` only once req_info decrypted under one of the keys given, with every field a refund needs.
 * `decrypted: true` is WeChat's own message (req_info decrypted under our key, the only proof v2
 * has) that is no refund we can read: a field missing or malformed. Unlike the unproven failures
 * it is worth keeping and alarming on; `outTradeNo` is the decrypted one, if any, as sent.
 * `reason` is for people, and may quote the sender.
 */
export type V2RefundNotificationResult =
  | {
      ok: true;
      /** The unencrypted envelope: for the caller to match against the merchant. */
      envelope: { appid: string; mch_id: string };
      fields: V2RefundNotificationFields;
      /** Which of the keys decrypted it (0 = the current one). */
      keyIndex: number;
    }
  | { ok: false; failure: V2RefundNotificationFailure; reason: string }
  | {
      ok: false;
      decrypted: true;
      failure: 'INVALID_REFUND';
      reason: string;
      envelope: { appid: string; mch_id: string };
      keyIndex: number;
      outTradeNo?: string;
    };

function refuse(failure: V2RefundNotificationFailure, reason: string): V2RefundNotificationResult {
  return { ok: false, failure, reason };
}

const TEXT_FIELDS = ['success_time', 'refund_recv_accout', 'refund_account', 'refund_request_source'] as const;
const OPTIONAL_AMOUNTS = ['settlement_total_fee', 'settlement_refund_fee', 'cash_refund_fee'] as const;

/** The decrypted <root> as a refund's fields, or what it lacks. */
function readFields(raw: Fields): V2RefundNotificationFields | string {
  const text = (key: string): string | undefined => (raw[key] === '' ? undefined : raw[key]);
  for (const key of ['out_trade_no', 'out_refund_no', 'refund_id', 'transaction_id', 'refund_status'] as const)
    if (text(key) === undefined) return `req_info lacks ${key}`;
  const status = raw.refund_status;
  if (!isV2RefundStatus(status)) return `req_info has an unknown refund_status ${String(status)}`;
  const amounts: Partial<Record<'total_fee' | 'refund_fee' | (typeof OPTIONAL_AMOUNTS)[number], number>> = {};
  for (const key of ['total_fee', 'refund_fee', ...OPTIONAL_AMOUNTS] as const) {
    const n = readFen(raw[key]);
    if (n === null) return `req_info ${key} is not an integer amount`;
    if (n !== undefined) amounts[key] = n;
  }
  if (amounts.total_fee === undefined) return 'req_info lacks total_fee';
  if (amounts.refund_fee === undefined) return 'req_info lacks refund_fee';
  const fields: V2RefundNotificationFields = {
    out_trade_no: raw.out_trade_no as string,
    out_refund_no: raw.out_refund_no as string,
    refund_id: raw.refund_id as string,
    transaction_id: raw.transaction_id as string,
    total_fee: amounts.total_fee,
    refund_fee: amounts.refund_fee,
    refund_status: status,
    raw,
  };
  for (const key of OPTIONAL_AMOUNTS) if (amounts[key] !== undefined) fields[key] = amounts[key];
  for (const key of TEXT_FIELDS) {
    const v = text(key);
    if (v !== undefined) fields[key] = v;
  }
  return fields;
}

/**
 * Reads a v2 refund notification body, decrypting req_info with each key in turn (the current API
 * key first, then the previous ones while a rotation settles). Never throws for bad input.
 */
export function parseV2RefundNotification(
  body: string,
  apiKeys: readonly string[],
  maxBytes: number = MAX_REFUND_NOTIFICATION_BYTES,
): V2RefundNotificationResult {
  if (typeof body !== 'string' || body.length > maxBytes || Buffer.byteLength(body, 'utf8') > maxBytes)
    return refuse('TOO_LARGE', `body larger than ${maxBytes} bytes`);
  let envelope: Fields;
  try {
    envelope = parseXml(body, maxBytes);
  } catch (err) {
    if (err instanceof XmlError) return refuse('UNREADABLE', `unreadable notification: ${err.message}`);
    throw err;
  }
  if (envelope.return_code !== 'SUCCESS') {
    const msg = envelope.return_msg ? `: ${envelope.return_msg}` : '';
    return refuse('UNREADABLE', `return_code ${envelope.return_code ?? 'missing'}${msg}`);
  }
  for (const key of ['appid', 'mch_id', 'req_info'] as const)
    if (!envelope[key]) return refuse('UNREADABLE', `notification lacks ${key}`);
  const reqInfo = envelope.req_info as string;

  const failures: string[] = [];
  for (const [keyIndex, apiKey] of apiKeys.entries()) {
    let raw: Fields;
    try {
      raw = readRefundReqInfo(reqInfo, apiKey);
    } catch (err) {
      if (!(err instanceof RefundReqInfoError)) throw err;
      // ECB with a wrong key fails its padding check, or yields bytes that are not <root>: either way, next key.
      failures.push(err.message);
      continue;
    }
    const merchant = { appid: envelope.appid as string, mch_id: envelope.mch_id as string };
    const fields = readFields(raw);
    if (typeof fields === 'string') {
      const outTradeNo =
        raw.out_trade_no === undefined || raw.out_trade_no === '' ? {} : { outTradeNo: raw.out_trade_no };
      return {
        ok: false,
        decrypted: true,
        failure: 'INVALID_REFUND',
        reason: fields,
        envelope: merchant,
        keyIndex,
        ...outTradeNo,
      };
    }
    return { ok: true, envelope: merchant, fields, keyIndex };
  }
  if (apiKeys.length === 0) return refuse('UNDECRYPTABLE', 'no API key to decrypt req_info with');
  return refuse(
    'UNDECRYPTABLE',
    `req_info does not decrypt with any of our ${apiKeys.length} API key(s): ${[...new Set(failures)].join('; ')}`,
  );
}
