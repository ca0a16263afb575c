import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';

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

/** WeChat's notifications are about 1 KB; the cap keeps hostile bodies out of memory and storage. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;

/**
 * NOTIFY_ROUTE (POST /notify/pay). Verifies, records, then applies; answers success only after the
 * record and the transition are stored, so a storage failure makes WeChat retry.
 */
export async function handleNotify(
  event: LambdaFunctionURLEvent,
  endpoint: NotifyEndpoint,
): Promise<LambdaFunctionURLResult> {
  const { logger, observer } = endpoint.observability;
  const wechatPay = await endpoint.wechatPay();
  const raw = rawNotification(event);
  const codec = wechatPay.codecFor(raw);
  if (event.requestContext.http.method !== NOTIFY_ROUTE.method || event.rawPath !== NOTIFY_ROUTE.path) {
    return codec.reply(false, 'not found');
  }
  if (Buffer.byteLength(raw.body, 'utf8') > MAX_NOTIFICATION_BYTES) {
    observer.rejected('BODY_TOO_LARGE', { source: 'notify' });
    return codec.reply(false, 'body too large');
  }
  try {
    const outcome = await (await endpoint.receiveNotification()).execute(codec, raw);
    return outcome.ok ? codec.reply(true, 'OK') : codec.reply(false, outcome.reason);
  } catch (err) {
    // A broken deployment fails the invocation, so the Lambda error alarm fires; WeChat retries either way.
    if (err instanceof ConfigurationError) throw err;
    logger.error('notification not stored; asking WeChat to retry', { error: err as Error });
    return codec.reply(false, 'temporarily unavailable');
  }
}

function rawNotification(event: LambdaFunctionURLEvent): RawNotification {
  const body = eventBody(event);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  return { headers, body };
}
