import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { readOrCreateSecret } from './persisted-secret';

/** The file under the data directory that keeps the generated sandbox AppSecret. */
export const SANDBOX_APPSECRET_FILE = 'miniprogram-appsecret';

const APPSECRET = /^[0-9a-f]{32}$/;
const generated = new Map<string, string>();
const IN_MEMORY = '';

/** A fresh AppSecret in the form of a real one: 32 lowercase hex digits. */
export function generateAppSecret(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The mini program AppSecret the local stack and the simulator share when WECHAT_APPSECRET is not
 * set: 32 lowercase hex digits (the form of a real AppSecret), generated the first time it is asked
 * for. Kept in `<dataDir>/miniprogram-appsecret` when a data directory is given, so `npm start` and
 * `npm run simulator` on the same DATA_DIR, and their restarts, agree; else for the life of this
 * process. Not fixed in the source, as SANDBOX_MERCHANT is: code reading the secret from the repository
 * would work against the simulator and hide a configuration that never sets one.
 */
export function sandboxAppSecret(dataDir?: string): string {
  const key = dataDir === undefined ? IN_MEMORY : resolve(dataDir);
  const known = generated.get(key);
  if (known !== undefined) return known;
  const secret =
    dataDir === undefined
      ? generateAppSecret()
      : readOrCreateSecret(join(dataDir, SANDBOX_APPSECRET_FILE), generateAppSecret).trim();
  if (!APPSECRET.test(secret)) {
    // Names the file, never its content.
    throw new Error(`${SANDBOX_APPSECRET_FILE} is not 32 lowercase hex digits; delete it to generate a new one`);
  }
  generated.set(key, secret);
  return secret;
}
