import type { NotificationRefusal, RawNotification, UnverifiedReason } from '../domain/ports';
import { isCertificateSerial, isPublicKeyId } from '../wechatpay/v3/key-ring';
import type { V3UnverifiedFailure } from '../wechatpay/v3/notification';
import { unusableNotification } from './notification-refusals';

/**
 * How the v3 codecs (payments and refunds) read what the library says of a notification: the headers
 * kept with it, the stored reason of each refusal, which refusals a rotated key would explain, and
 * the refusal the domain is given.
 */

/** Kept with the stored notification: what proves who sent it. */
export const V3_AUDIT_HEADERS = [
  'wechatpay-timestamp',
  'wechatpay-nonce',
  'wechatpay-signature',
  'wechatpay-serial',
  'content-type',
];

/** What is stored and counted of each way a v3 notification is not proven WeChat's. */
export const V3_UNVERIFIED_CODES: Record<V3UnverifiedFailure, UnverifiedReason> = {
  too_large: 'TOO_LARGE',
  missing_headers: 'UNSIGNED',
  probe: 'BAD_SIGNATURE',
  unsupported_signature_type: 'BAD_SIGNATURE',
  bad_timestamp: 'STALE_TIMESTAMP',
  stale_timestamp: 'STALE_TIMESTAMP',
  unknown_serial: 'UNKNOWN_KEY',
  bad_signature: 'BAD_SIGNATURE',
};

/**
 * Whether a rotated key would explain the refusal, on a notification that looks like WeChat's: the
 * signature does not verify, or the key is unknown under a serial in one of WeChat's formats. Garbage
 * serials are not WeChat's, so they never prompt a reload.
 */
export function rotatedKeyMayExplain(failure: V3UnverifiedFailure, notification: RawNotification): boolean {
  if (failure === 'bad_signature') return true;
  if (failure !== 'unknown_serial') return false;
  const serial = notification.headers['wechatpay-serial'] ?? '';
  return isPublicKeyId(serial) || isCertificateSerial(serial);
}

/** What the library's refusal of a v3 notification (payment or refund) is to the domain. */
export function v3Refusal(
  refused:
    | { failure: V3UnverifiedFailure; reason: string }
    | { signed: true; failure: string; reason: string; outTradeNo?: string },
  notification: RawNotification,
): NotificationRefusal {
  if ('signed' in refused) {
    // Past the signature, the refusal is of WeChat's own message; a rotated APIv3 key explains one
    // that does not decrypt.
    return {
      ...unusableNotification(refused.reason, refused.outTradeNo),
      ...(refused.failure === 'undecryptable' ? { rotatedKeyMayExplain: true as const } : {}),
    };
  }
  return {
    kind: 'rejected',
    code: V3_UNVERIFIED_CODES[refused.failure],
    reason: refused.reason,
    ...(rotatedKeyMayExplain(refused.failure, notification) ? { rotatedKeyMayExplain: true as const } : {}),
  };
}
