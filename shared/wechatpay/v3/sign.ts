import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

/**
 * SHA256withRSA (RSASSA-PKCS1-v1_5 over SHA-256), the only signature scheme of WeChat Pay APIv3.
 * PKCS#1 v1.5 is deterministic: the same key and message always give the same signature, which is
 * what lets published vectors be checked byte for byte.
 */

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A private key from PEM (PKCS#8 or PKCS#1); throws when it is not an RSA private key. */
export function toPrivateKey(pem: string | KeyObject): KeyObject {
  const key = typeof pem === 'string' ? createPrivateKey(pem) : pem;
  if (key.type !== 'private' || key.asymmetricKeyType !== 'rsa') {
    throw new TypeError('expected an RSA private key');
  }
  return key;
}

/** A public key from a PEM public key or certificate (or a private key's public half). */
export function toPublicKey(pem: string | KeyObject): KeyObject {
  const key = typeof pem === 'string' ? createPublicKey(pem) : pem.type === 'private' ? createPublicKey(pem) : pem;
  if (key.asymmetricKeyType !== 'rsa') throw new TypeError('expected an RSA public key');
  return key;
}

/** Base64 SHA256withRSA signature of the UTF-8 bytes of `message`. */
export function signSha256Rsa(message: string, privateKey: KeyObject): string {
  return sign('sha256', Buffer.from(message, 'utf8'), privateKey).toString('base64');
}

/** True only for a well-formed base64 signature that verifies; never throws on bad input. */
export function verifySha256Rsa(message: string, signature: string, publicKey: KeyObject): boolean {
  if (signature.length === 0 || signature.length % 4 !== 0 || !BASE64.test(signature)) return false;
  try {
    return verify('sha256', Buffer.from(message, 'utf8'), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
