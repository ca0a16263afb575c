import { join } from 'node:path';

import { webhookSecretSchema } from '#shared/config/settings';
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
  // Checked by the same rule as MERCHANT_WEBHOOK_SECRET; said by rule and path, never by content.
  const checked = webhookSecretSchema.safeParse(readOrCreateSecret(path, () => `${generateWebhookSecret()}\n`).trim());
  if (!checked.success || checked.data === undefined) {
    const rule = checked.success ? 'is empty' : checked.error.issues.map((issue) => issue.message).join('; ');
    throw new LocalSettingsError(
      `invalid settings: ${path} does not hold a webhook secret (${rule}); ` +
        'delete it to generate a new one, or set MERCHANT_WEBHOOK_SECRET',
    );
  }
  return { secret: checked.data, path };
}
