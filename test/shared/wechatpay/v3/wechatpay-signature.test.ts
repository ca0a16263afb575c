import { describe, expect, it } from 'vitest';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import {
  PROBE_SIGNATURE_PREFIX,
  readWechatpaySignature,
  verifyWechatpaySignature,
  wechatpaySignMessage,
} from '#shared/wechatpay/v3/wechatpay-signature';
import type { WechatpaySignature } from '#shared/wechatpay/v3/wechatpay-signature';
import {
  asCertificateSigner,
  asPublicKeySigner,
  createPlatformIdentity,
  fixedClock,
  vectorById,
} from '#test/helpers/wechatpay-v3';
import type { Signer } from '#test/helpers/wechatpay-v3';

interface GoNotification {
  pinned_now_unix: number;
  headers: Record<string, string>;
  raw_body: string;
  verify_message: string;
  certificate_pem: string;
  certificate_serial_from_x509: string;
}

const go = vectorById<GoNotification & { id: string }>('v3-rsa-sha256.json', 'go-notify-full-request');

describe('the wechatpay-go signed notification (published vector)', () => {
  const pinned = new Date(go.pinned_now_unix * 1000);
  const ring = new KeyRing(fixedClock(pinned));
  ring.addCertificate(go.certificate_pem);
  const signature = readWechatpaySignature(go.headers);

  it('reads the headers and rebuilds the exact message', () => {
    expect(signature?.serial).toBe(go.certificate_serial_from_x509);
    expect(wechatpaySignMessage(signature!.timestamp, signature!.nonce, go.raw_body)).toBe(go.verify_message);
  });

  it('verifies with the clock pinned to its timestamp', async () => {
    await expect(verifyWechatpaySignature({ signature, body: go.raw_body }, ring, { now: pinned })).resolves.toEqual({
      ok: true,
      serial: 'D7CE59D1F522D701',
    });
  });

  it('is refused as stale with a real clock (2021 timestamp)', async () => {
    const check = await verifyWechatpaySignature({ signature, body: go.raw_body }, ring, { now: new Date() });
    expect(check).toMatchObject({ ok: false, failure: 'stale_timestamp' });
  });

  it('is refused when one byte of the body changes', async () => {
    const body = go.raw_body.replace('签约成功', '签约失败');
    await expect(verifyWechatpaySignature({ signature, body }, ring, { now: pinned })).resolves.toMatchObject({
      failure: 'bad_signature',
    });
  });
});

