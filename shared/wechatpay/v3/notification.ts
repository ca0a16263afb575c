import * as z from 'zod';
import { isOutTradeNo } from '../core/trade-ids';
import { AEAD_ALGORITHM, decryptResource } from './aead';
import type { PlatformKeySource } from './key-ring';
import type { V3Transaction } from './responses';
import { transactionSchema } from './responses';
import { readWechatpaySignature, verifyWechatpaySignature, type SignatureFailure } from './wechatpay-signature';

/**
 * WeChat Pay APIv3 payment notifications: the signature (key chosen by Wechatpay-Serial, probes and
 * stale timestamps refused) is checked on the raw body before anything is parsed; then the envelope,
 * the AES-256-GCM resource and the transaction inside, each validated. WeChat's side of it is in
 * testing/wechat-messages.ts.
 */

/** A real notification is about a kilobyte; more is not WeChat. */
export const MAX_NOTIFICATION_BYTES = 64 * 1024;
const TRANSACTION_SUCCESS_EVENT = 'TRANSACTION.SUCCESS';

export const notificationEnvelopeSchema = z.object({
  id: z.string().min(1),
  create_time: z.string().min(1),
  event_type: z.string().min(1),
  resource_type: z.literal('encrypt-resource'),
  summary: z.string().optional(),
  resource: z.object({
    algorithm: z.literal(AEAD_ALGORITHM),
    ciphertext: z.string().min(1),
    nonce: z.string().min(1),
    associated_data: z.string().optional(),
    original_type: z.string().min(1),
  }),
});

/** Why a notification is not proven WeChat's: its size, or why its signature was refused. */
export type V3UnverifiedFailure = 'too_large' | SignatureFailure;
/** Why a notification whose signature verified cannot be used. */
export type V3UnusableFailure = V3OpenFailure | 'invalid_transaction';

/**
 * A refusal says whether the signature had verified: `signed: true` is WeChat's own message that
 * cannot be used (a caller keeps it and alarms); without it, the notification is not proven WeChat's.
 * `failure` is for callers to act on; `reason` is for people, and may quote the sender.
 */
export type V3NotificationResult =
  | { ok: true; transaction: V3Transaction }
  | { ok: false; failure: V3UnverifiedFailure; reason: string }
  | { ok: false; signed: true; failure: V3UnusableFailure; reason: string; outTradeNo?: string };

export interface V3NotificationOptions {
  /** The 32-byte APIv3 key (see apiV3KeyBytes). */
  apiV3Key: Buffer;
  /** WeChat Pay's keys by serial: WechatPayV3Client.keys, or a KeyRing. */
  keys: PlatformKeySource;
  now: Date;
  maxBytes?: number;
}

/** A refusal of a notification whose signature verified. */
function unusable(failure: V3UnusableFailure, reason: string, outTradeNo?: string): V3NotificationResult {
  // Only a well-formed order number is worth filing the refusal under.
  return isOutTradeNo(outTradeNo)
    ? { ok: false, signed: true, failure, reason, outTradeNo }
    : { ok: false, signed: true, failure, reason };
}

/** Why a notification whose signature verified was not opened: before its resource could be read. */
export type V3OpenFailure = 'invalid_envelope' | 'unsupported_event' | 'undecryptable';

/**
 * A notification proven WeChat's and decrypted, or why not. Shared by every kind of v3
 * notification (payments here, refunds in refund-notification.ts); each reads its own resource.
 */
export type OpenedV3Notification =
  | {
      ok: true;
      id: string;
      createTime: string;
      eventType: string;
      summary?: string;
      /** The decrypted resource, parsed as JSON (undefined when it is not JSON). */
      resource: unknown;
    }
  | { ok: false; failure: V3UnverifiedFailure; reason: string }
  | { ok: false; signed: true; failure: V3OpenFailure; reason: string };

/**
 * Checks the size and the signature on the raw body before anything is parsed, then the envelope,
 * the event type and original_type expected, and decrypts the resource (AES-256-GCM under the
 * APIv3 key, with the associated_data it states). Never throws for bad input.
 */
