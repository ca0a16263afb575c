import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signSha256Rsa, toPrivateKey, verifySha256Rsa } from '#shared/wechatpay/v3/sign';
import { vectorById } from '#test/helpers/wechatpay-v3';

interface RsaVector {
  id: string;
  message: string;
  signature: string;
  private_key_pem_pkcs8: string;
  public_key_pem: string;
  certificate_pem: string;
  negative: { message: string };
}

const goKeys = vectorById<RsaVector>('v3-rsa-sha256.json', 'go-sha256withrsa-source');

describe('SHA256withRSA (published vectors)', () => {
  it('reproduces the wechatpay-go signature of "source" byte for byte', () => {
    expect(signSha256Rsa(goKeys.message, toPrivateKey(goKeys.private_key_pem_pkcs8))).toBe(goKeys.signature);
  });

  it('verifies it with the public key and with the certificate, and refuses another message', () => {
    for (const pem of [goKeys.public_key_pem, goKeys.certificate_pem]) {
      const key = createPublicKey(pem);
      expect(verifySha256Rsa(goKeys.message, goKeys.signature, key)).toBe(true);
      expect(verifySha256Rsa(goKeys.negative.message, goKeys.signature, key)).toBe(false);
    }
  });

  it('refuses malformed signatures without throwing', () => {
    const key = createPublicKey(goKeys.public_key_pem);
    for (const bad of ['', 'not base64!', goKeys.signature.slice(0, -4), `${goKeys.signature}AAAA`]) {
      expect(verifySha256Rsa(goKeys.message, bad, key)).toBe(false);
    }
  });
});
