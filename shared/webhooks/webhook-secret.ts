import { randomBytes } from 'node:crypto';

/** How a Standard Webhooks symmetric secret is written, so that a reader can tell it from other keys. */
export const WEBHOOK_SECRET_PREFIX = 'whsec_';
/** The spec's bounds for an HMAC-SHA256 signing secret: at least 192 bits, at most 512. */
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;
/** What generateWebhookSecret draws: 256 bits, HMAC-SHA256's own block of strength. */
const GENERATED_SECRET_BYTES = 32;

export type WebhookSecretRule = 'prefix' | 'base64' | 'too-short' | 'too-long';

/**
 * A webhook secret breaks one of the scheme's rules. The message names the rule and never any part
 * of the secret: it ends up in logs and in configuration errors.
 */
export class WebhookSecretError extends Error {
  readonly rule: WebhookSecretRule;

  constructor(rule: WebhookSecretRule, message: string) {
    super(message);
    this.name = 'WebhookSecretError';
    this.rule = rule;
  }
}

// Standard alphabet only: the receivers' libraries (base64 "standard" decoders) refuse `-` and `_`.
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The HMAC key behind a `whsec_…` secret: the bytes its base64 text decodes to. The text must be
 * canonical standard base64 (padding optional), so that every verifier decodes it to the same key;
 * Node's own decoder would silently skip characters that are not base64.
 */
export function parseWebhookSecret(text: string): Buffer {
  if (!text.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new WebhookSecretError('prefix', `a webhook secret must start with "${WEBHOOK_SECRET_PREFIX}"`);
  }
  const encoded = text.slice(WEBHOOK_SECRET_PREFIX.length);
  const key = Buffer.from(encoded, 'base64');
  if (!BASE64.test(encoded) || unpadded(key.toString('base64')) !== unpadded(encoded)) {
    throw new WebhookSecretError(
      'base64',
      `a webhook secret must be "${WEBHOOK_SECRET_PREFIX}" followed by standard base64 (A-Z a-z 0-9 + /, ` +
        'optionally padded with =), nothing else, no whitespace',
    );
  }
  if (key.length < WEBHOOK_SECRET_MIN_BYTES) {
    throw new WebhookSecretError(
      'too-short',
      `a webhook secret must decode to at least ${WEBHOOK_SECRET_MIN_BYTES} bytes (192 bits)`,
    );
  }
  if (key.length > WEBHOOK_SECRET_MAX_BYTES) {
    throw new WebhookSecretError(
      'too-long',
      `a webhook secret must decode to at most ${WEBHOOK_SECRET_MAX_BYTES} bytes (512 bits)`,
    );
  }
  return key;
}

/** A fresh secret in the scheme's form: `whsec_` and the base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(GENERATED_SECRET_BYTES).toString('base64');
}

function unpadded(base64: string): string {
  return base64.replace(/=+$/, '');
}
