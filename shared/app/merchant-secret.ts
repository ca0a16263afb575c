import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

import {
  credentialsFromSettings,
  parseMerchantCredentials,
  previousCredentials,
  type MerchantCredentials,
} from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import { systemClock, type Clock } from '../domain/ports';

/** Reads the secret's text by id (Secrets Manager in AWS; a stand-in in tests). */
export type SecretReader = (secretId: string) => Promise<string | undefined>;

/**
 * The merchant's credentials as a warm container sees them through a key rotation:
 * - `current()` serves what was loaded less than CREDENTIALS_TTL_SECONDS ago, else loads again; a
 *   failed load keeps serving the last good credentials (a Secrets Manager hiccup must not stop
 *   payments) and is tried again on the next call;
 * - `reload()` loads now, at most once per `minReloadIntervalMs` and one at a time: what a
 *   verification failure asks for, so forged notifications cannot turn into a stream of reads;
 * - `previous()`: the keys just replaced, acceptable on notifications for KEY_ROTATION_OVERLAP_SECONDS
 *   (deliveries WeChat signed or encrypted before the switch): those this container saw replaced by
 *   a load, and those the secret itself records (previous* fields, from its rotatedAt), which a
 *   container started after the rotation knows too.
 */
export interface MerchantCredentialsSource {
  current(): Promise<MerchantCredentials>;
  reload(): Promise<MerchantCredentials>;
  /** The credentials the current ones replaced, while the overlap lasts; most recent first. */
  previous(): MerchantCredentials[];
}

export interface MerchantCredentialsSourceOptions {
  clock?: Clock;
  readSecret?: SecretReader;
  /** Default 30 s: a genuine rotation needs one reload; a flood of forgeries gets no more than this. */
  minReloadIntervalMs?: number;
}

export const DEFAULT_MIN_RELOAD_INTERVAL_MS = 30_000;

/** The fields that change in a rotation; the identity (appid, mchid) does not. */
const KEY_FIELDS = ['apiKey', 'apiV3Key', 'privateKey', 'certSerial', 'publicKey', 'publicKeyId'] as const;

function sameKeys(a: MerchantCredentials, b: MerchantCredentials): boolean {
  return a.apiVersion === b.apiVersion && KEY_FIELDS.every((field) => a[field] === b[field]);
}

function sameSecret(a: MerchantCredentials, b: MerchantCredentials): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * From Secrets Manager when WECHATPAY_SECRET_ID is set (AWS), else from WECHATPAY_* settings (local,
 * which never change while the process runs).
 */
export function merchantCredentialsSource(
  settings: Settings,
  options: MerchantCredentialsSourceOptions = {},
): MerchantCredentialsSource {
  const clock = options.clock ?? systemClock;
  const secretId = settings.WECHATPAY_SECRET_ID;
  const readSecret = options.readSecret ?? secretsManagerReader(settings);
  const ttlMs = settings.CREDENTIALS_TTL_SECONDS * 1000;
  const overlapMs = settings.KEY_ROTATION_OVERLAP_SECONDS * 1000;
  const minReloadIntervalMs = options.minReloadIntervalMs ?? DEFAULT_MIN_RELOAD_INTERVAL_MS;

  let loaded: { credentials: MerchantCredentials; at: number } | undefined;
  let replaced: { credentials: MerchantCredentials; until: number } | undefined;
  let inFlight: Promise<MerchantCredentials> | undefined;
  let lastReloadAt = Number.NEGATIVE_INFINITY;
  // One object per recorded rotation, so what is built from it is built once.
  const recorded = new WeakMap<MerchantCredentials, MerchantCredentials | undefined>();

  const load = async (): Promise<MerchantCredentials> => {
    if (secretId === undefined) return credentialsFromSettings(settings);
    return parseSecret(await readSecret(secretId));
  };

  /** One load at a time; a load that brings other keys keeps the replaced ones for the overlap. */
  const refresh = (): Promise<MerchantCredentials> => {
    inFlight ??= load()
      .then((fresh) => {
        const now = clock.now().getTime();
        const before = loaded?.credentials;
        if (before !== undefined && sameSecret(before, fresh)) {
          // Unchanged: the same object, so what was built from it is kept.
          loaded = { credentials: before, at: now };
          return before;
        }
        if (before !== undefined && !sameKeys(before, fresh) && overlapMs > 0) {
          replaced = { credentials: before, until: now + overlapMs };
        }
        loaded = { credentials: fresh, at: now };
        return fresh;
      })
      .catch((error: unknown) => {
        // The last good credentials stay in use; the next call tries again.
        if (loaded !== undefined) return loaded.credentials;
        throw error;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async current() {
      if (loaded !== undefined && clock.now().getTime() - loaded.at < ttlMs) return loaded.credentials;
      return refresh();
    },
    async reload() {
      if (inFlight) return inFlight;
      const now = clock.now().getTime();
      if (now - lastReloadAt < minReloadIntervalMs && loaded !== undefined) return loaded.credentials;
      lastReloadAt = now;
      return refresh();
    },
    previous() {
      const now = clock.now().getTime();
      if (replaced !== undefined && now >= replaced.until) replaced = undefined;
      const list = replaced === undefined ? [] : [replaced.credentials];
      const current = loaded?.credentials;
      if (current?.rotatedAt !== undefined && now < Date.parse(current.rotatedAt) + overlapMs) {
        if (!recorded.has(current)) recorded.set(current, previousCredentials(current));
        const prior = recorded.get(current);
        if (prior !== undefined) list.push(prior);
      }
      return list;
    },
  };
}

function secretsManagerReader(settings: Settings): SecretReader {
  let client: SecretsManagerClient | undefined;
  return async (secretId) => {
    client ??= new SecretsManagerClient({ region: settings.AWS_REGION });
    return (await client.send(new GetSecretValueCommand({ SecretId: secretId }))).SecretString;
  };
}

function parseSecret(text: string | undefined): MerchantCredentials {
  let value: unknown;
  try {
    value = JSON.parse(text ?? '');
  } catch (cause) {
    throw new ConfigurationError('the merchant secret is not JSON', { cause: new Error((cause as Error).name) });
  }
  return parseMerchantCredentials(value, 'the merchant secret');
}