export async function openV3Notification(
  notification: { headers: Record<string, string | undefined>; body: string },
  options: V3NotificationOptions,
  expected: {
    eventTypes: readonly string[];
    originalType: string;
    /** When given, the only associated_data accepted (WeChat's fixed one for this kind). */
    associatedData?: string;
  },
): Promise<OpenedV3Notification> {
  const maxBytes = options.maxBytes ?? MAX_NOTIFICATION_BYTES;
  if (Buffer.byteLength(notification.body, 'utf8') > maxBytes)
    return { ok: false, failure: 'too_large', reason: `body larger than ${maxBytes} bytes` };
  const check = await verifyWechatpaySignature(
    { signature: readWechatpaySignature(notification.headers), body: notification.body },
    options.keys,
    { now: options.now },
  );
  if (!check.ok)
    return { ok: false, failure: check.failure, reason: `signature refused (${check.failure}): ${check.message}` };

  const unopened = (failure: V3OpenFailure, reason: string): OpenedV3Notification => ({
    ok: false,
    signed: true,
    failure,
    reason,
  });
  const envelope = notificationEnvelopeSchema.safeParse(parseJson(notification.body));
  if (!envelope.success)
    return unopened('invalid_envelope', `not a v3 notification envelope: ${firstIssue(envelope.error)}`);
  const { event_type: eventType, resource } = envelope.data;
  if (!expected.eventTypes.includes(eventType))
    return unopened('unsupported_event', `unsupported event_type ${eventType}`);
  if (resource.original_type !== expected.originalType)
    return unopened('unsupported_event', `unsupported original_type ${resource.original_type}`);

  // GCM authenticates whatever associated_data the envelope states; a resource WeChat encrypted
  // for another kind of message (a payment's "transaction") decrypts, but is not this kind.
  if (expected.associatedData !== undefined && resource.associated_data !== expected.associatedData)
    return unopened(
      'undecryptable',
      `associated_data ${JSON.stringify(resource.associated_data ?? '')}, not ${expected.associatedData}`,
    );
  let plaintext: string;
  try {
    plaintext = decryptResource(resource, options.apiV3Key);
  } catch (error) {
    return unopened(
      'undecryptable',
      `resource not decrypted: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return {
    ok: true,
    id: envelope.data.id,
    createTime: envelope.data.create_time,
    eventType,
    ...(envelope.data.summary !== undefined ? { summary: envelope.data.summary } : {}),
    resource: parseJson(plaintext),
  };
}

/** Verifies and reads a v3 payment notification; never throws for bad input. */
export async function parseV3Notification(
  notification: { headers: Record<string, string | undefined>; body: string },
  options: V3NotificationOptions,
): Promise<V3NotificationResult> {
  const opened = await openV3Notification(notification, options, {
    eventTypes: [TRANSACTION_SUCCESS_EVENT],
    originalType: 'transaction',
  });
  if (!opened.ok) return opened;
  const transaction = transactionSchema.safeParse(opened.resource);
  if (!transaction.success)
    return unusable(
      'invalid_transaction',
      `not a transaction: ${firstIssue(transaction.error)}`,
      outTradeNoOf(opened.resource),
    );
  return { ok: true, transaction: transaction.data };
}

/**
 * The reply WeChat expects: 204 with no body when the notification is taken; otherwise 500 with
 * `{"code":"FAIL","message":…}`. WeChat retries on any 4xx or 5xx alike; one status for every
 * failure keeps the reply from telling a forger which check stopped it.
 */
export function notificationReply(
  ok: boolean,
  message: string,
): { statusCode: number; headers: Record<string, string>; body: string } {
  if (ok) return { statusCode: 204, headers: {}, body: '' };
  return {
    statusCode: 500,
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ code: 'FAIL', message: message.slice(0, 256) || 'FAIL' }),
  };
}

export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

export function outTradeNoOf(json: unknown): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const value = (json as Record<string, unknown>).out_trade_no;
  return typeof value === 'string' ? value : undefined;
}

export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid';
}
