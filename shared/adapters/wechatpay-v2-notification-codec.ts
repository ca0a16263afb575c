import type {
  NotificationCodec,
  RawNotification,
  TradeReport,
  UnverifiedReason,
  VerifiedNotification,
} from '../domain/ports';
import { pickHeaders } from './notification-headers';
import {
  MAX_NOTIFICATION_BYTES,
  notificationReply,
  parseV2Notification,
  type V2NotificationFailure,
} from '../wechatpay/v2/notification';
import { currencyOf, paymentFactsOf } from './wechatpay-v2-provider';

export interface WechatPayV2NotificationCodecOptions {
  apiKey: string;
  /** Default 32 KiB. */
  maxBytes?: number;
}

const AUDIT_HEADERS = ['content-type'];

/** What is stored and counted of each way a v2 notification is not proven WeChat's. */
const UNVERIFIED_CODES: Record<V2NotificationFailure, UnverifiedReason> = {
  unreadable: 'UNREADABLE',
  unsigned: 'UNSIGNED',
  malformed_signature: 'BAD_SIGNATURE',
  bad_signature: 'BAD_SIGNATURE',
};

/** The order number a refusal may be filed under (the library passes only well-formed ones). */
function claimed(outTradeNo: string | undefined): { outTradeNo?: string } {
  return outTradeNo === undefined ? {} : { outTradeNo };
}

/**
 * NotificationCodec for WeChat Pay v2 payment notifications. It proves the notification came from
 * WeChat (signature) and reads it; whether appid, mch_id and amount are ours is the domain's call,
 * from report.appid / report.mchid / report.amount.
 */
export class WechatPayV2NotificationCodec implements NotificationCodec {
  readonly apiVersion = 'v2' as const;
  readonly #apiKey: string;
  readonly #maxBytes: number;

  constructor(options: WechatPayV2NotificationCodecOptions) {
    if (typeof options.apiKey !== 'string' || !/^[\x21-\x7e]{32}$/.test(options.apiKey)) {
      throw new TypeError('apiKey must be the 32-character APIv2 key');
    }
    this.#apiKey = options.apiKey;
    this.#maxBytes = options.maxBytes ?? MAX_NOTIFICATION_BYTES;
  }

  async verify(notification: RawNotification): Promise<VerifiedNotification> {
    const parsed = parseV2Notification(notification.body, this.#apiKey, this.#maxBytes);
    if (!parsed.ok) {
      // Past the signature, the refusal is of WeChat's own message.
      if ('signed' in parsed) return { kind: 'unusable', reason: parsed.reason, ...claimed(parsed.outTradeNo) };
      return {
        kind: 'rejected',
        code: UNVERIFIED_CODES[parsed.failure],
        reason: parsed.reason,
        ...claimed(parsed.outTradeNo),
        // A well-formed signature that does not verify: a rotated API key would explain it.
        ...(parsed.failure === 'bad_signature' ? { rotatedKeyMayExplain: true as const } : {}),
      };
    }
    const n = parsed.notification;
    const currency = currencyOf(n.fee_type);
    if (currency === undefined) {
      return { kind: 'unusable', reason: `unsupported fee_type ${n.fee_type}`, outTradeNo: n.out_trade_no };
    }
    const report: TradeReport = {
      outTradeNo: n.out_trade_no,
      state: n.result_code === 'SUCCESS' ? 'SUCCESS' : 'PAYERROR',
      appid: n.appid,
      mchid: n.mch_id,
    };
    if (n.total_fee !== undefined) report.amount = { total: n.total_fee, currency };
    const payment = n.result_code === 'SUCCESS' ? paymentFactsOf(n, currency) : undefined;
    if (payment !== undefined) report.payment = payment;
    if (n.result_code === 'FAIL') {
      const description = n.err_code_des ?? n.err_code;
      if (description !== undefined) report.description = description;
    }
    return { kind: 'trade', report };
  }

  /** Kept with the stored notification: what proves who sent it. */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    return pickHeaders(notification.headers, AUDIT_HEADERS);
  }

  reply(ok: boolean, message: string): { statusCode: number; headers: Record<string, string>; body: string } {
    return { statusCode: 200, headers: { 'content-type': 'text/xml' }, body: notificationReply(ok, message) };
  }
}
