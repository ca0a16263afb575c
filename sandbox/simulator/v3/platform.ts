import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { join } from 'node:path';
import { PUBLIC_KEY_ID_PREFIX } from '#shared/wechatpay/v3/key-ring';
import { toPrivateKey } from '#shared/wechatpay/v3/sign';
import { createSelfSignedCertificate } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { readOrCreateSecret } from '../persisted-secret';

/**
 * WeChat Pay's own identity in the simulator: one RSA key pair that acts both as the platform
 * certificate (self-signed, with a serial) and as the WeChat Pay public key (with a `PUB_KEY_ID_…`),
 * as WeChat offers both to a merchant migrating from one to the other. Which one names the signature
 * in Wechatpay-Serial is the `signWith` option.
 *
 * The serial, the id and the certificate are derived from the key alone (PKCS#1 v1.5 signatures are
 * deterministic and the validity is fixed), so a restart with the same key presents the same
 * certificate, serial and id, and the merchant side's configuration stays right.
 */

export type SignWith = 'certificate' | 'public_key';

export interface PlatformIdentity {
  privateKey: KeyObject;
  /** The WeChat Pay public key, SPKI PEM (the merchant's WECHATPAY_PUBLIC_KEY). */
  publicKeyPem: string;
  /** `PUB_KEY_ID_…` (the merchant's WECHATPAY_PUBLIC_KEY_ID). */
  publicKeyId: string;
  /** The platform certificate, PEM, as /v3/certificates hands it out (encrypted). */
  certificatePem: string;
  /** Its serial, 40 upper-case hex digits. */
  certificateSerial: string;
}

/** The file under the simulator's data directory that keeps a generated platform key. */
export const PLATFORM_KEY_FILE = 'platform-private-key.pem';

const CERTIFICATE_NOT_BEFORE = new Date('2024-01-01T00:00:00Z');
const CERTIFICATE_NOT_AFTER = new Date('2049-12-31T23:59:59Z');

/**
 * The platform identity from a given private key (PEM), else from the one kept in `dataDir`, else
 * from a new one (kept in `dataDir` when given, so restarts keep it).
 */
export function loadPlatformIdentity(opts: {
  privateKeyPem?: string;
  dataDir?: string;
  /** The merchant's WECHATPAY_PUBLIC_KEY_ID, when configured: the id WeChat gave their public key. */
  publicKeyId?: string;
}): PlatformIdentity {
  const pem =
    opts.privateKeyPem ??
    (opts.dataDir === undefined
      ? generatePrivateKeyPem()
      : readOrCreateSecret(join(opts.dataDir, PLATFORM_KEY_FILE), generatePrivateKeyPem));
  return platformIdentityOf(toPrivateKey(pem), opts.publicKeyId);
}

/** The identity of a key; its public key id is `publicKeyId` when given, else derived from the key. */
export function platformIdentityOf(privateKey: KeyObject, publicKeyId?: string): PlatformIdentity {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(spki).digest();
  const certificate = createSelfSignedCertificate({
    privateKey,
    commonName: 'WeChat Pay simulator platform certificate',
    organization: 'WeChat Pay simulator',
    serial: serialFrom(digest),
    notBefore: CERTIFICATE_NOT_BEFORE,
    notAfter: CERTIFICATE_NOT_AFTER,
  });
  return {
    privateKey,
    publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString(),
    publicKeyId:
      publicKeyId ??
      `${PUBLIC_KEY_ID_PREFIX}01${BigInt(`0x${digest.toString('hex')}`)
        .toString()
        .slice(0, 30)
        .padStart(30, '0')}`,
    certificatePem: certificate.pem,
    certificateSerial: certificate.serial,
  };
}

/** The key and serial the simulator signs with, named as `signWith` says. */
export function signerOf(platform: PlatformIdentity, signWith: SignWith): { privateKey: KeyObject; serial: string } {
  return {
    privateKey: platform.privateKey,
    serial: signWith === 'certificate' ? platform.certificateSerial : platform.publicKeyId,
  };
}

function generatePrivateKeyPem(): string {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}

/** 20 bytes like WeChat's serials, the first one small enough to need no DER sign padding. */
function serialFrom(digest: Buffer): string {
  const bytes = Buffer.from(digest.subarray(0, 20));
  bytes[0] = 0x10 + ((bytes[0] ?? 0) % 0x60);
  return bytes.toString('hex').toUpperCase();
}
