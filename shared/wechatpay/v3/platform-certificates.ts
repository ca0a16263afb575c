import { X509Certificate } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import * as z from 'zod';
import type { Clock } from '../core/clock';
import { WechatPayError } from '../core/errors';
import { AEAD_ALGORITHM, decryptResource } from './aead';
import { isCertificateSerial } from './key-ring';
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
 * The key source verifiers use: the ring first; for an unknown serial, a refresh of the platform
 * certificates, within a budget a stream of forged notifications cannot turn into load on WeChat or
 * into slow answers:
 * - only a serial in WeChat's certificate format (40 hex digits) starts one: a public key id is never
 *   downloadable and garbage is not WeChat's;
 * - one refresh at a time (concurrent callers share it) and at most one per `minRefreshIntervalMs`;
 * - a caller waits for it at most `maxWaitMs`; past that the serial counts as unknown (the answer is
 *   refused, WeChat retries the notification) while the refresh finishes for the next caller.
 * The refresh itself should be one short attempt (WechatPayV3Client passes one).
 */
export class RefreshingKeySource implements PlatformKeySource {
  private inFlight: Promise<void> | undefined;
  private lastRefreshAt = Number.NEGATIVE_INFINITY;
  /** Why the last refresh failed (undefined once one succeeds): for error messages, never thrown. */
  lastError: unknown;
  /** Refreshes started, for metrics and tests. */
  refreshes = 0;
  private readonly minRefreshIntervalMs: number;
  private readonly maxWaitMs: number;

  constructor(
    private readonly ring: KeyRing,
    private readonly refresh: () => Promise<void>,
    private readonly clock: Clock,
    opts: { minRefreshIntervalMs?: number; maxWaitMs?: number } = {},
  ) {
    this.minRefreshIntervalMs = opts.minRefreshIntervalMs ?? 60_000;
    this.maxWaitMs = opts.maxWaitMs ?? DEFAULT_MAX_WAIT_MS;
  }

  async keyFor(serial: string): Promise<KeyObject | undefined> {
    const known = this.ring.lookup(serial);
    if (known) return known;
    if (!isCertificateSerial(serial)) return undefined;
    const refreshing = this.refreshOnce();
    if (refreshing) await within(refreshing, this.maxWaitMs);
    return this.ring.lookup(serial);
  }

  /** The running refresh, a new one when none ran recently, else undefined; it never rejects. */
  private refreshOnce(): Promise<void> | undefined {
    if (this.inFlight) return this.inFlight;
    const now = this.clock.now().getTime();
    if (now - this.lastRefreshAt < this.minRefreshIntervalMs) return undefined;
    this.lastRefreshAt = now;
    this.refreshes += 1;
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

/** How long a verifier waits for a certificate download by default: well inside WeChat's 5 s notify timeout. */
export const DEFAULT_MAX_WAIT_MS = 1_500;

/** Resolves when `work` does or after `ms`, whichever is first (real time: this bounds an answer's latency). */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const elapsed = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work, elapsed]);
  } finally {
    clearTimeout(timer);
  }
}
