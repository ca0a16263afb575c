import { createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_V3_MERCHANT_FILE, sandboxV3Merchant } from '#sandbox/simulator/sandbox-merchant';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
const freshDir = (): string => {
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-v3-'));
  dirs.push(dir);
  return dir;
};

describe('sandboxV3Merchant', () => {
  it('generates a usable merchant: an RSA 2048 pair, a 40-hex serial, a 32-byte APIv3 key', () => {
    const merchant = sandboxV3Merchant(freshDir());
    const key = createPrivateKey(merchant.privateKeyPem);
    expect(key.asymmetricKeyDetails?.modulusLength).toBe(2048);
    expect(createPublicKey(key).export({ type: 'spki', format: 'pem' })).toBe(merchant.publicKeyPem);
    expect(merchant.certSerial).toMatch(/^[0-9A-F]{40}$/);
    expect(Buffer.byteLength(merchant.apiV3Key)).toBe(32);
  });

  it('is generated once per data directory, kept owner-only, and read back as it was', () => {
    const dir = freshDir();
    const first = sandboxV3Merchant(dir);
    expect(sandboxV3Merchant(dir)).toBe(first);
    const file = join(dir, SANDBOX_V3_MERCHANT_FILE);
    expect(statSync(file).mode & 0o077).toBe(0);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    expect(stored).toEqual({
      apiV3Key: first.apiV3Key,
      certSerial: first.certSerial,
      privateKeyPem: first.privateKeyPem,
    });
    // Another directory, another merchant.
    expect(sandboxV3Merchant(freshDir()).certSerial).not.toBe(first.certSerial);
  });

  it('without a directory, is the same for the whole process (the stack and an in-process simulator agree)', () => {
    expect(sandboxV3Merchant()).toBe(sandboxV3Merchant());
  });

  it('refuses a damaged file, naming the fields but never the values', () => {
    const dir = freshDir();
    writeFileSync(
      join(dir, SANDBOX_V3_MERCHANT_FILE),
      JSON.stringify({ apiV3Key: 'short-secret', certSerial: 'zz', privateKeyPem: 'nope' }),
    );
    let message = '';
    try {
      sandboxV3Merchant(dir);
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('apiV3Key');
    expect(message).toContain('privateKeyPem');
    expect(message).not.toContain('short-secret');
    const notJson = freshDir();
    writeFileSync(join(notJson, SANDBOX_V3_MERCHANT_FILE), '{');
    expect(() => sandboxV3Merchant(notJson)).toThrow(/not JSON/);
  });
});
