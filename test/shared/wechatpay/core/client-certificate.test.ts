import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkClientCertificate } from '#shared/wechatpay/core/client-certificate';
import type { ClientCertificate } from '#shared/wechatpay/core/client-certificate';
import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { tlsFetch } from '#shared/wechatpay/core/tls-fetch';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CertificateAuthority, IssuedCertificate } from '#shared/wechatpay/testing/certificate-authority';
import { makeP12, startCraftedServer } from '#test/helpers/wechatpay-v2';
import type { CraftedServer } from '#test/helpers/wechatpay-v2';

const MCHID = '1900000109';

let ca: CertificateAuthority;
let pair: IssuedCertificate;
let other: IssuedCertificate;
let p12: Buffer;

beforeAll(() => {
  ca = createCertificateAuthority();
  pair = ca.issue({ commonName: MCHID, usage: 'client' });
  other = ca.issue({ commonName: 'someone else', usage: 'client' });
  p12 = makeP12(pair, MCHID);
});

/** The validation error checkClientCertificate throws, after checking no secret is in its message. */
function refusal(certificate: ClientCertificate): WechatPayValidationError {
  try {
    checkClientCertificate(certificate);
  } catch (error) {
    expect(error).toBeInstanceOf(WechatPayValidationError);
    const e = error as WechatPayValidationError;
    for (const secret of ['passphrase' in certificate ? certificate.passphrase : '', pair.keyPem, other.keyPem])
      if (secret !== '') expect(e.message).not.toContain(secret);
    expect(e.message).not.toMatch(/BEGIN|MII/);
    expect(e.message).not.toContain(MCHID);
    return e;
  }
  throw new Error('expected checkClientCertificate to refuse');
}

describe('checkClientCertificate: PEM pairs', () => {
  it('accepts the pair a CA issued', () => {
    expect(() => checkClientCertificate({ certPem: pair.certPem, keyPem: pair.keyPem })).not.toThrow();
  });

  it('says so when the certificate and key are swapped', () => {
    const e = refusal({ certPem: pair.keyPem, keyPem: pair.certPem });
    expect(e.message).toMatch(/swapped/);
    expect(e.field).toBe('clientCertificate.certPem');
  });

  it('says so when the key is not the certificate’s', () => {
    const e = refusal({ certPem: pair.certPem, keyPem: other.keyPem });
    expect(e.message).toMatch(/not one pair/);
    expect(e.field).toBe('clientCertificate.keyPem');
  });

  it('names the field holding garbage, the wrong kind of PEM, or an encrypted key', () => {
    expect(refusal({ certPem: 'garbage', keyPem: pair.keyPem }).field).toBe('clientCertificate.certPem');
    expect(refusal({ certPem: pair.certPem, keyPem: 'garbage' }).field).toBe('clientCertificate.keyPem');
    expect(refusal({ certPem: pair.certPem, keyPem: pair.certPem }).message).toMatch(/keyPem holds a certificate/);
    expect(refusal({ certPem: pair.keyPem, keyPem: pair.keyPem }).message).toMatch(/certPem holds a private key/);
    const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret-passphrase' })
      .toString();
    expect(refusal({ certPem: pair.certPem, keyPem: encrypted }).message).toMatch(/encrypted/);
  });

  it('refuses a shape that is neither form', () => {
    const e = refusal({ certPem: pair.certPem } as unknown as ClientCertificate);
    expect(e.field).toBe('clientCertificate');
  });
});

describe('checkClientCertificate: PKCS#12 (apiclient_cert.p12, password = mchid)', () => {
  it('accepts a p12 made by openssl with its password', () => {
    expect(() => checkClientCertificate({ p12, passphrase: MCHID })).not.toThrow();
  });

  it('says the password is wrong (naming the field, not the password)', () => {
    const e = refusal({ p12, passphrase: 'wrong-password' });
    expect(e.message).toMatch(/password is wrong/);
    expect(e.message).not.toContain('wrong-password');
    expect(e.field).toBe('clientCertificate.passphrase');
  });

  it('says the bytes are not a p12, and that base64 text is not the file', () => {
    const notP12 = refusal({ p12: Buffer.from(pair.certPem), passphrase: MCHID });
    expect(notP12.field).toBe('clientCertificate.p12');
    expect(notP12.message).toMatch(/not a PKCS#12/);
    expect(refusal({ p12: Buffer.from(p12.toString('base64')), passphrase: MCHID }).message).toMatch(/text/);
    expect(refusal({ p12: Buffer.from([0x30, 0x82, 0xff, 0x01, 0x02]), passphrase: MCHID }).message).toMatch(
      /not a PKCS#12/,
    );
  });

  it('explains how to convert a legacy (RC2-40) p12 that OpenSSL 3 cannot read', (ctx) => {
    let legacy: Buffer;
    try {
      legacy = makeP12(pair, MCHID, { legacy: true });
    } catch {
      // This openssl build has no legacy provider, so it cannot write such a file either.
      ctx.skip();
      return;
    }
    let readable = true;
    try {
      checkClientCertificate({ p12: legacy, passphrase: MCHID });
    } catch {
      readable = false;
    }
    // Some Node builds load the legacy provider; then the file is simply usable.
    if (readable) return;
    const e = refusal({ p12: legacy, passphrase: MCHID });
    expect(e.field).toBe('clientCertificate.p12');
    expect(e.message).toMatch(/legacy/);
    expect(e.message).toContain('openssl pkcs12 -in apiclient_cert.p12 -nodes');
  });
});

describe('tlsFetch with a checked client certificate', () => {
  let server: CraftedServer;

  beforeAll(async () => {
    const serverCert = ca.issue({ commonName: 'api', ipAddresses: ['127.0.0.1'], usage: 'server' });
    server = await startCraftedServer((req) => ({ status: 200, body: req.clientCertificateCN ?? 'no certificate' }), {
      ...serverCert,
      clientCaPem: ca.certPem,
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('presents the PEM pair or the p12 alike: the server reads the mchid as the CN', async () => {
    const viaPem = tlsFetch({ caPem: ca.certPem, certPem: pair.certPem, keyPem: pair.keyPem });
    const viaP12 = tlsFetch({ caPem: ca.certPem, p12, passphrase: MCHID });
    const bare = tlsFetch({ caPem: ca.certPem });
    await expect((await viaPem(`${server.url}/secapi/pay/refund`)).text()).resolves.toBe(MCHID);
    await expect((await viaP12(`${server.url}/secapi/pay/refund`)).text()).resolves.toBe(MCHID);
    await expect((await bare(`${server.url}/secapi/pay/refund`)).text()).resolves.toBe('no certificate');
  });
});
