import { createDecipheriv, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { SESSION_KEY_SEAL_INFO, SessionKeySeal } from '#shared/adapters/session-key-seal';
import { sessionKey } from '#test/helpers/login-session-store-contract';

const APP_SECRET = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const USER = { appid: 'wx0123456789abcdef', openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o' };

describe('SessionKeySeal', () => {
  it('opens what it sealed, for the same user', () => {
    const seal = new SessionKeySeal(APP_SECRET);
    const key = sessionKey();
    const sealed = seal.seal(key, USER);
    expect(seal.unseal(sealed, USER)).toBe(key);
    expect(new SessionKeySeal(APP_SECRET).unseal(sealed, USER)).toBe(key);
  });

  it('never shows the key: each sealing differs, and holds neither its base64 nor its bytes', () => {
    const seal = new SessionKeySeal(APP_SECRET);
    const key = sessionKey();
    const [a, b] = [seal.seal(key, USER), seal.seal(key, USER)];
    expect(a).not.toBe(b);
    for (const sealed of [a, b]) {
      expect(sealed).not.toContain(key);
      expect(Buffer.from(sealed, 'base64').includes(Buffer.from(key, 'base64'))).toBe(false);
      expect(Buffer.from(sealed, 'base64').includes(Buffer.from(key, 'utf8'))).toBe(false);
    }
  });

  it('is AES-256-GCM under HKDF-SHA256(AppSecret, no salt, v1 info), iv ‖ ciphertext ‖ tag, AAD appid+openid', () => {
    const key = sessionKey();
    const bytes = Buffer.from(new SessionKeySeal(APP_SECRET).seal(key, USER), 'base64');
    const derived = Buffer.from(hkdfSync('sha256', APP_SECRET, Buffer.alloc(0), SESSION_KEY_SEAL_INFO, 32));
    const decipher = createDecipheriv('aes-256-gcm', derived, bytes.subarray(0, 12));
    decipher.setAAD(Buffer.from(`${USER.appid}\n${USER.openid}`));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]);
    expect(plain.toString('utf8')).toBe(key);
    expect(SESSION_KEY_SEAL_INFO).toBe('wechatpay-serverless mini program session key v1');
  });

  it('opens nothing sealed under another AppSecret, for another user or appid, or altered', () => {
    const seal = new SessionKeySeal(APP_SECRET);
    const sealed = seal.seal(sessionKey(), USER);
    expect(new SessionKeySeal('b1b2c3d4e5f60718293a4b5c6d7e8f90').unseal(sealed, USER)).toBeUndefined();
    expect(seal.unseal(sealed, { ...USER, openid: 'oSomebodyElse' })).toBeUndefined();
    expect(seal.unseal(sealed, { ...USER, appid: 'wxfedcba9876543210' })).toBeUndefined();
    const bytes = Buffer.from(sealed, 'base64');
    bytes[14] = (bytes[14] ?? 0) ^ 1;
    expect(seal.unseal(bytes.toString('base64'), USER)).toBeUndefined();
    expect(seal.unseal('', USER)).toBeUndefined();
    expect(seal.unseal('not base64 at all!', USER)).toBeUndefined();
  });
});
