import { createDecipheriv } from 'node:crypto';
import { WechatPayError, WechatPayValidationError } from '../core/errors';

/**
 * AEAD_AES_256_GCM as WeChat Pay APIv3 uses it for notification resources and downloaded platform
 * certificates: key = the 32-byte APIv3 key, nonce = 12 UTF-8 bytes, AAD = associated_data,
 * ciphertext = base64(encrypted bytes || 16-byte tag). Only WeChat encrypts (testing/wechat-messages.ts).
 */

export const AEAD_ALGORITHM = 'AEAD_AES_256_GCM';
const KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

export interface EncryptedResource {
  algorithm: string;
  ciphertext: string;
  nonce: string;
  associated_data?: string;
  original_type?: string;
}

/**
 * The APIv3 key as AES key bytes. Anything but exactly 32 bytes is refused: a 16-byte key would
 * make AES-GCM silently run as AES-128 (one official SDK's tests do exactly that), which is not
 * what WeChat encrypts with, so it can only hide a misconfiguration.
 */
export function apiV3KeyBytes(key: string | Buffer): Buffer {
  const bytes = typeof key === 'string' ? Buffer.from(key, 'utf8') : Buffer.from(key);
  if (bytes.length !== KEY_BYTES) {
    throw new WechatPayValidationError(
      `the APIv3 key must be exactly ${KEY_BYTES} bytes (got ${bytes.length})`,
      'apiV3Key',
    );
  }
  return bytes;
}

/** Whatever does not decrypt is not proven to come from WeChat, so it is a signature failure. */
function decryptFailed(message: string, cause?: unknown): WechatPayError {
  return new WechatPayError('AEAD_DECRYPT_FAILED', message, { retryable: false, kind: 'signature', cause });
}

/** Decrypts a resource to its UTF-8 plaintext; throws WechatPayError AEAD_DECRYPT_FAILED on any defect. */
export function decryptResource(resource: EncryptedResource, apiV3Key: string | Buffer): string {
  const key = apiV3KeyBytes(apiV3Key);
  if (resource.algorithm !== AEAD_ALGORITHM) throw decryptFailed(`unsupported algorithm ${resource.algorithm}`);
  const nonce = Buffer.from(resource.nonce, 'utf8');
  if (nonce.length !== AEAD_NONCE_BYTES) throw decryptFailed(`nonce must be ${AEAD_NONCE_BYTES} bytes`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(resource.ciphertext) || resource.ciphertext.length % 4 !== 0) {
    throw decryptFailed('ciphertext is not base64');
  }
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length < AEAD_TAG_BYTES) throw decryptFailed('ciphertext is shorter than the tag');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  decipher.setAuthTag(data.subarray(data.length - AEAD_TAG_BYTES));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  try {
    const plain = Buffer.concat([decipher.update(data.subarray(0, data.length - AEAD_TAG_BYTES)), decipher.final()]);
    return plain.toString('utf8');
  } catch (error) {
    throw decryptFailed('authentication failed (wrong key, nonce, associated_data or tampered ciphertext)', error);
  }
}
