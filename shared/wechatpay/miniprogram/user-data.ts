import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * The user data a mini program receives encrypted (wx.getUserProfile, getPhoneNumber's old form,
 * wx.getWeRunData, …): `encryptedData` and `iv`, base64, AES-128-CBC with PKCS#7 padding, the key
 * being the user's session_key (base64 of 16 bytes). The plaintext is JSON carrying a `watermark`
 * `{ appid, timestamp }`: data whose watermark names another appid was not meant for this mini program.
 */

/** Why user data was refused; never the data or the key. */
export type UserDataProblem =
  /** encrypted_data or iv is not base64 of the right length. */
  | 'MALFORMED'
  /** It does not decrypt with this key to JSON: another session's key, or altered on the way. */
  | 'UNDECRYPTABLE'
  /** It decrypted, but its watermark is missing or names another appid. */
  | 'WATERMARK_MISMATCH';

export class UserDataError extends Error {
  constructor(
    readonly problem: UserDataProblem,
    message: string,
    /** The input at fault, for MALFORMED: `encryptedData`, `iv` or `sessionKey`. */
    readonly field?: 'encryptedData' | 'iv' | 'sessionKey',
  ) {
    super(message);
    this.name = 'UserDataError';
  }
}

/** Strict base64 (with padding): WeChat's encoding of the three inputs. */
export const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** A profile is a few hundred bytes; a WeRun history a few KB. */
export const MAX_ENCRYPTED_DATA_BYTES = 64 * 1024;
/** The longest base64 of MAX_ENCRYPTED_DATA_BYTES bytes (with padding). */
export const MAX_ENCRYPTED_DATA_BASE64_CHARS = Math.ceil(MAX_ENCRYPTED_DATA_BYTES / 3) * 4;

function decode(value: string, field: 'encryptedData' | 'iv' | 'sessionKey', bytes?: number): Buffer {
  if (value.length === 0 || !BASE64_PATTERN.test(value)) {
    throw new UserDataError('MALFORMED', `${field} must be base64`, field);
  }
  const decoded = Buffer.from(value, 'base64');
  if (bytes !== undefined && decoded.length !== bytes) {
    throw new UserDataError('MALFORMED', `${field} must be base64 of ${bytes} bytes`, field);
  }
  return decoded;
}

export interface EncryptedUserData {
  encryptedData: string;
  iv: string;
}

/**
 * Decrypts and checks user data: JSON whose watermark.appid is `appid`. Returns the whole decrypted
 * object, the watermark included, as WeChat wrote it.
 */
export function decryptUserData(
  input: EncryptedUserData & { sessionKey: string; appid: string },
): Record<string, unknown> {
  if (input.encryptedData.length > MAX_ENCRYPTED_DATA_BASE64_CHARS) {
    throw new UserDataError(
      'MALFORMED',
      `encryptedData is larger than ${MAX_ENCRYPTED_DATA_BYTES} bytes`,
      'encryptedData',
    );
  }
  const key = decode(input.sessionKey, 'sessionKey', 16);
  const iv = decode(input.iv, 'iv', 16);
  const data = decode(input.encryptedData, 'encryptedData');
  if (data.length === 0 || data.length % 16 !== 0) {
    throw new UserDataError('MALFORMED', 'encryptedData must be whole AES blocks', 'encryptedData');
  }
  let parsed: unknown;
  try {
    const decipher = createDecipheriv('aes-128-cbc', key, iv);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plain));
  } catch {
    throw new UserDataError('UNDECRYPTABLE', "the data does not decrypt with the session's key");
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new UserDataError('UNDECRYPTABLE', 'the decrypted data is not a JSON object');
  }
  const object = parsed as Record<string, unknown>;
  const watermark = object.watermark;
  const watermarkAppid =
    typeof watermark === 'object' && watermark !== null ? (watermark as Record<string, unknown>).appid : undefined;
  if (watermarkAppid !== input.appid) {
    throw new UserDataError('WATERMARK_MISMATCH', 'the data is watermarked for another mini program');
  }
  return object;
}

/**
 * What WeChat does on its side: `data` with a watermark for `appid` at `timestamp` (unix seconds),
 * encrypted with the session key under a fresh iv. For the simulator and tests.
 */
export function encryptUserData(input: {
  data: Record<string, unknown>;
  sessionKey: string;
  appid: string;
  timestamp: number;
  iv?: Buffer;
}): EncryptedUserData {
  const key = decode(input.sessionKey, 'sessionKey', 16);
  const iv = input.iv ?? randomBytes(16);
  const plain = JSON.stringify({ ...input.data, watermark: { timestamp: input.timestamp, appid: input.appid } });
  const cipher = createCipheriv('aes-128-cbc', key, iv);
  const encrypted = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return { encryptedData: encrypted.toString('base64'), iv: iv.toString('base64') };
}