describe('verifying WeChat signatures with our own keys', () => {
  const now = new Date('2024-06-01T04:00:00Z');
  const clock = fixedClock(now);
  // A migrating merchant: the new public key and an old platform certificate, different key pairs.
  const publicKeyIdentity = createPlatformIdentity();
  const certificateIdentity = createPlatformIdentity();
  const ring = new KeyRing(clock);
  ring.addPublicKey(publicKeyIdentity.publicKeyId, publicKeyIdentity.publicKeyPem);
  ring.addCertificate(certificateIdentity.certificatePem);
  const body = '{"code_url":"weixin://wxpay/bizpayurl?pr=abc"}';

  const verify = (sig: WechatpaySignature | undefined, b = body, at = now) =>
    verifyWechatpaySignature({ signature: sig, body: b }, ring, { now: at });
  const signed = (signer: Signer, at = now) => readWechatpaySignature(signWechatpayMessage(body, signer, { now: at }));

  it('chooses the key by Wechatpay-Serial: public key id or certificate serial, both held at once', async () => {
    await expect(verify(signed(asPublicKeySigner(publicKeyIdentity)))).resolves.toEqual({
      ok: true,
      serial: publicKeyIdentity.publicKeyId,
    });
    await expect(verify(signed(asCertificateSigner(certificateIdentity)))).resolves.toEqual({
      ok: true,
      serial: certificateIdentity.serial,
    });
  });

  it('refuses a signature made with the other key than the serial names', async () => {
    const crossed = { privateKey: certificateIdentity.privateKey, serial: publicKeyIdentity.publicKeyId };
    await expect(verify(signed(crossed))).resolves.toMatchObject({ ok: false, failure: 'bad_signature' });
    const crossedBack = { privateKey: publicKeyIdentity.privateKey, serial: certificateIdentity.serial };
    await expect(verify(signed(crossedBack))).resolves.toMatchObject({ ok: false, failure: 'bad_signature' });
  });

  it('refuses an unknown serial even with a valid signature from an unknown key', async () => {
    const stranger = createPlatformIdentity();
    await expect(verify(signed(asCertificateSigner(stranger)))).resolves.toMatchObject({
      ok: false,
      failure: 'unknown_serial',
    });
  });

  it('refuses WeChat probe signatures', async () => {
    const sig = signed(asPublicKeySigner(publicKeyIdentity))!;
    await expect(verify({ ...sig, signature: `${PROBE_SIGNATURE_PREFIX}${sig.signature}` })).resolves.toMatchObject({
      failure: 'probe',
    });
  });

  it('refuses timestamps more than 5 minutes off, either way', async () => {
    const signer = asPublicKeySigner(publicKeyIdentity);
    for (const offset of [-301, 301]) {
      const sig = signed(signer, new Date(now.getTime() + offset * 1000));
      await expect(verify(sig)).resolves.toMatchObject({ ok: false, failure: 'stale_timestamp' });
    }
    for (const offset of [-299, 299]) {
      await expect(verify(signed(signer, new Date(now.getTime() + offset * 1000)))).resolves.toMatchObject({
        ok: true,
      });
    }
    const sig = signed(signer)!;
    await expect(verify({ ...sig, timestamp: '17e8' })).resolves.toMatchObject({ failure: 'bad_timestamp' });
  });

  it('refuses missing headers and a foreign signature type', async () => {
    await expect(verify(undefined)).resolves.toMatchObject({ failure: 'missing_headers' });
    const sig = signed(asPublicKeySigner(publicKeyIdentity))!;
    await expect(verify({ ...sig, signatureType: 'WECHATPAY2-SM2-WITH-SM3' })).resolves.toMatchObject({
      failure: 'unsupported_signature_type',
    });
  });

  it('reads the headers in any case, from a record or a fetch Headers', () => {
    const headers = signWechatpayMessage(body, asPublicKeySigner(publicKeyIdentity), { now, nonce: 'n0nce' });
    const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
    const expected = {
      timestamp: String(now.getTime() / 1000),
      nonce: 'n0nce',
      signature: headers['Wechatpay-Signature'],
      serial: publicKeyIdentity.publicKeyId,
      signatureType: 'WECHATPAY2-SHA256-RSA2048',
    };
    expect(readWechatpaySignature(headers)).toEqual(expected);
    expect(readWechatpaySignature(lower)).toEqual(expected);
    expect(readWechatpaySignature(new Headers(headers))).toEqual(expected);
    const { 'wechatpay-nonce': _dropped, ...withoutNonce } = lower;
    expect(readWechatpaySignature(withoutNonce)).toBeUndefined();
  });
});

describe('KeyRing', () => {
  it('uses a certificate only inside its validity, by the injected clock', () => {
    const clock = fixedClock('2030-01-01T00:00:00Z');
    const identity = createPlatformIdentity({
      notBefore: new Date('2029-01-01T00:00:00Z'),
      notAfter: new Date('2031-01-01T00:00:00Z'),
    });
    const ring = new KeyRing(clock);
    const serial = ring.addCertificate(identity.certificatePem);
    expect(serial).toBe(identity.serial);
    expect(ring.lookup(serial)).toBeDefined();
    expect(ring.lookup(serial.toLowerCase())).toBeDefined();
    clock.set('2031-01-01T00:00:01Z');
    expect(ring.lookup(serial)).toBeUndefined();
    clock.set('2028-12-31T23:59:59Z');
    expect(ring.lookup(serial)).toBeUndefined();
    expect(ring.serials()).toEqual([serial]);
  });

  it('holds public keys by id and refuses non-RSA or malformed keys', () => {
    const ring = new KeyRing();
    const identity = createPlatformIdentity();
    ring.addPublicKey(identity.publicKeyId, identity.publicKeyPem);
    expect(ring.lookup(identity.publicKeyId)?.asymmetricKeyType).toBe('rsa');
    expect(ring.lookup('PUB_KEY_ID_OTHER')).toBeUndefined();
    expect(() => ring.addPublicKey('PUB_KEY_ID_X', 'not a pem')).toThrow();
  });
});
