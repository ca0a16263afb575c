import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { Clock } from '../core/clock';
import { WechatPayError } from '../core/errors';
import { AEAD_ALGORITHM, decryptResource } from './aead';
import type { KeyRing, PlatformKeySource } from './key-ring';

/**
 * Platform certificates: `GET /v3/certificates` answers with WeChat's current certificates, each
 * AES-256-GCM-encrypted under the merchant's APIv3 key (associated_data "certificate").
 *
 * Bootstrapping: the answer is itself signed by one of the certificates it carries. When that
 * serial is already trusted (a certificate we hold, or the WeChat Pay public key) the signature is
 * checked with it before anything is parsed. On the very first download nothing is held yet, so
 * the trust comes from the encryption: only WeChat and the merchant know the APIv3 key, and GCM
 * authenticates every certificate. Then the signature is checked with the carried certificate, and
 * each certificate's own serial must equal the serial_no it is listed under.
 */

export const CERTIFICATE_ASSOCIATED_DATA = 'certificate';

const encryptedCertificateSchema = z.object({
  algorithm: z.literal(AEAD_ALGORITHM),
  nonce: z.string().min(1),
  associated_data: z.string().optional(),
  ciphertext: z.string().min(1),
});

const certificatesAnswerSchema = z.object({
  data: z
    .array(
      z.object({
        serial_no: z.string().min(1).max(64),
        effective_time: z.string().optional(),
        expire_time: z.string().optional(),
        encrypt_certificate: encryptedCertificateSchema,
      }),
    )
    .max(16),
});
export type CertificatesAnswer = z.infer<typeof certificatesAnswerSchema>;

export interface PlatformCertificate {
  serial: string;
  pem: string;
  certificate: X509Certificate;
}

/** Certificates that cannot be read or do not match their listing are not proven to be WeChat's. */
function invalid(message: string, cause?: unknown): WechatPayError {
  return new WechatPayError('INVALID_CERTIFICATES', message, { retryable: false, kind: 'signature', cause });
}

/** Decrypts and parses every certificate of a /v3/certificates answer; throws WechatPayError INVALID_CERTIFICATES. */
export function decodeCertificatesAnswer(answer: unknown, apiV3Key: string | Buffer): PlatformCertificate[] {
  const parsed = certificatesAnswerSchema.safeParse(answer);
  if (!parsed.success) throw invalid(`unexpected /v3/certificates answer: ${parsed.error.message}`);
  return parsed.data.data.map((entry) => {
    let pem: string;
    let certificate: X509Certificate;
    try {
      pem = decryptResource(entry.encrypt_certificate, apiV3Key);
      certificate = new X509Certificate(pem);
    } catch (error) {
      throw invalid(`certificate ${entry.serial_no} could not be decrypted or parsed`, error);
    }
    const serial = certificate.serialNumber.toUpperCase();
    if (serial !== entry.serial_no.toUpperCase()) {
      throw invalid(`certificate listed as ${entry.serial_no} has serial ${serial}`);
    }
    return { serial, pem, certificate };
  });
}

/**
 * The key source verifiers use: the ring first; for an unknown serial, one refresh of the platform
 * certificates (concurrent callers share it; at most one per `minRefreshIntervalMs`, so a stream of
 * forged serials cannot turn into a stream of downloads), then the ring again.
 */
export class RefreshingKeySource implements PlatformKeySource {
  private inFlight: Promise<void> | undefined;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  /** Why the last refresh failed (undefined once one succeeds): for error messages, never thrown. */
  lastError: unknown;
  private readonly minRefreshIntervalMs: number;

  constructor(
    private readonly ring: KeyRing,
    private readonly refresh: () => Promise<void>,
    private readonly clock: Clock,
    opts: { minRefreshIntervalMs?: number } = {},
  ) {
    this.minRefreshIntervalMs = opts.minRefreshIntervalMs ?? 60_000;
  }

  async keyFor(serial: string): Promise<KeyObject | undefined> {
    const known = this.ring.lookup(serial);
    if (known) return known;
    await this.refreshOnce();
    return this.ring.lookup(serial);
  }

  /** Refreshes unless one is running (then waits for it) or one ran too recently; never throws. */
  private async refreshOnce(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const now = this.clock.now().getTime();
    if (now - this.lastRefreshAt < this.minRefreshIntervalMs) return;
    this.lastRefreshAt = now;
    this.inFlight = this.refresh()
      .then(() => {
        this.lastError = undefined;
      })
      .catch((error: unknown) => {
        // A failed refresh leaves the serial unknown, so the answer is refused; the caller reports that.
        this.lastError = error;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }
}
