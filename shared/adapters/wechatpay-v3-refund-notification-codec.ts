import { systemClock, type Clock, type RawNotification } from '../domain/ports';
import type { RefundNotificationCodec, VerifiedRefundNotification } from '../domain/refund-ports';
import { apiV3KeyBytes } from '../wechatpay/v3/aead';
import type { PlatformKeySource } from '../wechatpay/v3/key-ring';
import { MAX_NOTIFICATION_BYTES, notificationReply } from '../wechatpay/v3/notification';
import { parseV3RefundNotification } from '../wechatpay/v3/refund-notification';
import { pickHeaders } from './notification-headers';
import { toDomainError } from './wechatpay-errors';
import { unusableNotification } from './notification-refusals';
import { V3_AUDIT_HEADERS, v3Refusal } from './wechatpay-v3-notification-terms';
import { v3RefundReport } from './wechatpay-v3-refunds';

/**
 * RefundNotificationCodec for WeChat Pay APIv3 refund notifications (REFUND.SUCCESS, REFUND.ABNORMAL,
 * REFUND.CLOSED): proven WeChat's as payment notifications are (signature by Wechatpay-Serial, probes
 * and stale timestamps refused, then AES-256-GCM with associated_data "refund"); the resource's
 * `refund_status` becomes the report's status. Refusals are answered alike whatever the reason.
 */

export interface WechatPayV3RefundNotificationCodecOptions {
  /** Exactly 32 bytes; anything else is refused here, at start-up. */
  apiV3Key: string;
  /** WeChat Pay's keys by serial: WechatPayV3Client.keys, or a KeyRing. */
  keys: PlatformKeySource;
  clock?: Clock;
  maxBodyBytes?: number;
}

export class WechatPayV3RefundNotificationCodec implements RefundNotificationCodec {
  readonly apiVersion = 'v3' as const;
  private readonly apiV3Key: Buffer;
  private readonly keys: PlatformKeySource;
  private readonly clock: Clock;
  private readonly maxBodyBytes: number;

  constructor(options: WechatPayV3RefundNotificationCodecOptions) {
    try {
      this.apiV3Key = apiV3KeyBytes(options.apiV3Key);
    } catch (error) {
      throw toDomainError(error);
    }
    this.keys = options.keys;
    this.clock = options.clock ?? systemClock;
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_NOTIFICATION_BYTES;
  }

  async verify(notification: RawNotification): Promise<VerifiedRefundNotification> {
    const parsed = await parseV3RefundNotification(notification, {
      apiV3Key: this.apiV3Key,
      keys: this.keys,
      now: this.clock.now(),
      maxBytes: this.maxBodyBytes,
    });
    if (!parsed.ok) return v3Refusal(parsed, notification);
    const { refund_status: status, mchid, ...facts } = parsed.refund;
    const report = v3RefundReport({ ...facts, status }, mchid);
    if (typeof report === 'string') return unusableNotification(report, facts.out_trade_no);
    return { kind: 'refund', report };
  }

  /** Kept with the stored notification: what proves who sent it. */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    return pickHeaders(notification.headers, V3_AUDIT_HEADERS);
  }

  /** WeChat's v3 reply: 204 when taken, else 500 with {"code":"FAIL",…} (any 4xx/5xx is sent again). */
  reply(ok: boolean, message: string): { statusCode: number; headers: Record<string, string>; body: string } {
    return notificationReply(ok, message);
  }
}
