import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { Clock } from '../core/clock';
import { systemClock } from '../core/clock';
import { toPublicKey } from './sign';

/**
 * Where a verifier finds WeChat Pay's key for a Wechatpay-Serial value. The serial is either a
 * platform certificate serial (hex) or a WeChat Pay public key id (`PUB_KEY_ID_…`); a merchant
 * migrating from certificates to the public key receives both kinds at once.
 */
export interface PlatformKeySource {
  /** The key for this serial, or undefined when none is known (the answer is then refused). */
  keyFor(serial: string): Promise<KeyObject | undefined>;
}

export const PUBLIC_KEY_ID_PREFIX = 'PUB_KEY_ID_';

/**
 * WeChat's platform certificate serials are 20 bytes written as 40 hex digits (upper case in every
 * answer, notification and /v3/certificates listing); case is not trusted to mean anything.
 */
const CERTIFICATE_SERIAL = /^[0-9A-Fa-f]{40}$/;
/** WeChat Pay public key ids: the prefix and digits (e.g. PUB_KEY_ID_0114232134912410000000000000). */
const PUBLIC_KEY_ID = /^PUB_KEY_ID_\d{1,64}$/;

/** True for a serial shaped like a platform certificate's: the only kind a certificate download can bring in. */
export function isCertificateSerial(serial: string): boolean {
  return CERTIFICATE_SERIAL.test(serial);
}

/** True for a serial shaped like a WeChat Pay public key id (configured, never downloaded). */
export function isPublicKeyId(serial: string): boolean {
  return PUBLIC_KEY_ID.test(serial);
}

function normalize(serial: string): string {
  return serial.trim().toUpperCase();
}

interface CertificateEntry {
  key: KeyObject;
  notBefore: number;
  notAfter: number;
}

/**
 * WeChat Pay's verifying keys by serial: any number of platform certificates (usable only within
 * their validity, judged by the injected clock) and any number of public keys by id.
 */
export class KeyRing implements PlatformKeySource {
  private readonly publicKeys = new Map<string, KeyObject>();
  private readonly certificates = new Map<string, CertificateEntry>();

  constructor(private readonly clock: Clock = systemClock) {}

  addPublicKey(id: string, key: string | KeyObject): void {
    this.publicKeys.set(normalize(id), toPublicKey(key));
  }

  /** Adds (or replaces) a platform certificate; returns its serial (upper-case hex). */
  addCertificate(certificate: string | X509Certificate): string {
    const cert = typeof certificate === 'string' ? new X509Certificate(certificate) : certificate;
    const serial = normalize(cert.serialNumber);
    this.certificates.set(serial, {
      key: toPublicKey(cert.publicKey),
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
    });
    return serial;
  }

  /** The usable key for a serial right now: a public key, or a certificate inside its validity. */
  lookup(serial: string): KeyObject | undefined {
    const id = normalize(serial);
    const publicKey = this.publicKeys.get(id);
    if (publicKey) return publicKey;
    const entry = this.certificates.get(id);
    if (!entry) return undefined;
    const now = this.clock.now().getTime();
    return now >= entry.notBefore && now <= entry.notAfter ? entry.key : undefined;
  }

  async keyFor(serial: string): Promise<KeyObject | undefined> {
    return this.lookup(serial);
  }

  /** Serials of all keys held (public key ids and certificate serials), usable or not. */
  serials(): string[] {
    return [...this.publicKeys.keys(), ...this.certificates.keys()];
  }
}
