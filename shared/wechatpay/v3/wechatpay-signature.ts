import { secondsApart } from '../core/clock';
import { MAX_CLOCK_SKEW_SECONDS } from './authorization';
import type { PlatformKeySource } from './key-ring';
import { verifySha256Rsa } from './sign';

/**
 * WeChat Pay's own signature on every answer and notification, carried in four headers and made
 * over `TIMESTAMP\nNONCE\nBODY\n` with the platform certificate's key or the WeChat Pay public key's
 * private half; Wechatpay-Serial names which. WeChat's signing is in testing/wechat-messages.ts.
 */

/** WeChat sends signatures starting with this to check that merchants really verify: refuse them. */
export const PROBE_SIGNATURE_PREFIX = 'WECHATPAY/SIGNTEST/';

export const HEADER_TIMESTAMP = 'Wechatpay-Timestamp';
export const HEADER_NONCE = 'Wechatpay-Nonce';
export const HEADER_SIGNATURE = 'Wechatpay-Signature';
export const HEADER_SERIAL = 'Wechatpay-Serial';
export const HEADER_SIGNATURE_TYPE = 'Wechatpay-Signature-Type';
export const SIGNATURE_TYPE = 'WECHATPAY2-SHA256-RSA2048';

export interface WechatpaySignature {
  timestamp: string;
  nonce: string;
  signature: string;
  serial: string;
  /** Absent on older answers; when present it must be WECHATPAY2-SHA256-RSA2048. */
  signatureType?: string;
}

/** Reads the four headers from a header map (any case) or a fetch Headers; undefined if any is missing. */
export function readWechatpaySignature(
  headers: Headers | Record<string, string | undefined>,
): WechatpaySignature | undefined {
  const get =
    headers instanceof Headers
      ? (name: string) => headers.get(name) ?? undefined
      : (() => {
          const lower = new Map(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
          return (name: string) => lower.get(name.toLowerCase());
        })();
  const timestamp = get(HEADER_TIMESTAMP);
  const nonce = get(HEADER_NONCE);
  const signature = get(HEADER_SIGNATURE);
  const serial = get(HEADER_SERIAL);
  if (!timestamp || !nonce || !signature || !serial) return undefined;
  const signatureType = get(HEADER_SIGNATURE_TYPE);
  return { timestamp, nonce, signature, serial, ...(signatureType ? { signatureType } : {}) };
}

export function wechatpaySignMessage(timestamp: string, nonce: string, body: string): string {
  return `${timestamp}\n${nonce}\n${body}\n`;
}

export type SignatureFailure =
  | 'missing_headers'
  | 'probe'
  | 'unsupported_signature_type'
  | 'bad_timestamp'
  | 'stale_timestamp'
  | 'unknown_serial'
  | 'bad_signature';

export type SignatureCheck = { ok: true; serial: string } | { ok: false; failure: SignatureFailure; message: string };

function refuse(failure: SignatureFailure, message: string): SignatureCheck {
  return { ok: false, failure, message };
}

/**
 * Checks WeChat's signature on a raw body, cheapest checks first: headers present, not a probe,
 * timestamp within 5 minutes of `now`, a known key for the serial, then the RSA signature.
 * Run it on the raw bytes before parsing anything.
 */
export async function verifyWechatpaySignature(
  signed: { signature: WechatpaySignature | undefined; body: string },
  keys: PlatformKeySource,
  opts: { now: Date; maxSkewSeconds?: number },
): Promise<SignatureCheck> {
  const sig = signed.signature;
  if (!sig) return refuse('missing_headers', 'Wechatpay-Timestamp, -Nonce, -Signature and -Serial are required');
  if (sig.signature.startsWith(PROBE_SIGNATURE_PREFIX)) return refuse('probe', 'probe signature refused');
  if (sig.signatureType !== undefined && sig.signatureType !== SIGNATURE_TYPE) {
    return refuse('unsupported_signature_type', `unsupported signature type ${sig.signatureType}`);
  }
  if (!/^\d{1,12}$/.test(sig.timestamp)) return refuse('bad_timestamp', 'Wechatpay-Timestamp is not a Unix time');
  const skew = secondsApart(opts.now, sig.timestamp);
  if (skew > (opts.maxSkewSeconds ?? MAX_CLOCK_SKEW_SECONDS)) {
    return refuse('stale_timestamp', `Wechatpay-Timestamp is ${skew}s away from now`);
  }
  const key = await keys.keyFor(sig.serial);
  if (!key) return refuse('unknown_serial', `no WeChat Pay key for serial ${sig.serial}`);
  if (!verifySha256Rsa(wechatpaySignMessage(sig.timestamp, sig.nonce, signed.body), sig.signature, key)) {
    return refuse('bad_signature', 'Wechatpay-Signature does not verify');
  }
  return { ok: true, serial: sig.serial };
}
