import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';

/**
 * The tokens of v3 download URLs: each names one day's bill file exactly as it was when the URL was
 * handed out (so the file always matches the hash given with it), for 30 seconds, as WeChat's
 * download_url is valid ("该地址30s内有效"). Not scaled: the caller's download is real network time.
 * In memory only: a URL does not outlive its 30 seconds anyway.
 */
export const BILL_DOWNLOAD_VALIDITY_MS = 30_000;

export interface BillFile {
  /** The bytes as served: gzip when it was asked for. */
  bytes: Buffer;
  gzip: boolean;
}

export class BillDownloadTokens {
  private readonly files = new Map<string, BillFile & { expiresAt: number }>();

  constructor(private readonly clock: Clock) {}

  issue(file: BillFile): string {
    const now = this.clock.now();
    for (const [token, held] of this.files) if (held.expiresAt <= now) this.files.delete(token);
    const token = randomBytes(24).toString('hex');
    this.files.set(token, { ...file, expiresAt: now + BILL_DOWNLOAD_VALIDITY_MS });
    return token;
  }

  /** The file, while the token is valid (any number of downloads within its 30 seconds). */
  find(token: string): BillFile | undefined {
    const held = this.files.get(token);
    if (held === undefined) return undefined;
    if (held.expiresAt > this.clock.now()) return held;
    this.files.delete(token);
    return undefined;
  }
}
