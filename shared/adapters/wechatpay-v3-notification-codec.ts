import {
  systemClock,
  type Clock,
  type NotificationCodec,
  type RawNotification,
  type VerifiedNotification,
} from '../domain/ports';
import { pickHeaders } from './notification-headers';
import { apiV3KeyBytes } from '../wechatpay/v3/aead';
import type { PlatformKeySource } from '../wechatpay/v3/key-ring';
import { MAX_NOTIFICATION_BYTES, notificationReply, parseV3Notification } from '../wechatpay/v3/notification';
import { toDomainError } from './wechatpay-errors';
import { unusableNotification } from './notification-refusals';
import { V3_AUDIT_HEADERS, v3Refusal } from './wechatpay-v3-notification-terms';
import { isReportProblem, transactionToReport } from './wechatpay-v3-provider';

/**
 * NotificationCodec for WeChat Pay APIv3 payment notifications. The library proves the notification
 * came from WeChat and reads the transaction (v3/notification.ts); here it becomes a TradeReport.
 * Refusals are answered alike whatever the reason: the reason is in our audit record, not in the reply.
 */

export interface WechatPayV3NotificationCodecOptions {
  /** Exactly 32 bytes; anything else is refused here, at start-up. */
  apiV3Key: string;
  /** WeChat Pay's keys by serial: WechatPayV3Client.keys, or a KeyRing. */
  keys: PlatformKeySource;
  clock?: Clock;
  maxBodyBytes?: number;
}

export class WechatPayV3NotificationCodec implements NotificationCodec {
  readonly apiVersion = 'v3' as const;
  private readonly apiV3Key: Buffer;
  private readonly keys: PlatformKeySource;
  private readonly clock: Clock;
  private readonly maxBodyBytes: number;

  constructor(options: WechatPayV3NotificationCodecOptions) {
    try {
      this.apiV3Key = apiV3KeyBytes(options.apiV3Key);
    } catch (error) {
      throw toDomainError(error);
    }
    this.keys = options.keys;
    this.clock = options.clock ?? systemClock;
    this.maxBodyBytes = options.maxBodyBytes ?? MAX_NOTIFICATION_BYTES;
  }

  async verify(notification: RawNotification): Promise<VerifiedNotification> {
    const parsed = await parseV3Notification(notification, {
      apiV3Key: this.apiV3Key,
      keys: this.keys,
      now: this.clock.now(),
      maxBytes: this.maxBodyBytes,
    });
    if (!parsed.ok) return v3Refusal(parsed, notification);
    const report = transactionToReport(parsed.transaction);
    if (isReportProblem(report)) {
      return unusableNotification(`${report.code}: ${report.message}`, parsed.transaction.out_trade_no);
    }
    return { kind: 'trade', report };
  }

  /** Kept with the stored notification: what proves who sent it. */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    return pickHeaders(notification.headers, V3_AUDIT_HEADERS);
  }

  reply(ok: boolean, message: string): { statusCode: number; headers: Record<string, string>; body: string } {
    return notificationReply(ok, message);
  }
}
