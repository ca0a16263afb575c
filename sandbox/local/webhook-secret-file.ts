import { join } from 'node:path';

import { webhookKeyOf } from '#shared/app/webhook-secret';
import { ConfigurationError } from '#shared/domain/errors';
import { generateWebhookSecret } from '#shared/webhooks/webhook-secret';
import { readOrCreateSecret } from '../simulator/persisted-secret';
import { LocalSettingsError } from './local-settings';

/** The file under the data directory that keeps the generated webhook secret (`whsec_…` and a newline). */
export const WEBHOOK_SECRET_FILE = 'merchant-webhook-secret';

/**
 * The local stack's webhook secret when MERCHANT_WEBHOOK_SECRET is not set: generated once and kept in
 * the data directory (owner-only), so it survives restarts and the merchant's receiver reads the same
 * secret from the file. The secret itself is never printed; the file's path is.
 */
export function localWebhookSecret(dataDir: string): { secret: string; path: string } {
  const path = join(dataDir, WEBHOOK_SECRET_FILE);
  const text = readOrCreateSecret(path, () => `${generateWebhookSecret()}\n`);
  try {
    // Checked as the webhooks function checks it; said by rule and path, never by content.
    webhookKeyOf(text, path);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new LocalSettingsError(
      `invalid settings: ${error.message}; delete it to generate a new one, or set MERCHANT_WEBHOOK_SECRET`,
    );
  }
  return { secret: text.trim(), path };
}
