import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import {
  credentialsFromSettings,
  parseMerchantCredentials,
  type MerchantCredentials,
} from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import { memo } from './memo';

/**
 * Loads the merchant's credentials once per container: from Secrets Manager when WECHATPAY_SECRET_ID
 * is set (AWS), else from WECHATPAY_* settings (local). A failed load is not cached, so the next
 * invocation tries again.
 */
export function merchantCredentialsLoader(
  settings: Settings,
  client: () => SecretsManagerClient = () => new SecretsManagerClient({ region: settings.AWS_REGION }),
): () => Promise<MerchantCredentials> {
  return memo(() => load(settings, client));
}

async function load(settings: Settings, client: () => SecretsManagerClient): Promise<MerchantCredentials> {
  const secretId = settings.WECHATPAY_SECRET_ID;
  if (secretId === undefined) return credentialsFromSettings(settings);
  const answer = await client().send(new GetSecretValueCommand({ SecretId: secretId }));
  let value: unknown;
  try {
    value = JSON.parse(answer.SecretString ?? '');
  } catch (cause) {
    throw new ConfigurationError('the merchant secret is not JSON', { cause: new Error((cause as Error).name) });
  }
  return parseMerchantCredentials(value, 'the merchant secret');
}
