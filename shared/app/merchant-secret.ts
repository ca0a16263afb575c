import type {
  GetSecretValueCommand,
  SecretsManagerClient,
  SecretsManagerClientConfig,
} from '@aws-sdk/client-secrets-manager';

import {
  credentialsFromSettings,
  parseMerchantCredentials,
  previousCredentials,
  type MerchantCredentials,
} from '../config/merchant-credentials';
import type { Settings } from '../config/settings';
import { ConfigurationError } from '../domain/errors';
import { systemClock, type Clock } from '../domain/ports';
import { secretsExtensionReader } from './secrets-extension-reader';

/** Reads the secret's text by id (Secrets Manager in AWS; a stand-in in tests). */
export type SecretReader = (secretId: string) => Promise<string | undefined>;

/**
 * The merchant's credentials as a warm container sees them through a key rotation:
 * - `current()` waits only for the very first load (bounded by the reader's own timeout). After that
 *   it always answers at once with what it holds: once that is CREDENTIALS_TTL_SECONDS old, the call
 *   also starts one read in the background, whose result serves the calls after it. A slow or failing
 *   Secrets Manager must not stop payments, nor hold each request for its timeout: a failed read keeps
 *   the last good credentials, is reported (onStale), and the next background read waits out a
 *   back-off (REFRESH_BACKOFF_MS, doubling up to REFRESH_BACKOFF_MAX_MS) instead of every call
 *   asking again. Old keys are still the best known: a rotation WeChat already uses shows as a
 *   verification failure, which asks for `reload()`;
 * - `reload()` loads now (or joins the read in flight), at most once per `minReloadIntervalMs` and one
 *   at a time: what a verification failure asks for, so forged notifications cannot turn into a
 *   stream of reads;
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
  /** Told of each failed read while the credentials loaded before stay in use; never given a key. */
  onStale?: (detail: StaleCredentials) => void;
}

/** Why credentials older than the TTL are still served, for the log. */
export interface StaleCredentials {
  /** The failure's name and message (Secrets Manager's or the secret's validation, which names no value). */
  error: string;
  /** Failed reads in a row. */
  failures: number;
  /** How old the credentials in use are. */
  ageSeconds: number;
  /** When the next background read may start. */
  retryInSeconds: number;
}

export const DEFAULT_MIN_RELOAD_INTERVAL_MS = 30_000;
/** The wait after a first failed background read; it doubles with each failure in a row, up to the max. */
export const REFRESH_BACKOFF_MS = 30_000;
export const REFRESH_BACKOFF_MAX_MS = 300_000;

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
  const readSecret = options.readSecret ?? defaultSecretReader(settings);
  const ttlMs = settings.CREDENTIALS_TTL_SECONDS * 1000;
  const overlapMs = settings.KEY_ROTATION_OVERLAP_SECONDS * 1000;
  const minReloadIntervalMs = options.minReloadIntervalMs ?? DEFAULT_MIN_RELOAD_INTERVAL_MS;
  const onStale = options.onStale ?? (() => undefined);

  let loaded: { credentials: MerchantCredentials; at: number } | undefined;
  let replaced: { credentials: MerchantCredentials; until: number } | undefined;
  let inFlight: Promise<MerchantCredentials> | undefined;
  let lastReloadAt = Number.NEGATIVE_INFINITY;
  let failures = 0;
  let nextRefreshAt = Number.NEGATIVE_INFINITY;
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
        failures = 0;
        nextRefreshAt = Number.NEGATIVE_INFINITY;
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
        // Without credentials there is nothing to serve: the caller fails, and the next one tries again.
        if (loaded === undefined) throw error;
        const now = clock.now().getTime();
        failures += 1;
        const backoffMs = Math.min(REFRESH_BACKOFF_MS * 2 ** (failures - 1), REFRESH_BACKOFF_MAX_MS);
        nextRefreshAt = now + backoffMs;
        onStale({
          error: error instanceof Error ? `${error.name}: ${error.message}` : 'unknown failure',
          failures,
          ageSeconds: Math.round((now - loaded.at) / 1000),
          retryInSeconds: backoffMs / 1000,
        });
        return loaded.credentials;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  return {
    async current() {
      if (loaded === undefined) return refresh();
      const now = clock.now().getTime();
      if (now - loaded.at >= ttlMs && inFlight === undefined && now >= nextRefreshAt) {
        // Never rejects once credentials are loaded: a failure is reported and backed off in refresh().
        void refresh();
      }
      return loaded.credentials;
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

/** One attempt's budget against Secrets Manager (the whole request, connection included). */
export const SECRET_READ_TIMEOUT_MS = 2_000;
/** Two attempts: one retry absorbs a blip; more would hold a first load past what a request can wait. */
const SECRET_READ_MAX_ATTEMPTS = 2;

/**
 * Where a function reads its secrets: through the Parameters and Secrets extension when the stack
 * gave it the layer (PARAMETERS_SECRETS_EXTENSION_HTTP_PORT), else Secrets Manager's own client.
 * Never read at module load: the extension answers only once the function is invoked, not during init.
 */
export function defaultSecretReader(settings: Settings): SecretReader {
  const port = settings.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT;
  if (port === undefined) return secretsManagerReader(settings);
  const sessionToken = settings.AWS_SESSION_TOKEN;
  if (sessionToken === undefined) {
    throw new ConfigurationError('AWS_SESSION_TOKEN is required to read secrets through the extension');
  }
  return secretsExtensionReader({ port, sessionToken, timeoutMs: SECRET_READ_TIMEOUT_MS });
}

export interface SecretsManagerReaderOptions extends Pick<SecretsManagerClientConfig, 'endpoint' | 'credentials'> {
  /** Per attempt; SECRET_READ_TIMEOUT_MS unless a test needs it shorter. */
  timeoutMs?: number;
}

/**
 * Reads the secret from Secrets Manager, each attempt bounded: without a request timeout the SDK waits
 * on a silent connection indefinitely, and without throwOnRequestTimeout it only warns when the
 * timeout passes. The first load of a cold container waits for this, at most about two attempts.
 * The client's module is loaded on that first read, not at start: a function that reads through the
 * extension never loads it.
 */
export function secretsManagerReader(settings: Settings, options: SecretsManagerReaderOptions = {}): SecretReader {
  const { timeoutMs = SECRET_READ_TIMEOUT_MS, ...connection } = options;
  let loaded:
    | Promise<{
        client: SecretsManagerClient;
        command: typeof GetSecretValueCommand;
      }>
    | undefined;
  return async (secretId) => {
    loaded ??= import('@aws-sdk/client-secrets-manager').then(({ SecretsManagerClient, GetSecretValueCommand }) => ({
      client: new SecretsManagerClient({
        region: settings.AWS_REGION,
        ...connection,
        maxAttempts: SECRET_READ_MAX_ATTEMPTS,
        requestHandler: { connectionTimeout: timeoutMs, requestTimeout: timeoutMs, throwOnRequestTimeout: true },
      }),
      command: GetSecretValueCommand,
    }));
    const { client: sm, command } = await loaded;
    return (await sm.send(new command({ SecretId: secretId }))).SecretString;
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
