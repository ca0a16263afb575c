import type { RawNotification, UnverifiedReason } from '../domain/ports';
import type { RefundNotificationCodec, VerifiedRefundNotification } from '../domain/refund-ports';
import { notificationReply } from '../wechatpay/v2/notification';
import { parseV2RefundNotification, type V2RefundNotificationResult } from '../wechatpay/v2/refund-notification';
import { pickHeaders } from './notification-headers';
import { unusableNotification } from './notification-refusals';
import { v2RefundReport, type V2RefundFacts } from './wechatpay-v2-refunds';

/**
 * RefundNotificationCodec for WeChat Pay v2 refund notifications (POST text/xml to /notify/refund).
 * They carry no signature: the only proof is that req_info decrypts under one of our API keys
 * (AES-256-ECB, key = lowercase hex MD5 of the APIv2 key), so until it does nothing of the body is
 * read. appid and mch_id come from the unencrypted envelope; the domain checks them, and every
 * decrypted field, against the stored refund.
 */

const AUDIT_HEADERS = ['content-type'];

/** What is stored and counted of each way a refund notification is not proven WeChat's. */
const UNVERIFIED_CODES: Record<'TOO_LARGE' | 'UNREADABLE' | 'UNDECRYPTABLE', UnverifiedReason> = {
  TOO_LARGE: 'TOO_LARGE',
  UNREADABLE: 'UNREADABLE',
  UNDECRYPTABLE: 'UNDECRYPTABLE',
};

const API_KEY = /^[\x21-\x7e]{32}$/;

export interface WechatPayV2RefundNotificationCodecOptions {
  /**
   * The APIv2 key req_info is encrypted under. One key per codec: during a rotation the keys it
   * replaced get a codec of their own (see shared/app/rotating-wechatpay.ts), as for payments.
   */
  apiKey: string;
}

export class WechatPayV2RefundNotificationCodec implements RefundNotificationCodec {
  readonly apiVersion = 'v2' as const;
  readonly #apiKey: string;

  constructor(options: WechatPayV2RefundNotificationCodecOptions) {
    if (typeof options.apiKey !== 'string' || !API_KEY.test(options.apiKey))
      throw new TypeError('apiKey must be the 32-character APIv2 key');
    this.#apiKey = options.apiKey;
  }

  async verify(notification: RawNotification): Promise<VerifiedRefundNotification> {
    return refundNotificationOf(parseV2RefundNotification(notification.body, [this.#apiKey]));
  }

  /** Kept with the stored notification; v2 has no signature headers, only what the body was said to be. */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    return pickHeaders(notification.headers, AUDIT_HEADERS);
  }

  /** WeChat's v2 reply: 200 text/xml, return_code SUCCESS or FAIL (anything but SUCCESS is sent again). */
  reply(ok: boolean, message: string): { statusCode: number; headers: Record<string, string>; body: string } {
    return { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: notificationReply(ok, message) };
  }
}

/** The parser's result as the domain reads it. */
export function refundNotificationOf(parsed: V2RefundNotificationResult): VerifiedRefundNotification {
  // Decrypted under our key: WeChat's own message from here on, kept and alarmed on if it cannot be used.
  if (!parsed.ok && 'decrypted' in parsed) return unusableNotification(parsed.reason, parsed.outTradeNo);
  if (!parsed.ok) {
    // Nothing undecrypted is evidence of anything: no order number is filed, whatever the body claims.
    // req_info our key does not decrypt is all a changed API key would show.
    return {
      kind: 'rejected',
      code: UNVERIFIED_CODES[parsed.failure],
      reason: parsed.reason,
      ...(parsed.failure === 'UNDECRYPTABLE' ? { rotatedKeyMayExplain: true as const } : {}),
    };
  }
  const { envelope, fields } = parsed;
  const facts: V2RefundFacts = {
    out_refund_no: fields.out_refund_no,
    refund_status: fields.refund_status,
    refund_id: fields.refund_id,
    transaction_id: fields.transaction_id,
    refund_fee: fields.refund_fee,
    total_fee: fields.total_fee,
  };
  if (fields.success_time !== undefined) facts.success_time = fields.success_time;
  if (fields.refund_recv_accout !== undefined) facts.refund_recv_accout = fields.refund_recv_accout;
  const report = v2RefundReport(facts, {
    outTradeNo: fields.out_trade_no,
    mchid: envelope.mch_id,
    appid: envelope.appid,
  });
  if (typeof report === 'string') return unusableNotification(report, fields.out_trade_no);
  return { kind: 'refund', report };
}
