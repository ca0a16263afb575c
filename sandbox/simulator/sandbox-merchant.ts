import { createPublicKey, generateKeyPairSync, randomInt } from 'node:crypto';
import { join, resolve } from 'node:path';
import * as z from 'zod';
import { randomCertificateSerial } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { readOrCreateSecret } from './persisted-secret';

/** The merchant WeChat Pay knows: who may call the API and the key both sides sign with. */
export interface Merchant {
  appid: string;
  mchid: string;
  /** The APIv2 key (32 characters). Never logged. */
  apiKey: string;
}

/** What WeChat Pay holds for a merchant that uses API v3 (simulator option `merchant`, v3 mode). */
export interface MerchantV3Keys {
  /** The APIv3 key: exactly 32 bytes. Encrypts notification resources and platform certificates. Never logged. */
  apiV3Key: string;
  /** The merchant API certificate's public key, PEM (a public key or the certificate): verifies Authorization. */
  merchantPublicKey: string;
  /** Serial of the merchant API certificate (hex), which the merchant sends as serial_no. */
  certSerial: string;
}

/**
 * The merchant the simulator and the local stack share when no WECHATPAY_* settings are given, so
 * requests and notifications verify end to end out of the box. Fixed and public on purpose: it only
 * ever exists on this machine and WeChat Pay knows no such merchant.
 */
export const SANDBOX_MERCHANT: Readonly<Merchant> = Object.freeze({
  appid: 'wx00000000sandbox1',
  mchid: '1230000109',
  apiKey: 'simulatorSandboxApiKey0000000000',
});

/** The sandbox merchant's API v3 credentials: both halves, since both sides of the sandbox need them. */
export interface SandboxV3Merchant {
  /** WECHATPAY_APIV3_KEY (32 letters and digits). */
  apiV3Key: string;
  /** WECHATPAY_CERT_SERIAL (40 hex digits). */
  certSerial: string;
  /** WECHATPAY_PRIVATE_KEY: the merchant side signs requests with it (PKCS#8 PEM, RSA 2048). */
  privateKeyPem: string;
  /** The simulator's `merchant.merchantPublicKey` (SPKI PEM). */
  publicKeyPem: string;
}

/** The file under the data directory that keeps the generated sandbox v3 merchant. */
export const SANDBOX_V3_MERCHANT_FILE = 'sandbox-v3-merchant.json';

const storedSchema = z.object({
  apiV3Key: z.string().regex(/^[A-Za-z0-9]{32}$/),
  certSerial: z.string().regex(/^[0-9A-F]{40}$/),
  privateKeyPem: z.string().startsWith('-----BEGIN PRIVATE KEY-----'),
});

const generated = new Map<string, SandboxV3Merchant>();
const IN_MEMORY = '';

/**
 * The sandbox merchant's API v3 keys, generated (RSA 2048 key pair, certificate serial, APIv3 key)
 * the first time they are asked for and the same ever after: kept in `dataDir` when one is given, so
 * restarts and other processes on that directory agree, else for the life of this process. Unlike
 * SANDBOX_MERCHANT these are not fixed in the source: a private key in the repository would look like
 * a leaked one. Pass the same `dataDir` from the local stack and the simulator (`npm start` and
 * `npm run simulator` pass DATA_DIR).
 */
export function sandboxV3Merchant(dataDir?: string): SandboxV3Merchant {
  const key = dataDir === undefined ? IN_MEMORY : resolve(dataDir);
  const known = generated.get(key);
  if (known !== undefined) return known;
  const stored =
    dataDir === undefined
      ? generateStored()
      : parseStored(
          readOrCreateSecret(
            join(dataDir, SANDBOX_V3_MERCHANT_FILE),
            () => `${JSON.stringify(generateStored(), null, 2)}\n`,
          ),
        );
  const merchant: SandboxV3Merchant = Object.freeze({
    ...stored,
    publicKeyPem: createPublicKey(stored.privateKeyPem).export({ type: 'spki', format: 'pem' }).toString(),
  });
  generated.set(key, merchant);
  return merchant;
}

function generateStored(): z.infer<typeof storedSchema> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    apiV3Key: randomAlphanumeric(32),
    certSerial: randomCertificateSerial(),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

function parseStored(text: string): z.infer<typeof storedSchema> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${SANDBOX_V3_MERCHANT_FILE} is not JSON; delete it to generate new sandbox keys`, { cause: err });
  }
  const parsed = storedSchema.safeParse(json);
  if (!parsed.success) {
    // The message names fields, never values: the file holds a private key.
    const fields = [...new Set(parsed.error.issues.map((i) => i.path.join('.')))].join(', ');
    throw new Error(`${SANDBOX_V3_MERCHANT_FILE} is not valid (${fields}); delete it to generate new sandbox keys`);
  }
  return parsed.data;
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomAlphanumeric(length: number): string {
  let out = '';
  while (out.length < length) out += ALNUM[randomInt(0, ALNUM.length)];
  return out;
}
