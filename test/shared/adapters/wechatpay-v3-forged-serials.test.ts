import { randomBytes } from 'node:crypto';

import { afterEach, describe, expect, it } from 'vitest';

import { WechatPayV3NotificationCodec } from '#shared/adapters/wechatpay-v3-notification-codec';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import { randomCertificateSerial } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { buildCertificatesAnswer } from '#shared/wechatpay/v3/testing/wechat-messages';
import {
  TEST_APIV3_KEY,
  asCertificateSigner,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  fixedClock,
  signedNotification,
  startWechatV3StandIn,
  type StandIn,
} from '#test/helpers/wechatpay-v3';

/**
 * Forged v3 notifications against the real client and codec, with WeChat's /v3/certificates served
 * over HTTP by a stand-in: an unknown Wechatpay-Serial must not turn into downloads or slow answers.
 */

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const attacker = createPlatformIdentity();
const now = new Date('2024-06-01T04:00:00Z');

const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function setup(opts: { certificatesDelayMs?: number } = {}) {
  const clock = fixedClock(now);
  const standIn = await startWechatV3StandIn({
    merchant,
    signer: asCertificateSigner(platform),
    clock,
    handler: (r) =>
      r.path === '/v3/certificates'
        ? {
            status: 200,
            body: buildCertificatesAnswer([{ pem: platform.certificatePem }], TEST_APIV3_KEY),
            ...(opts.certificatesDelayMs === undefined ? {} : { delayMs: opts.certificatesDelayMs }),
          }
        : { status: 404, body: { code: 'NOT_FOUND', message: 'no' } },
  });
  standIns.push(standIn);
  // A merchant on the WeChat Pay public key: the mode WeChat gives new merchants.
  const client = new WechatPayV3Client({
    baseUrl: standIn.baseUrl,
    mchid: merchant.mchid,
    appid: merchant.appid,
    privateKey: merchant.privateKeyPem,
    certSerial: merchant.serial,
    apiV3Key: TEST_APIV3_KEY,
    publicKey: platform.publicKeyPem,
    publicKeyId: platform.publicKeyId,
    clock,
  });
  const codec = new WechatPayV3NotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: client.keys, clock });
  const downloads = () => standIn.requests.filter((r) => r.path === '/v3/certificates').length;
  return { clock, codec, downloads };
}

/** Signed by the attacker's own key, naming `serial`: what anyone can send to the public notify URL. */
function forged(serial: string) {
  return signedNotification({ signer: { privateKey: attacker.privateKey, serial }, now });
}

const garbageSerials = (): string[] => [
  `PUB_KEY_ID_${randomBytes(8).readBigUInt64BE().toString()}`,
  'PUB_KEY_ID_0114232134912410000000000000',
  randomBytes(12).toString('hex'),
  randomBytes(24).toString('base64'),
  `${randomCertificateSerial()}00`,
  randomCertificateSerial().slice(0, 32),
  '../../v3/certificates',
  'x'.repeat(2_000),
];

describe('forged v3 notifications and certificate downloads', () => {
  it('a flood of random and garbage serials causes zero downloads and fast refusals', async () => {
    const { codec, downloads } = await setup();
    const started = performance.now();
    let refused = 0;
    for (let round = 0; round < 25; round += 1) {
      const results = await Promise.all(garbageSerials().map((serial) => codec.verify(forged(serial))));
      refused += results.filter((r) => r.kind === 'rejected').length;
    }
    expect(refused).toBe(200);
    expect(downloads()).toBe(0);
    // 200 refusals, no network: well under a second on this machine.
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('well-formed unknown serials cause at most one download per interval', async () => {
    const { clock, codec, downloads } = await setup();
    for (let i = 0; i < 20; i += 1) {
      const result = await codec.verify(forged(randomCertificateSerial()));
      expect(result.kind).toBe('rejected');
    }
    expect(downloads()).toBe(1);
    clock.advance(59_000);
    await Promise.all(Array.from({ length: 20 }, () => codec.verify(forged(randomCertificateSerial()))));
    expect(downloads()).toBe(1);
    clock.advance(1_000);
    await Promise.all(Array.from({ length: 20 }, () => codec.verify(forged(randomCertificateSerial()))));
    expect(downloads()).toBe(2);
  });

  it('a slow /v3/certificates holds a notification at most the download timeout, once', async () => {
    const { codec, downloads } = await setup({ certificatesDelayMs: 8_000 });
    const started = performance.now();
    const result = await codec.verify(forged(randomCertificateSerial()));
    const elapsed = performance.now() - started;
    expect(result.kind).toBe('rejected');
    // The default budget is one attempt of 1.5 s; before, three attempts of 5 s each.
    expect(elapsed).toBeLessThan(2_000);
    expect(downloads()).toBe(1);
  });

  it('a genuine notification naming a new platform certificate is verified after one download', async () => {
    const { codec, downloads } = await setup();
    expect(await codec.verify(signedNotification({ signer: asPublicKeySigner(platform), now }))).toMatchObject({
      kind: 'trade',
    });
    expect(downloads()).toBe(0);
    expect(await codec.verify(signedNotification({ signer: asCertificateSigner(platform), now }))).toMatchObject({
      kind: 'trade',
    });
    expect(downloads()).toBe(1);
  });
});
