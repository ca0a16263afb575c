import { X509Certificate, createCipheriv, randomBytes, randomUUID } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { unixTimestamp } from '#shared/wechatpay/core/clock';
import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { randomNonce } from '#shared/wechatpay/core/nonce';
import { AEAD_ALGORITHM, AEAD_NONCE_BYTES, AEAD_TAG_BYTES, apiV3KeyBytes } from '../aead';
import type { EncryptedResource } from '../aead';
import { CERTIFICATE_ASSOCIATED_DATA } from '../platform-certificates';
import type { CertificatesAnswer } from '../platform-certificates';
import { signSha256Rsa } from '../sign';
import { toWechatTime } from '../time';
import {
  HEADER_NONCE,
  HEADER_SERIAL,
  HEADER_SIGNATURE,
  HEADER_SIGNATURE_TYPE,
  HEADER_TIMESTAMP,
  SIGNATURE_TYPE,
  wechatpaySignMessage,
} from '../wechatpay-signature';

/**
 * For the simulator and tests only: messages as WeChat sends them (signed answers, resources
 * encrypted under the APIv3 key, payment and refund notifications, the /v3/certificates answer). A merchant
 * only ever reads these.
 */

const NONCE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A fresh 12-character nonce in the alphabet WeChat uses. */
function randomResourceNonce(): string {
  return Array.from(randomBytes(AEAD_NONCE_BYTES), (b) => NONCE_CHARS[b % NONCE_CHARS.length]).join('');
}

/** Encrypts as WeChat does: AEAD_AES_256_GCM under the APIv3 key. */
export function encryptResource(
  plaintext: string,
  apiV3Key: string | Buffer,
  opts: { associatedData?: string; nonce?: string; originalType?: string } = {},
): EncryptedResource {
  const key = apiV3KeyBytes(apiV3Key);
  const nonce = opts.nonce ?? randomResourceNonce();
  if (Buffer.byteLength(nonce, 'utf8') !== AEAD_NONCE_BYTES) {
    throw new WechatPayValidationError(`nonce must be ${AEAD_NONCE_BYTES} bytes`, 'nonce');
  }
  const associatedData = opts.associatedData ?? '';
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(nonce, 'utf8'), { authTagLength: AEAD_TAG_BYTES });
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return {
    algorithm: AEAD_ALGORITHM,
    ciphertext: data.toString('base64'),
    nonce,
    associated_data: associatedData,
    ...(opts.originalType !== undefined ? { original_type: opts.originalType } : {}),
  };
}

/** The headers to send with `body`, signed with the platform key of this serial (certificate or PUB_KEY_ID_…). */
export function signWechatpayMessage(
  body: string,
  signer: { privateKey: KeyObject; serial: string },
  opts: { now: Date; nonce?: string },
): Record<string, string> {
  const timestamp = unixTimestamp(opts.now);
  const nonce = opts.nonce ?? randomNonce();
  return {
    [HEADER_TIMESTAMP]: timestamp,
    [HEADER_NONCE]: nonce,
    [HEADER_SIGNATURE]: signSha256Rsa(wechatpaySignMessage(timestamp, nonce, body), signer.privateKey),
    [HEADER_SERIAL]: signer.serial,
    [HEADER_SIGNATURE_TYPE]: SIGNATURE_TYPE,
  };
}

export interface NotificationEnvelope {
  id: string;
  create_time: string;
  resource_type: 'encrypt-resource';
  event_type: string;
  summary: string;
  resource: EncryptedResource;
}

/**
 * A notification: the resource encrypted under the APIv3 key (associated_data = original_type, as
 * WeChat sends them), wrapped in the envelope, the raw body signed.
 */
