import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import { parseWebhookSecret, WebhookSecretError } from '../webhooks/webhook-secret';
import { memo } from './memo';
import { defaultSecretReader, type SecretReader } from './merchant-secret';

/**
 * The HMAC key webhooks are signed with. Locally from MERCHANT_WEBHOOK_SECRET (checked with the other
 * settings); in AWS from the Secrets Manager secret MERCHANT_WEBHOOK_SECRET_ID, whose SecretString is the
 * `whsec_…` text the merchant put there. Read when the first batch arrives and, once read, kept for
 * the container's life: the merchant's receiver verifies with the same secret, so changing it is a
 * coordinated step (both sides, then new containers), not something to follow mid-flight.
 *
 * A secret that is missing or not a `whsec_` secret is a ConfigurationError naming the variable or the
 * secret's id and the rule broken, never the value. Only a successful read is kept: a FAILED read is
 * not cached, so the next batch reads again and a fixed secret is picked up without a redeploy.
 */
export function webhookKeySource(settings: Settings, readSecret?: SecretReader): () => Promise<Buffer> {
  const local = settings.MERCHANT_WEBHOOK_SECRET;
  if (local !== undefined) {
    const key = parseWebhookSecret(local);
    return () => Promise.resolve(key);
  }
  const secretId = settings.MERCHANT_WEBHOOK_SECRET_ID;
  if (secretId === undefined) {
    throw new ConfigurationError(
      'MERCHANT_WEBHOOK_SECRET or MERCHANT_WEBHOOK_SECRET_ID is required by this function: webhooks are signed',
    );
  }
  const read = readSecret ?? defaultSecretReader(settings);
  return memo(async () => webhookKeyOf(await read(secretId), `the webhook secret ${secretId}`));
}

/**
 * The key behind `whsec_…` text read from `where` (a secret, a file), surrounding whitespace aside. A
 * text that is empty or breaks the scheme's rules is a ConfigurationError naming `where` and the rule,
 * never the text.
 */
export function webhookKeyOf(text: string | undefined, where: string): Buffer {
  const secret = text?.trim() ?? '';
  if (secret === '') throw new ConfigurationError(`${where} has no value: put the whsec_… secret in it`);
  try {
    return parseWebhookSecret(secret);
  } catch (error) {
    if (!(error instanceof WebhookSecretError)) throw error;
    throw new ConfigurationError(`${where} must be a whsec_ secret (${error.message})`);
  }
}
