import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

import { METRIC_NOTIFICATIONS_NOT_STORED } from '../config/metric-names';
import { ConfigurationError } from '../domain/errors';
import type { RawNotification } from '../domain/ports';
import type { ReceiveNotification } from '../domain/receive-notification';
import type { RefundNotificationCodec } from '../domain/refund-ports';
import { eventBody } from './event-body';
import type { Observability } from './observability';
import { NOTIFY_REFUND_ROUTE, NOTIFY_ROUTE } from './routes';
import type { NotifyReply, WechatPay } from './wechatpay-adapters';

/** What the refund path needs of its use case (the domain's ReceiveRefundNotification). */
export interface RefundNotificationReceiver {
  execute(codec: RefundNotificationCodec, raw: RawNotification): Promise<{ ok: boolean }>;
  refuseUnread(apiVersion: 'v2' | 'v3', raw: RawNotification, reason: 'TOO_LARGE'): Promise<{ ok: boolean }>;
}

/** What the endpoint needs: the WeChat side for its codecs, and the use cases. */
export interface NotifyEndpoint {
  wechatPay(): Promise<WechatPay>;
  receiveNotification(): Promise<ReceiveNotification>;
  receiveRefundNotification(): Promise<RefundNotificationReceiver>;
  observability: Observability;
}

/**
 * Every refusal gets the same answer, whatever the check that failed: the reason is in the log, and
 * a sender learns nothing from the reply about which check to work on.
 */
export const REFUSED_REPLY = 'notification refused';
/** A storage failure: WeChat sends the notification again later. */
export const UNAVAILABLE_REPLY = 'temporarily unavailable';

/**
 * The largest body each codec reads: WeChat's own notifications are a kilobyte or two, and the cap
 * keeps hostile bodies out of memory and storage. Each kind's parser owns its cap (a v2 refund
 * notification's is its own, not the payment's). Its module is imported on a kind's first
 * notification (loaded already by then: its codec was built from it) and the cap kept, since an
 * import is a module-map lookup on every call (through a loader's hooks, a message to another thread).
 */
const notificationCaps: Partial<Record<`${'payment' | 'refund'} ${'v2' | 'v3'}`, number>> = {};

async function maxNotificationBytes(kind: 'payment' | 'refund', apiVersion: 'v2' | 'v3'): Promise<number> {
  return (notificationCaps[`${kind} ${apiVersion}`] ??= await importNotificationCap(kind, apiVersion));
}

async function importNotificationCap(kind: 'payment' | 'refund', apiVersion: 'v2' | 'v3'): Promise<number> {
  if (apiVersion === 'v3') return (await import('../wechatpay/v3/notification')).MAX_NOTIFICATION_BYTES;
  return kind === 'refund'
    ? (await import('../wechatpay/v2/refund-notification')).MAX_REFUND_NOTIFICATION_BYTES
    : (await import('../wechatpay/v2/notification')).MAX_NOTIFICATION_BYTES;
}

/**
 * The notify URL's two routes: NOTIFY_ROUTE (POST /notify/pay, payments) and NOTIFY_REFUND_ROUTE
 * (POST /notify/refund, refunds); anything else gets the fixed refusal. Each verifies, records, then
 * applies, and answers success only after the record and the transition are stored, so a storage
 * failure makes WeChat retry.
 */
export async function handleNotify(
  event: LambdaFunctionURLEvent,
  endpoint: NotifyEndpoint,
): Promise<LambdaFunctionURLResult> {
  const wechatPay = await endpoint.wechatPay();
  const raw = rawNotification(event);
  const method = event.requestContext.http.method;
  const path = event.rawPath;
  if (method === NOTIFY_REFUND_ROUTE.method && path === NOTIFY_REFUND_ROUTE.path) {
    const codec = wechatPay.refundCodecFor(raw);
    return receive(endpoint, codec, raw, async () => {
      const receiver = await endpoint.receiveRefundNotification();
      return (await tooLarge('refund', codec.apiVersion, raw))
        ? receiver.refuseUnread(codec.apiVersion, raw, 'TOO_LARGE')
        : receiver.execute(codec, raw);
    });
  }
  const codec = wechatPay.codecFor(raw);
  if (method !== NOTIFY_ROUTE.method || path !== NOTIFY_ROUTE.path) return codec.reply(false, REFUSED_REPLY);
  return receive(endpoint, codec, raw, async () => {
    const receiver = await endpoint.receiveNotification();
    return (await tooLarge('payment', codec.apiVersion, raw))
      ? receiver.refuseUnread(codec.apiVersion, raw, 'TOO_LARGE')
      : receiver.execute(codec, raw);
  });
}

/** A body over the codec's own limit is refused before it is read: only its traces are kept. */
async function tooLarge(kind: 'payment' | 'refund', apiVersion: 'v2' | 'v3', raw: RawNotification): Promise<boolean> {
  return Buffer.byteLength(raw.body, 'utf8') > (await maxNotificationBytes(kind, apiVersion));
}

/** Runs one notification's use case and words its outcome as the sender's API version expects. */
async function receive(
  endpoint: NotifyEndpoint,
  codec: { reply(ok: boolean, message: string): NotifyReply },
  raw: RawNotification,
  apply: () => Promise<{ ok: boolean }>,
): Promise<LambdaFunctionURLResult> {
  const { logger, metrics } = endpoint.observability;
  try {
    const outcome = await apply();
    return codec.reply(outcome.ok, outcome.ok ? 'OK' : REFUSED_REPLY);
  } catch (err) {
    // A broken deployment fails the invocation, so the Lambda error alarm fires; WeChat retries either way.
    if (err instanceof ConfigurationError) throw err;
    logger.error('notification not stored; asking WeChat to retry', {
      error: err as Error,
      bodyBytes: raw.body.length,
    });
    metrics.addMetric(METRIC_NOTIFICATIONS_NOT_STORED, MetricUnit.Count, 1);
    return codec.reply(false, UNAVAILABLE_REPLY);
  }
}

function rawNotification(event: LambdaFunctionURLEvent): RawNotification {
  const body = eventBody(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const sourceIp = event.requestContext.http.sourceIp;
  return typeof sourceIp === 'string' && sourceIp !== '' ? { headers, body, sourceIp } : { headers, body };
}
