import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';

import { parseXml, XmlError } from './xml';

/**
 * The encrypted `req_info` of a v2 refund notification: base64 of AES-256-ECB (PKCS#7) under the
 * lowercase hex MD5 of the APIv2 key, used as 32 ASCII bytes (not the 16-byte raw digest, the
 * mistake peer SDKs made). The plaintext is a <root> document. The notification carries no
 * signature: that req_info decrypts under our key is its only proof (refund-notification.ts).
 */

export class RefundReqInfoError extends Error {
  override name = 'RefundReqInfoError';
}

/** The AES key WeChat derives from the APIv2 key. */
export function refundReqInfoKey(apiKey: string): Buffer {
  return Buffer.from(createHash('md5').update(apiKey, 'utf8').digest('hex'), 'ascii');
}

/** The decrypted XML; throws RefundReqInfoError when the key is wrong or the data is not WeChat's. */
export function decryptRefundReqInfo(reqInfo: string, apiKey: string): string {
  const data = Buffer.from(reqInfo, 'base64');
  if (data.length === 0 || data.length % 16 !== 0)
    throw new RefundReqInfoError('req_info is not whole AES blocks of base64');
  try {
    const decipher = createDecipheriv('aes-256-ecb', refundReqInfoKey(apiKey), null);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch (cause) {
    // A wrong key shows as bad padding; say so without echoing anything derived from the key.
    throw new RefundReqInfoError('req_info does not decrypt with this API key', {
      cause: new Error((cause as Error).message),
    });
  }
}

/** The fields of the decrypted <root> document, read as safely as a notification. */
export function readRefundReqInfo(reqInfo: string, apiKey: string): Record<string, string> {
  const xml = decryptRefundReqInfo(reqInfo, apiKey);
  try {
    return parseXml(xml, undefined, 'root');
  } catch (cause) {
    if (cause instanceof XmlError)
      throw new RefundReqInfoError(`req_info is not WeChat's XML: ${cause.message}`, { cause });
    throw cause;
  }
}

/**
 * WeChat's side: req_info for a refund notification (the simulator's, and fixtures). Production
 * code never encrypts one.
 */
export function encryptRefundReqInfo(xml: string, apiKey: string): string {
  const cipher = createCipheriv('aes-256-ecb', refundReqInfoKey(apiKey), null);
  return Buffer.concat([cipher.update(xml, 'utf8'), cipher.final()]).toString('base64');
}
