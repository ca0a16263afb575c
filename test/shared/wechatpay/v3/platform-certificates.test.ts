import { describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { RefreshingKeySource, decodeCertificatesAnswer } from '#shared/wechatpay/v3/platform-certificates';
import { randomCertificateSerial } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { buildCertificatesAnswer } from '#shared/wechatpay/v3/testing/wechat-messages';
import { TEST_APIV3_KEY, createPlatformIdentity, fixedClock, vectorById } from '#test/helpers/wechatpay-v3';

interface DownloadVector {
  id: string;
  key: string;
  response_json: unknown;
  expected_serial_no: string;
  plaintext: string;
}

const java = vectorById<DownloadVector>('v3-aes-gcm.json', 'java-certificate-download');

function expectCode(fn: () => unknown, code: string): void {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(WechatPayError);
  expect((thrown as WechatPayError).code).toBe(code);
}

describe('decoding a /v3/certificates answer', () => {
  it('decrypts the wechatpay-java download to the certificate whose serial it is listed under', () => {
    const [cert, ...rest] = decodeCertificatesAnswer(java.response_json, java.key);
    expect(rest).toHaveLength(0);
    expect(cert?.serial).toBe(java.expected_serial_no);
    expect(cert?.pem).toBe(java.plaintext);
    expect(cert?.certificate.validTo).toBe('Sep 17 15:15:58 2028 GMT');
  });

  it('refuses a certificate listed under another serial, a wrong key and a malformed answer', () => {
    const answer = structuredClone(java.response_json) as { data: { serial_no: string }[] };
    answer.data[0]!.serial_no = '5DEA10EF55877E3CF6C33255C2E7DEFFF7E427ED';
    expectCode(() => decodeCertificatesAnswer(answer, java.key), 'INVALID_CERTIFICATES');
    expectCode(() => decodeCertificatesAnswer(java.response_json, TEST_APIV3_KEY), 'INVALID_CERTIFICATES');
    expectCode(() => decodeCertificatesAnswer({ data: 'none' }, java.key), 'INVALID_CERTIFICATES');
    expectCode(() => decodeCertificatesAnswer(null, java.key), 'INVALID_CERTIFICATES');
  });

  it('round-trips what buildCertificatesAnswer (the simulator side) produces', () => {
    const a = createPlatformIdentity();
    const b = createPlatformIdentity();
    const answer = buildCertificatesAnswer([{ pem: a.certificatePem }, { pem: b.certificatePem }], TEST_APIV3_KEY);
    expect(answer.data.map((d) => d.serial_no)).toEqual([a.serial, b.serial]);
    expect(answer.data[0]?.encrypt_certificate.associated_data).toBe('certificate');
    expect(answer.data[0]?.expire_time).toBe('2045-01-01T00:00:00+00:00');
    const decoded = decodeCertificatesAnswer(JSON.parse(JSON.stringify(answer)), TEST_APIV3_KEY);
    expect(decoded.map((d) => d.pem)).toEqual([a.certificatePem, b.certificatePem]);
  });
});

describe('RefreshingKeySource', () => {
  function setup(minRefreshIntervalMs = 60_000) {
    const clock = fixedClock('2024-06-01T00:00:00Z');
    const ring = new KeyRing(clock);
    const identity = createPlatformIdentity();
    let refreshes = 0;
    let fail = false;
    const source = new RefreshingKeySource(
      ring,
      async () => {
        refreshes += 1;
        await new Promise((r) => setTimeout(r, 20));
        if (fail) throw new Error('download failed');
        ring.addCertificate(identity.certificatePem);
      },
      clock,
      { minRefreshIntervalMs },
    );
    return { clock, ring, identity, source, refreshes: () => refreshes, failNext: () => (fail = true) };
  }

  it('refreshes once for an unknown serial, shared by concurrent callers, then serves from the ring', async () => {
    const t = setup();
    const keys = await Promise.all([
      t.source.keyFor(t.identity.serial),
      t.source.keyFor(t.identity.serial),
      t.source.keyFor(t.identity.serial),
    ]);
    expect(keys.every((k) => k !== undefined)).toBe(true);
    expect(t.refreshes()).toBe(1);
    await t.source.keyFor(t.identity.serial);
    expect(t.refreshes()).toBe(1);
  });

  it('refreshes at most once per interval however many well-formed unknown serials arrive', async () => {
    const t = setup();
    expect(await t.source.keyFor(randomCertificateSerial())).toBeUndefined();
    expect(await t.source.keyFor(randomCertificateSerial())).toBeUndefined();
    t.clock.advance(59_000);
    expect(await t.source.keyFor(randomCertificateSerial())).toBeUndefined();
    expect(t.refreshes()).toBe(1);
    t.clock.advance(1_000);
    expect(await t.source.keyFor(randomCertificateSerial())).toBeUndefined();
    expect(t.refreshes()).toBe(2);
  });

  it('never refreshes for a public key id or a serial not in the certificate format', async () => {
    const t = setup(0);
    const serials = [
      'PUB_KEY_ID_0114232134912410000000000000',
      'FORGED01',
      randomCertificateSerial().slice(0, 39),
      `${randomCertificateSerial()}0`,
      `${randomCertificateSerial().slice(0, 39)}G`,
      '',
      ' '.repeat(40),
      'x'.repeat(10_000),
    ];
    for (const serial of serials) expect(await t.source.keyFor(serial)).toBeUndefined();
    expect(t.refreshes()).toBe(0);
    expect(await t.source.keyFor(t.identity.serial.toLowerCase())).toBeDefined();
    expect(t.refreshes()).toBe(1);
  });

  it('waits for a slow refresh at most maxWaitMs; the refresh still lands for the next caller', async () => {
    const clock = fixedClock('2024-06-01T00:00:00Z');
    const ring = new KeyRing(clock);
    const identity = createPlatformIdentity();
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const source = new RefreshingKeySource(
      ring,
      async () => {
        await new Promise((r) => setTimeout(r, 400));
        ring.addCertificate(identity.certificatePem);
        finished();
      },
      clock,
      { maxWaitMs: 100 },
    );
    const started = performance.now();
    expect(await source.keyFor(identity.serial)).toBeUndefined();
    expect(performance.now() - started).toBeLessThan(300);
    await done;
    expect(await source.keyFor(identity.serial)).toBeDefined();
    expect(source.refreshes).toBe(1);
  });

  it('answers undefined when the refresh fails', async () => {
    const t = setup();
    t.failNext();
    await expect(t.source.keyFor(t.identity.serial)).resolves.toBeUndefined();
    expect(t.refreshes()).toBe(1);
  });
});
