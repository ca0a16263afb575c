import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { startSimulator } from '#sandbox/simulator/server';
import { MERCHANT, newOutTradeNo, pay, waitFor } from './support';
import { platformOf, startV3Simulator, v3Client, V3Receiver } from './v3-support';
import type { Verification } from './v3-support';

// Wechatpay-Serial names either the WeChat Pay public key (PUB_KEY_ID_…) or the platform certificate;
// `signWith` chooses. Merchants verify with the public key, with downloaded certificates, or with
// both while migrating.

let byPublicKey: RunningSimulator;
let byCertificate: RunningSimulator;

beforeAll(async () => {
  [byPublicKey, byCertificate] = await Promise.all([startV3Simulator(), startV3Simulator({ signWith: 'certificate' })]);
});
afterAll(async () => {
  await Promise.all([byPublicKey.close(), byCertificate.close()]);
});

const certificateDownloads = (fetched: string[]) => fetched.filter((u) => u.endsWith('/v3/certificates')).length;

async function roundTrip(sim: RunningSimulator, verification: Verification): Promise<{ downloads: number }> {
  const { client, fetched } = v3Client(sim, verification);
  const outTradeNo = newOutTradeNo('M');
  const { codeUrl } = await client.prepayNative({
    description: 'modes',
    outTradeNo,
    notifyUrl: 'http://127.0.0.1:9/n',
    amount: { total: 1 },
  });
  expect(codeUrl).toMatch(/^weixin:/);
  expect((await client.queryByOutTradeNo(outTradeNo)).trade_state).toBe('NOTPAY');
  return { downloads: certificateDownloads(fetched) };
}

describe('signWith: public_key (the default)', () => {
  it('names the public key id; the simulator exposes the key, the id, the certificate and its serial', () => {
    const platform = platformOf(byPublicKey);
    expect(platform.signWith).toBe('public_key');
    expect(platform.publicKeyId).toMatch(/^PUB_KEY_ID_\d{32}$/);
    expect(platform.certificateSerial).toMatch(/^[0-9A-F]{40}$/);
    expect(platform.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    expect(platform.certificatePem).toMatch(/^-----BEGIN CERTIFICATE-----/);
  });

  it('a merchant with the public key verifies every answer without downloading certificates', async () => {
    expect(await roundTrip(byPublicKey, 'public_key')).toEqual({ downloads: 0 });
  });

  it('a migrating merchant (public key and certificates) verifies too', async () => {
    expect(await roundTrip(byPublicKey, 'both')).toEqual({ downloads: 0 });
  });

  it('a merchant with certificates only cannot verify: the answers name a key it does not hold', async () => {
    const { client, fetched } = v3Client(byPublicKey, 'certificates');
    const error = await client
      .prepayNative({
        description: 'modes',
        outTradeNo: newOutTradeNo('M'),
        notifyUrl: 'http://127.0.0.1:9/n',
        amount: { total: 1 },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WechatPayError);
    expect(error).toMatchObject({ code: 'INVALID_SIGNATURE', kind: 'signature' });
    // A public key id is never in a certificate download, so none is tried.
    expect(certificateDownloads(fetched)).toBe(0);
  });
});

describe('signWith: certificate', () => {
  it('names the certificate serial', () => {
    expect(platformOf(byCertificate).signWith).toBe('certificate');
  });

  it('a merchant with certificates only downloads them once, then verifies every answer', async () => {
    expect(await roundTrip(byCertificate, 'certificates')).toEqual({ downloads: 1 });
  });

  it('a migrating merchant verifies too, by downloading the certificate', async () => {
    expect(await roundTrip(byCertificate, 'both')).toEqual({ downloads: 1 });
  });

  it('notifications name the certificate serial: only a receiver holding the certificate accepts them', async () => {
    const platform = platformOf(byCertificate);
    const withCertificate = new KeyRing();
    withCertificate.addCertificate(platform.certificatePem);
    const withPublicKey = new KeyRing();
    withPublicKey.addPublicKey(platform.publicKeyId, platform.publicKeyPem);
    const good = await V3Receiver.start(withCertificate);
    const blind = await V3Receiver.start(withPublicKey);
    try {
      const { client } = v3Client(byCertificate, 'certificates');
      const [a, b] = [newOutTradeNo('C'), newOutTradeNo('C')];
      await client.prepayApp({ description: 'cert', outTradeNo: a, notifyUrl: good.url, amount: { total: 2 } });
      await client.prepayApp({ description: 'cert', outTradeNo: b, notifyUrl: blind.url, amount: { total: 2 } });
      await Promise.all([pay(byCertificate.url, a), pay(byCertificate.url, b)]);
      const [accepted] = await waitFor(() => good.for(a).length > 0 && good.for(a), 5000, 'notification a');
      const [refused] = await waitFor(() => blind.for(b).length > 0 && blind.for(b), 5000, 'notification b');
      expect(accepted?.headers['wechatpay-serial']).toBe(platform.certificateSerial);
      expect(accepted?.verified.kind).toBe('trade');
      expect(refused?.verified).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('unknown_serial') });
    } finally {
      await Promise.all([good.close(), blind.close()]);
    }
  });
});

describe('GET /sandbox/platform', () => {
  it('shows the platform’s public identity in v3 (never a private key), and is 404 in v2', async () => {
    const res = await fetch(`${byCertificate.url}/sandbox/platform`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const platform = platformOf(byCertificate);
    expect(JSON.parse(text)).toEqual({
      public_key: platform.publicKeyPem,
      public_key_id: platform.publicKeyId,
      certificate: platform.certificatePem,
      certificate_serial: platform.certificateSerial,
      sign_with: 'certificate',
    });
    expect(text).not.toContain('PRIVATE KEY');
    const v2 = await startSimulator({ merchant: MERCHANT });
    try {
      expect((await fetch(`${v2.url}/sandbox/platform`)).status).toBe(404);
      expect(v2.platform).toBeUndefined();
      expect(v2.apiVersion).toBe('v2');
      expect((await fetch(`${v2.url}/v3/certificates`)).status).toBe(404);
    } finally {
      await v2.close();
    }
  });
});
