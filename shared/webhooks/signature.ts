import { createHmac } from 'node:crypto';

/** What one webhook attempt signs. */
export interface WebhookSigningInput {
  /** The HMAC key: the decoded bytes of the `whsec_` secret (parseWebhookSecret). */
  key: Buffer;
  /** The message id (`webhook-id`): the same on every attempt, so the receiver can deduplicate. */
  id: string;
  /** Unix seconds of this attempt (`webhook-timestamp`): receivers refuse one too far from their clock. */
  timestamp: number;
  /** The exact body sent: the signature covers its UTF-8 bytes, so not one byte may change after signing. */
  body: string;
}

export type WebhookHeaderName = 'webhook-id' | 'webhook-timestamp' | 'webhook-signature';
export type WebhookHeaders = Record<WebhookHeaderName, string>;

/** The symmetric scheme's version tag in `webhook-signature`. */
const SYMMETRIC_VERSION = 'v1';
// Visible ASCII without '.': the signed content joins id, timestamp and body with '.', and the id
// travels in a header.
const MESSAGE_ID = /^[\x21-\x2d\x2f-\x7e]+$/;

/**
 * The `webhook-signature` value: `v1,` and the base64 HMAC-SHA256 of `{id}.{timestamp}.{body}`.
 * Throws a RangeError for input no caller should produce (an empty key, an id with '.' or outside
 * visible ASCII, a timestamp that is not whole non-negative seconds).
 */
export function signWebhook(input: WebhookSigningInput): string {
  checkSigningInput(input);
  const mac = createHmac('sha256', input.key).update(`${input.id}.${input.timestamp}.${input.body}`, 'utf8');
  return `${SYMMETRIC_VERSION},${mac.digest('base64')}`;
}

/** The three Standard Webhooks headers of one attempt. */
export function webhookHeaders(input: WebhookSigningInput): WebhookHeaders {
  return {
    'webhook-id': input.id,
    'webhook-timestamp': String(input.timestamp),
    'webhook-signature': signWebhook(input),
  };
}

function checkSigningInput(input: WebhookSigningInput): void {
  if (input.key.length === 0) throw new RangeError('webhook signing key is empty');
  if (!MESSAGE_ID.test(input.id)) {
    throw new RangeError('webhook id must be non-empty visible ASCII without "."');
  }
  if (!Number.isSafeInteger(input.timestamp) || input.timestamp < 0) {
    throw new RangeError('webhook timestamp must be whole unix seconds');
  }
}