function buildNotification(opts: {
  resource: Record<string, unknown>;
  originalType: string;
  eventType: string;
  summary: string;
  apiV3Key: string | Buffer;
  signer: { privateKey: KeyObject; serial: string };
  now: Date;
  id?: string;
}): { headers: Record<string, string>; body: string; envelope: NotificationEnvelope } {
  const envelope: NotificationEnvelope = {
    id: opts.id ?? randomUUID(),
    create_time: toWechatTime(opts.now),
    resource_type: 'encrypt-resource',
    event_type: opts.eventType,
    summary: opts.summary,
    resource: encryptResource(JSON.stringify(opts.resource), opts.apiV3Key, {
      associatedData: opts.originalType,
      originalType: opts.originalType,
    }),
  };
  const body = JSON.stringify(envelope);
  const headers = { ...signWechatpayMessage(body, opts.signer, { now: opts.now }), 'Content-Type': 'application/json' };
  return { headers, body, envelope };
}

/** A payment notification (TRANSACTION.SUCCESS, associated_data "transaction"). */
export function buildTransactionNotification(opts: {
  /** The transaction as the query API would answer it (appid, mchid, out_trade_no, trade_state, …). */
  transaction: Record<string, unknown>;
  apiV3Key: string | Buffer;
  signer: { privateKey: KeyObject; serial: string };
  now: Date;
  id?: string;
  eventType?: string;
  summary?: string;
}): { headers: Record<string, string>; body: string; envelope: NotificationEnvelope } {
  return buildNotification({
    ...opts,
    resource: opts.transaction,
    originalType: 'transaction',
    eventType: opts.eventType ?? 'TRANSACTION.SUCCESS',
    summary: opts.summary ?? '支付成功',
  });
}

/** What WeChat says of each refund result, by the refund_status the notification carries. */
const REFUND_EVENTS: Readonly<Record<string, { eventType: string; summary: string }>> = {
  SUCCESS: { eventType: 'REFUND.SUCCESS', summary: '退款成功' },
  ABNORMAL: { eventType: 'REFUND.ABNORMAL', summary: '退款异常' },
  CLOSED: { eventType: 'REFUND.CLOSED', summary: '退款关闭' },
};

/**
 * A refund notification (REFUND.SUCCESS | ABNORMAL | CLOSED by its refund_status, associated_data
 * "refund"). The resource names the state `refund_status`: mchid, out_trade_no, transaction_id,
 * out_refund_no, refund_id, refund_status, success_time, user_received_account,
 * amount { total, refund, payer_total, payer_refund }.
 */
export function buildRefundNotification(opts: {
  refund: Record<string, unknown>;
  apiV3Key: string | Buffer;
  signer: { privateKey: KeyObject; serial: string };
  now: Date;
  id?: string;
  eventType?: string;
  summary?: string;
}): { headers: Record<string, string>; body: string; envelope: NotificationEnvelope } {
  const event = REFUND_EVENTS[String(opts.refund.refund_status)];
  const eventType = opts.eventType ?? event?.eventType;
  if (eventType === undefined)
    throw new WechatPayValidationError(
      'refund_status must be SUCCESS, ABNORMAL or CLOSED (or give eventType)',
      'refund',
    );
  return buildNotification({
    ...opts,
    resource: opts.refund,
    originalType: 'refund',
    eventType,
    summary: opts.summary ?? event?.summary ?? '',
  });
}

/** The /v3/certificates answer for these certificates, each encrypted under the APIv3 key. */
export function buildCertificatesAnswer(
  certificates: readonly { pem: string }[],
  apiV3Key: string | Buffer,
): CertificatesAnswer {
  return {
    data: certificates.map(({ pem }) => {
      const certificate = new X509Certificate(pem);
      return {
        serial_no: certificate.serialNumber.toUpperCase(),
        effective_time: rfc3339(new Date(Date.parse(certificate.validFrom))),
        expire_time: rfc3339(new Date(Date.parse(certificate.validTo))),
        encrypt_certificate: {
          ...encryptResource(pem, apiV3Key, { associatedData: CERTIFICATE_ASSOCIATED_DATA }),
          algorithm: AEAD_ALGORITHM,
          associated_data: CERTIFICATE_ASSOCIATED_DATA,
        },
      };
    }),
  };
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}
