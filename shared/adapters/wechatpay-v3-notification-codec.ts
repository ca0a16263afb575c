import type { Clock, NotificationCodec, RawNotification, VerifiedNotification } from '../domain/ports';
import { pickHeaders } from './notification-headers';
import { apiV3KeyBytes, decryptResource } from '../wechatpay/v3/aead';
import type { PlatformKeySource } from '../wechatpay/v3/key-ring';
import { notificationEnvelopeSchema, transactionSchema } from '../wechatpay/v3/schemas';
import { readWechatpaySignature, verifyWechatpaySignature } from '../wechatpay/v3/wechatpay-signature';
import { isReportProblem, transactionToReport } from './wechatpay-v3-provider';

/**
 * WeChat Pay APIv3 payment notifications: signature (key chosen by Wechatpay-Serial, probes and
 * stale timestamps refused) checked on the raw body before anything is parsed; then the envelope,
 * the AES-256-GCM resource and the transaction inside, each validated.
 *
 * Replies: 204 with no body when the notification is taken; otherwise 500 with
 * `{"code":"FAIL","message":…}`. WeChat retries on any 4xx or 5xx alike; one status for every
 * failure keeps the reply from telling a forger which check stopped it (the reason is in our audit
 * record, not in the reply).
 */

const AUDIT_HEADERS = [
  'wechatpay-timestamp',
  'wechatpay-nonce',
  'wechatpay-signature',
  'wechatpay-serial',
  'content-type',
];

export const V3_NOTIFICATION_MAX_BYTES = 64 * 1024;
export const TRANSACTION_SUCCESS_EVENT = 'TRANSACTION.SUCCESS';

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
    this.apiV3Key = apiV3KeyBytes(options.apiV3Key);
    this.keys = options.keys;
    this.clock = options.clock ?? { now: () => new Date() };
    this.maxBodyBytes = options.maxBodyBytes ?? V3_NOTIFICATION_MAX_BYTES;
  }

  async verify(notification: RawNotification): Promise<VerifiedNotification> {
    if (Buffer.byteLength(notification.body, 'utf8') > this.maxBodyBytes) {
      return rejected(`body larger than ${this.maxBodyBytes} bytes`);
    }
    const check = await verifyWechatpaySignature(
      { signature: readWechatpaySignature(notification.headers), body: notification.body },
      this.keys,
      { now: this.clock.now() },
    );
    if (!check.ok) return rejected(`signature refused (${check.failure}): ${check.message}`);

    const envelope = notificationEnvelopeSchema.safeParse(parseJson(notification.body));
    if (!envelope.success) return rejected(`not a v3 notification envelope: ${firstIssue(envelope.error)}`);
    const { event_type: eventType, resource } = envelope.data;
    if (eventType !== TRANSACTION_SUCCESS_EVENT) return rejected(`unsupported event_type ${eventType}`);
    if (resource.original_type !== 'transaction')
      return rejected(`unsupported original_type ${resource.original_type}`);

    let plaintext: string;
    try {
      plaintext = decryptResource(resource, this.apiV3Key);
    } catch (error) {
      return rejected(`resource not decrypted: ${error instanceof Error ? error.message : String(error)}`);
    }
    const json = parseJson(plaintext);
    const outTradeNo = outTradeNoOf(json);
    const transaction = transactionSchema.safeParse(json);
    if (!transaction.success) return rejected(`not a transaction: ${firstIssue(transaction.error)}`, outTradeNo);
    const report = transactionToReport(transaction.data);
    if (isReportProblem(report)) return rejected(`${report.code}: ${report.message}`, outTradeNo);
    return { kind: 'trade', report };
  }

  /** Kept with the stored notification: what proves who sent it. */
  auditHeaders(notification: RawNotification): Record<string, string> | undefined {
    return pickHeaders(notification.headers, AUDIT_HEADERS);
  }

  reply(ok: boolean, message: string): { statusCode: number; headers: Record<string, string>; body: string } {
    if (ok) return { statusCode: 204, headers: {}, body: '' };
    return {
      statusCode: 500,
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ code: 'FAIL', message: message.slice(0, 256) || 'FAIL' }),
    };
  }
}

function rejected(reason: string, outTradeNo?: string): VerifiedNotification {
  return outTradeNo === undefined ? { kind: 'rejected', reason } : { kind: 'rejected', reason, outTradeNo };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function outTradeNoOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const value = (json as Record<string, unknown>).out_trade_no;
  return typeof value === 'string' && value.length <= 32 ? value : undefined;
}

function firstIssue(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
}
