import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppError, ValidationError } from '#shared/domain/errors';

/**
 * AEAD_AES_256_GCM as WeChat Pay APIv3 uses it for notification resources and downloaded platform
 * certificates: key = the 32-byte APIv3 key, nonce = 12 UTF-8 bytes, AAD = associated_data,
 * ciphertext = base64(encrypted bytes || 16-byte tag).
 */

export const AEAD_ALGORITHM = 'AEAD_AES_256_GCM';
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const NONCE_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

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
    throw new ValidationError(`the APIv3 key must be exactly ${KEY_BYTES} bytes (got ${bytes.length})`, 'apiV3Key');
  }
  return bytes;
}

function decryptFailed(message: string, cause?: unknown): AppError {
  return new AppError('AEAD_DECRYPT_FAILED', message, { cause });
}

/** Decrypts a resource to its UTF-8 plaintext; throws AppError AEAD_DECRYPT_FAILED on any defect. */
export function decryptResource(resource: EncryptedResource, apiV3Key: string | Buffer): string {
  const key = apiV3KeyBytes(apiV3Key);
  if (resource.algorithm !== AEAD_ALGORITHM) throw decryptFailed(`unsupported algorithm ${resource.algorithm}`);
  const nonce = Buffer.from(resource.nonce, 'utf8');
  if (nonce.length !== NONCE_BYTES) throw decryptFailed(`nonce must be ${NONCE_BYTES} bytes`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(resource.ciphertext) || resource.ciphertext.length % 4 !== 0) {
    throw decryptFailed('ciphertext is not base64');
  }
  const data = Buffer.from(resource.ciphertext, 'base64');
  if (data.length < TAG_BYTES) throw decryptFailed('ciphertext is shorter than the tag');
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  decipher.setAAD(Buffer.from(resource.associated_data ?? '', 'utf8'));
  try {
    const plain = Buffer.concat([decipher.update(data.subarray(0, data.length - TAG_BYTES)), decipher.final()]);
    return plain.toString('utf8');
  } catch (error) {
    throw decryptFailed('authentication failed (wrong key, nonce, associated_data or tampered ciphertext)', error);
  }
}

/** A fresh 12-character nonce in the alphabet WeChat uses. */
export function randomResourceNonce(): string {
  const bytes = randomBytes(NONCE_BYTES);
  return Array.from(bytes, (b) => NONCE_CHARS[b % NONCE_CHARS.length]).join('');
}

/** Encrypts as WeChat does (the simulator's side, and tests). */
export function encryptResource(
  plaintext: string,
  apiV3Key: string | Buffer,
  opts: { associatedData?: string; nonce?: string; originalType?: string } = {},
): EncryptedResource {
  const key = apiV3KeyBytes(apiV3Key);
  const nonce = opts.nonce ?? randomResourceNonce();
  if (Buffer.byteLength(nonce, 'utf8') !== NONCE_BYTES)
    throw new ValidationError(`nonce must be ${NONCE_BYTES} bytes`, 'nonce');
  const associatedData = opts.associatedData ?? '';
  const cipher = createCipheriv('aes-256-gcm', key, Buffer.from(nonce, 'utf8'), { authTagLength: TAG_BYTES });
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
