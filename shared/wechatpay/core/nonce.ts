import { randomBytes } from 'node:crypto';

/** A nonce for any of WeChat's nonce fields (at most 32 characters): 128 random bits as 32 hex digits. */
export function randomNonce(): string {
  return randomBytes(16).toString('hex');
}
