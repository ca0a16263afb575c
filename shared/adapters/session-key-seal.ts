import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Seals mini program session keys for the table. DynamoDB encrypts at rest only under an AWS-owned
 * key, which anyone who may read the table reads through; so the key is sealed by us too, under a key
 * only the holder of the AppSecret can derive: AES-256-GCM, key = HKDF-SHA256(AppSecret, no salt,
 * SESSION_KEY_SEAL_INFO, 32 bytes), a random 12-byte iv, and the user it belongs to (`<appid>\n<openid>`)
 * as associated data, so a sealed key copied onto another user's item does not open. Stored as
 * base64(iv ‖ ciphertext ‖ tag).
 *
 * A new AppSecret derives another key: what was sealed before no longer opens, and its users log in
 * again, which is what replacing a leaked AppSecret calls for.
 */

/** The HKDF info: names the purpose and the format's version, so the derived key serves nothing else. */
export const SESSION_KEY_SEAL_INFO = 'wechatpay-serverless mini program session key v1';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Whose session key it is: bound to the sealed text as associated data. */
export interface SealContext {
  appid: string;
  openid: string;
}

export class SessionKeySeal {
  private readonly key: Buffer;

  constructor(appSecret: string) {
    if (appSecret.length === 0) throw new Error('a session key seal needs the AppSecret');
    this.key = Buffer.from(hkdfSync('sha256', appSecret, Buffer.alloc(0), SESSION_KEY_SEAL_INFO, 32));
  }

  seal(sessionKey: string, context: SealContext): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(associatedData(context));
    const sealed = Buffer.concat([cipher.update(sessionKey, 'utf8'), cipher.final()]);
    return Buffer.concat([iv, sealed, cipher.getAuthTag()]).toString('base64');
  }

  /** The session key, or undefined when it was not sealed by this AppSecret for this user. */
  unseal(sealed: string, context: SealContext): string | undefined {
    const bytes = Buffer.from(sealed, 'base64');
    if (bytes.length <= IV_BYTES + TAG_BYTES) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, bytes.subarray(0, IV_BYTES));
      decipher.setAAD(associatedData(context));
      decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
      const plain = Buffer.concat([
        decipher.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
        decipher.final(),
      ]);
      return plain.toString('utf8');
    } catch {
      return undefined;
    }
  }
}

function associatedData({ appid, openid }: SealContext): Buffer {
  return Buffer.from(`${appid}\n${openid}`, 'utf8');
}
