import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createSelfSignedCertificate } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { createPlatformIdentity } from '#test/helpers/wechatpay-v3';

describe('self-signed platform certificates (simulator and tests)', () => {
  it('parse with node:crypto, carry the serial and validity asked for, and are signed by the key', () => {
    const identity = createPlatformIdentity();
    const cert = createSelfSignedCertificate({
      privateKey: identity.privateKey,
      serial: '5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC',
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2055-06-30T12:00:00Z'),
    });
    const parsed = new X509Certificate(cert.pem);
    expect(cert.serial).toBe('5DEA10EF55877E3CF6C33255C2E7DEFFF7E427EC');
    expect(parsed.serialNumber).toBe(cert.serial);
    expect(parsed.validFrom).toBe('Jan  1 00:00:00 2024 GMT');
    expect(parsed.validTo).toBe('Jun 30 12:00:00 2055 GMT'); // GeneralizedTime after 2049
    expect(parsed.verify(parsed.publicKey)).toBe(true);
    expect(parsed.checkPrivateKey(identity.privateKey)).toBe(true);
    expect(() =>
      createSelfSignedCertificate({
        privateKey: identity.privateKey,
        serial: 'XYZ',
        notBefore: new Date(),
        notAfter: new Date(),
      }),
    ).toThrow();
  });

  it('draws distinct 40-hex-digit serials', () => {
    const identity = createPlatformIdentity();
    const opts = {
      privateKey: identity.privateKey,
      notBefore: new Date('2024-01-01'),
      notAfter: new Date('2025-01-01'),
    };
    const a = createSelfSignedCertificate(opts).serial;
    const b = createSelfSignedCertificate(opts).serial;
    expect(a).toMatch(/^[0-9A-F]{40}$/);
    expect(a).not.toBe(b);
  });
});
