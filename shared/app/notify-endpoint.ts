import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

import { METRIC_NOTIFICATIONS_NOT_STORED } from '../config/metric-names';
import { ConfigurationError } from '../domain/errors';
import type { RawNotification } from '../domain/ports';
import type { ReceiveNotification } from '../domain/receive-notification';
import { eventBody } from './event-body';
import type { Observability } from './observability';
import { NOTIFY_ROUTE } from './routes';
import type { WechatPay } from './wechatpay-adapters';

/** What the endpoint needs: the WeChat side for its codecs, and the use case. */
export interface NotifyEndpoint {
  wechatPay(): Promise<WechatPay>;
  receiveNotification(): Promise<ReceiveNotification>;
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
 * The largest body each API version's codec reads: WeChat's own notifications are about a kilobyte,
 * and the cap keeps hostile bodies out of memory and storage. The codec module is loaded already by
 * the time it is asked (its codec was built from it), so this import costs nothing.
 */
async function maxNotificationBytes(apiVersion: 'v2' | 'v3'): Promise<number> {
  return apiVersion === 'v2'
    ? (await import('../wechatpay/v2/notification')).MAX_NOTIFICATION_BYTES
    : (await import('../wechatpay/v3/notification')).MAX_NOTIFICATION_BYTES;
}

/**
 * NOTIFY_ROUTE (POST /notify/pay). Verifies, records, then applies; answers success only after the
 * record and the transition are stored, so a storage failure makes WeChat retry.
 */
export async function handleNotify(
  event: LambdaFunctionURLEvent,
  endpoint: NotifyEndpoint,
): Promise<LambdaFunctionURLResult> {
  const { logger, metrics } = endpoint.observability;
  const wechatPay = await endpoint.wechatPay();
  const raw = rawNotification(event);
  const codec = wechatPay.codecFor(raw);
  if (event.requestContext.http.method !== NOTIFY_ROUTE.method || event.rawPath !== NOTIFY_ROUTE.path) {
    return codec.reply(false, REFUSED_REPLY);
  }
  try {
    const receive = await endpoint.receiveNotification();
    const outcome =
      Buffer.byteLength(raw.body, 'utf8') > (await maxNotificationBytes(codec.apiVersion))
        ? await receive.refuseUnread(codec.apiVersion, raw, 'TOO_LARGE')
        : await receive.execute(codec, raw);
    return codec.reply(outcome.ok, outcome.ok ? 'OK' : REFUSED_REPLY);
  } catch (err) {
    // A broken deployment fails the invocation, so the Lambda error alarm fires; WeChat retries either way.
    if (err instanceof ConfigurationError) throw err;
    logger.error('notification not stored; asking WeChat to retry', { error: err as Error });
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
