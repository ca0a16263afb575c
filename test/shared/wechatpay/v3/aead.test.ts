import { createDecipheriv } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { apiV3KeyBytes, decryptResource } from '#shared/wechatpay/v3/aead';
import { encryptResource } from '#shared/wechatpay/v3/testing/wechat-messages';
import { loadVectors } from '#test/helpers/vectors';
import { TEST_APIV3_KEY, vectorById } from '#test/helpers/wechatpay-v3';

interface AeadVector {
  id: string;
  key: string;
  nonce: string;
  associated_data: string;
  ciphertext: string;
  plaintext: string;
  cipher_used_by_node: string;
  verified: boolean | string;
  negative_cases?: { key?: string; nonce?: string; associated_data?: string; ciphertext?: string }[];
}

const vectors = loadVectors<{ vectors: AeadVector[] }>('v3-aes-gcm.json').vectors;
const resourceOf = (v: AeadVector) => ({
  algorithm: 'AEAD_AES_256_GCM',
  ciphertext: v.ciphertext,
  nonce: v.nonce,
  associated_data: v.associated_data,
});

function expectDecryptFailure(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayError);
    expect((error as WechatPayError).code).toBe('AEAD_DECRYPT_FAILED');
    return;
  }
  throw new Error('expected decryption to fail');
}

/** WeChat's real shape: 32-byte key (AES-256) and 12-byte nonce. */
const wechatShaped = vectors.filter(
  (v) => v.verified === true && Buffer.byteLength(v.key) === 32 && Buffer.byteLength(v.nonce) === 12,
);

describe('AEAD_AES_256_GCM with the verified 32-byte vectors', () => {
  it('covers the expected vectors', () => {
    expect(wechatShaped.map((v) => v.id).sort()).toEqual(
      [
        'easywechat-transaction',
        'java-aead-message',
        'java-certificate-download',
        'yansongda-callback-certificate',
      ].sort(),
    );
  });

  it.each(wechatShaped.map((v) => [v.id, v] as const))(
    '%s decrypts to the plaintext and encrypts back to the ciphertext',
    (_id, v) => {
      expect(decryptResource(resourceOf(v), v.key)).toBe(v.plaintext);
      // GCM is deterministic for a given key and nonce: the other direction reproduces the vector.
      const encrypted = encryptResource(v.plaintext, v.key, { nonce: v.nonce, associatedData: v.associated_data });
      expect(encrypted.ciphertext).toBe(v.ciphertext);
    },
  );

  it('refuses the wechatpay-java negative cases (wrong associated_data, wrong nonce)', () => {
    const v = vectorById<AeadVector>('v3-aes-gcm.json', 'java-aead-message');
    expect(v.negative_cases).toHaveLength(2);
    for (const bad of v.negative_cases ?? [])
      expectDecryptFailure(() => decryptResource({ ...resourceOf(v), ...bad }, v.key));
  });

  it('refuses a tampered ciphertext, a cut tag, a wrong key and another algorithm', () => {
    const v = vectorById<AeadVector>('v3-aes-gcm.json', 'easywechat-transaction');
    const bytes = Buffer.from(v.ciphertext, 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 0x01;
    expectDecryptFailure(() => decryptResource({ ...resourceOf(v), ciphertext: bytes.toString('base64') }, v.key));
    const cut = Buffer.from(v.ciphertext, 'base64').subarray(0, -1).toString('base64');
    expectDecryptFailure(() => decryptResource({ ...resourceOf(v), ciphertext: cut }, v.key));
    expectDecryptFailure(() => decryptResource(resourceOf(v), TEST_APIV3_KEY));
    expectDecryptFailure(() => decryptResource({ ...resourceOf(v), associated_data: '' }, v.key));
    expectDecryptFailure(() => decryptResource({ ...resourceOf(v), algorithm: 'AEAD_SM4_GCM' }, v.key));
    expectDecryptFailure(() => decryptResource({ ...resourceOf(v), ciphertext: 'not base64!' }, v.key));
  });
});

describe('APIv3 key length', () => {
  const aes128 = vectors.filter((v) => v.cipher_used_by_node === 'aes-128-gcm');

  it('the wechatpay-go vectors really are AES-128 (16-byte keys), as flagged', () => {
    expect(aes128.map((v) => v.id).sort()).toEqual(['go-notify-payscore-AES128', 'go-utils-hello-world-AES128']);
    for (const v of aes128) {
      expect(Buffer.byteLength(v.key)).toBe(16);
      const data = Buffer.from(v.ciphertext, 'base64');
      const decipher = createDecipheriv('aes-128-gcm', Buffer.from(v.key), Buffer.from(v.nonce));
      decipher.setAuthTag(data.subarray(-16));
      decipher.setAAD(Buffer.from(v.associated_data));
      expect(Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]).toString()).toBe(v.plaintext);
    }
  });

  it('is refused rather than silently run as AES-128', () => {
    for (const v of aes128) {
      expect(() => apiV3KeyBytes(v.key)).toThrow(WechatPayValidationError);
      expect(() => decryptResource(resourceOf(v), v.key)).toThrow(/exactly 32 bytes/);
      expect(() => encryptResource('x', v.key)).toThrow(WechatPayValidationError);
    }
    expect(() => apiV3KeyBytes('x'.repeat(33))).toThrow(WechatPayValidationError);
    expect(apiV3KeyBytes(TEST_APIV3_KEY)).toHaveLength(32);
  });

  it('refuses the 16-byte-nonce vectors that a lenient decoder would accept', () => {
    const odd = vectors.filter((v) => v.id.startsWith('axios-plugin-16byte-iv'));
    expect(odd).toHaveLength(2);
    for (const v of odd) {
      // Node itself accepts a 16-byte IV (GHASH-derived counter)…
      const data = Buffer.from(v.ciphertext, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(v.key), Buffer.from(v.nonce));
      decipher.setAuthTag(data.subarray(-16));
      decipher.setAAD(Buffer.from(v.associated_data));
      expect(Buffer.concat([decipher.update(data.subarray(0, -16)), decipher.final()]).toString()).toBe(v.plaintext);
      // …but WeChat's nonces are 12 bytes, so ours does not.
      expectDecryptFailure(() => decryptResource(resourceOf(v), v.key));
    }
  });
});

describe('AEAD_AES_256_GCM round trip with our own key', () => {
  it('encrypts then decrypts; fresh nonces differ; associated_data is bound', () => {
    const plaintext = JSON.stringify({ out_trade_no: '0012', amount: { total: 1 }, note: '支付成功' });
    const a = encryptResource(plaintext, TEST_APIV3_KEY, {
      associatedData: 'transaction',
      originalType: 'transaction',
    });
    const b = encryptResource(plaintext, TEST_APIV3_KEY, { associatedData: 'transaction' });
    expect(a.algorithm).toBe('AEAD_AES_256_GCM');
    expect(a.original_type).toBe('transaction');
    expect(a.nonce).toHaveLength(12);
    expect(a.nonce).not.toBe(b.nonce);
    expect(decryptResource(a, TEST_APIV3_KEY)).toBe(plaintext);
    expect(decryptResource(b, TEST_APIV3_KEY)).toBe(plaintext);
    expectDecryptFailure(() => decryptResource({ ...a, associated_data: 'certificate' }, TEST_APIV3_KEY));
    expectDecryptFailure(() => decryptResource({ ...a, nonce: b.nonce }, TEST_APIV3_KEY));
  });
});
