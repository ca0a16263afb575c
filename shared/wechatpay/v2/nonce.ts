import { randomBytes } from 'node:crypto';

/** WeChat's nonce_str / noncestr: at most 32 characters; 128 random bits as 32 hex digits. */
export function randomNonce(): string {
  return randomBytes(16).toString('hex');
}
