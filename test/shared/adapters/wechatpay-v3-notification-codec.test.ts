import { describe, expect, it } from 'vitest';
import { WechatPayV3NotificationCodec } from '#shared/adapters/wechatpay-v3-notification-codec';
import { ValidationError } from '#shared/domain/errors';
import type { VerifiedNotification } from '#shared/domain/ports';
import { encryptResource } from '#shared/wechatpay/v3/testing/wechat-messages';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { PROBE_SIGNATURE_PREFIX } from '#shared/wechatpay/v3/wechatpay-signature';
import {
  TEST_APIV3_KEY,
  asCertificateSigner,
  asPublicKeySigner,
  createPlatformIdentity,
  fixedClock,
  paidTransaction,
  signedHeaders,
  signedNotification,
  vectorById,
} from '#test/helpers/wechatpay-v3';
import { loadVectors } from '#test/helpers/vectors';

const now = new Date('2024-06-01T04:00:00Z');
const clock = fixedClock(now);
// A migrating merchant: WeChat Pay public key and a platform certificate, different key pairs.
const publicKeyIdentity = createPlatformIdentity();
const certificateIdentity = createPlatformIdentity();
const ring = new KeyRing(clock);
ring.addPublicKey(publicKeyIdentity.publicKeyId, publicKeyIdentity.publicKeyPem);
ring.addCertificate(certificateIdentity.certificatePem);
const codec = new WechatPayV3NotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: ring, clock });

/** Not proven WeChat's. */
function expectRejected(result: VerifiedNotification, reason: RegExp): void {
  expect(result.kind).toBe('rejected');
  if (result.kind === 'rejected') expect(result.reason).toMatch(reason);
}

/** Proven WeChat's (the signature verified), but not usable here: kept and alarmed on, never taken for a forgery. */
function expectUnusable(result: VerifiedNotification, reason: RegExp): void {
  expect(result.kind).toBe('unusable');
  if (result.kind === 'unusable') expect(result.reason).toMatch(reason);
}

/** Re-signs a (changed) body so that only the later checks can catch the change. */
function resigned(body: string) {
  return { headers: signedHeaders(body, asPublicKeySigner(publicKeyIdentity), now), body };
}

describe('WechatPayV3NotificationCodec: good notifications', () => {
  it.each([
    ['the WeChat Pay public key', asPublicKeySigner(publicKeyIdentity)],
    ['a platform certificate', asCertificateSigner(certificateIdentity)],
  ])('verifies one signed with %s and reports the trade', async (_what, signer) => {
    const result = await codec.verify(signedNotification({ signer, now }));
    expect(result).toEqual({
      kind: 'trade',
      report: {
        outTradeNo: 'ORDER20240001',
        state: 'SUCCESS',
        appid: 'wx8888888888888888',
        mchid: '1900000109',
        description: '支付成功',
        amount: { total: 1999, currency: 'CNY' },
        payment: {
          transactionId: '4200001234202401011234567890',
          amountTotal: 1999,
          currency: 'CNY',
          paidAt: '2024-01-01T12:00:30+08:00',
          bankType: 'OTHERS',
          payerOpenid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
        },
      },
    });
  });

  it('decodes the official envelope with the verified easywechat resource (signed by us)', async () => {
    const payloads = loadVectors<{
      payloads: { id: string; apiv3_key?: string; body: unknown; resource_plaintext?: Record<string, unknown> }[];
    }>('notify-payloads.json').payloads;
    const envelope = payloads.find((p) => p.id === 'v3-notify-envelope-decryptable')!;
    const official = new WechatPayV3NotificationCodec({ apiV3Key: envelope.apiv3_key!, keys: ring, clock });
    const result = await official.verify(resigned(JSON.stringify(envelope.body)));
    expect(result).toMatchObject({
      kind: 'trade',
      report: {
        outTradeNo: '1217752501201407033233368018',
        appid: 'wxd678efh567hg6787',
        mchid: '1230000109',
        state: 'SUCCESS',
        amount: { total: 100, currency: 'CNY' },
        payment: {
          transactionId: '1217752501201407033233368018',
          amountTotal: 100,
          paidAt: '2018-06-08T10:34:56+08:00',
          bankType: 'CMC',
        },
      },
    });
  });

  it('reports the amount as WeChat sent it (the domain compares it with the order)', async () => {
    const result = await codec.verify(
      signedNotification({
        signer: asPublicKeySigner(publicKeyIdentity),
        now,
        transaction: paidTransaction({ amount: { total: 1, currency: 'CNY' } }),
      }),
    );
    expect(result).toMatchObject({ kind: 'trade', report: { amount: { total: 1 }, payment: { amountTotal: 1 } } });
  });
});

describe('the wechatpay-go signed notification (published vector)', () => {
  interface GoNotification {
    id: string;
    pinned_now_unix: number;
    headers: Record<string, string>;
    raw_body: string;
    certificate_pem: string;
    apiv3_key: string;
  }
  const go = vectorById<GoNotification>('v3-rsa-sha256.json', 'go-notify-full-request');
  const headers = Object.fromEntries(Object.entries(go.headers).map(([k, v]) => [k.toLowerCase(), v]));
  const pinned = fixedClock(new Date(go.pinned_now_unix * 1000));
  const goRing = new KeyRing(pinned);
  goRing.addCertificate(go.certificate_pem);

  it('cannot be decoded with its 16-byte key: the codec refuses that key at construction', () => {
    expect(() => new WechatPayV3NotificationCodec({ apiV3Key: go.apiv3_key, keys: goRing, clock: pinned })).toThrow(
      ValidationError,
    );
  });

  it('passes the signature check with the clock pinned, then is refused as a non-payment event', async () => {
    const goCodec = new WechatPayV3NotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: goRing, clock: pinned });
    expectUnusable(
      await goCodec.verify({ headers, body: go.raw_body }),
      /^unsupported event_type PAYSCORE\.USER_OPEN_SERVICE$/,
    );
  });

  it('is refused as stale with the real clock', async () => {
    const realCodec = new WechatPayV3NotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: goRing });
    expectRejected(await realCodec.verify({ headers, body: go.raw_body }), /stale_timestamp/);
  });
});

describe('WechatPayV3NotificationCodec: hostile notifications change nothing', () => {
  const signer = asPublicKeySigner(publicKeyIdentity);
  const good = () => signedNotification({ signer, now });

  it('refuses an APIv3 key that is not 32 bytes at construction', () => {
    expect(() => new WechatPayV3NotificationCodec({ apiV3Key: 'testMchAPIv3Key0', keys: ring })).toThrow(
      ValidationError,
    );
  });

  it('bad signature: body changed after signing', async () => {
    const n = good();
    expectRejected(
      await codec.verify({ ...n, body: n.body.replace('"TRANSACTION.SUCCESS"', '"TRANSACTION.SUCCESS" ') }),
      /bad_signature/,
    );
  });

  it('wrong serial: a valid signature by a key we do not hold', async () => {
    expectRejected(
      await codec.verify(signedNotification({ signer: asCertificateSigner(createPlatformIdentity()), now })),
      /unknown_serial/,
    );
  });

  it('wrong key for the serial', async () => {
    expectRejected(
      await codec.verify(
        signedNotification({
          signer: { privateKey: certificateIdentity.privateKey, serial: publicKeyIdentity.publicKeyId },
          now,
        }),
      ),
      /bad_signature/,
    );
  });

  it('probe signature', async () => {
    const n = good();
    const headers = {
      ...n.headers,
      'wechatpay-signature': `${PROBE_SIGNATURE_PREFIX}${n.headers['wechatpay-signature']}`,
    };
    expectRejected(await codec.verify({ ...n, headers }), /\(probe\)/);
  });

  it('stale timestamp (more than 5 minutes either way)', async () => {
    for (const offset of [-301_000, 301_000]) {
      expectRejected(
        await codec.verify(signedNotification({ signer, now: new Date(now.getTime() + offset) })),
        /stale_timestamp/,
      );
    }
    expect((await codec.verify(signedNotification({ signer, now: new Date(now.getTime() - 299_000) }))).kind).toBe(
      'trade',
    );
  });

  it('missing signature headers', async () => {
    const { 'wechatpay-serial': _serial, ...headers } = good().headers;
    expectRejected(await codec.verify({ headers, body: good().body }), /missing_headers/);
  });

  it('tampered ciphertext (re-signed, so only GCM can catch it)', async () => {
    const envelope = JSON.parse(good().body) as { resource: { ciphertext: string } };
    const bytes = Buffer.from(envelope.resource.ciphertext, 'base64');
    bytes[5] = (bytes[5] ?? 0) ^ 0x80;
    envelope.resource.ciphertext = bytes.toString('base64');
    expectUnusable(await codec.verify(resigned(JSON.stringify(envelope))), /resource not decrypted/);
  });

  it('wrong associated_data (re-signed)', async () => {
    const envelope = JSON.parse(good().body) as { resource: { associated_data: string } };
    envelope.resource.associated_data = 'certificate';
    expectUnusable(await codec.verify(resigned(JSON.stringify(envelope))), /resource not decrypted/);
  });

  it('resource encrypted under another APIv3 key', async () => {
    const n = signedNotification({ signer, now, apiV3Key: 'another-32-byte-apiv3-key-000000' });
    expectUnusable(await codec.verify(n), /resource not decrypted/);
  });

  it('oversized body, checked before anything else', async () => {
    const n = good();
    const big = new WechatPayV3NotificationCodec({
      apiV3Key: TEST_APIV3_KEY,
      keys: ring,
      clock,
      maxBodyBytes: n.body.length - 1,
    });
    expectRejected(await big.verify(n), /larger than/);
    expect((await codec.verify({ ...n, body: `${n.body}${' '.repeat(64 * 1024)}` })).kind).toBe('rejected');
  });

  it('signed but malformed: not JSON, not an envelope, another event, another resource type', async () => {
    expectUnusable(await codec.verify(resigned('<xml>v2?</xml>')), /not a v3 notification envelope/);
    expectUnusable(await codec.verify(resigned(JSON.stringify({ id: 'x' }))), /not a v3 notification envelope/);
    const envelope = JSON.parse(good().body) as Record<string, unknown> & { resource: Record<string, unknown> };
    expectUnusable(
      await codec.verify(resigned(JSON.stringify({ ...envelope, event_type: 'REFUND.SUCCESS' }))),
      /unsupported event_type/,
    );
    expectUnusable(
      await codec.verify(
        resigned(JSON.stringify({ ...envelope, resource: { ...envelope.resource, original_type: 'refund' } })),
      ),
      /unsupported original_type/,
    );
    expectUnusable(
      await codec.verify(
        resigned(JSON.stringify({ ...envelope, resource: { ...envelope.resource, algorithm: 'AEAD_SM4_GCM' } })),
      ),
      /not a v3 notification envelope/,
    );
  });

  it('decrypts to something that is not a transaction: unusable, naming the order when it can', async () => {
    const envelope = JSON.parse(good().body) as Record<string, unknown>;
    const resource = encryptResource(
      JSON.stringify({ out_trade_no: 'ORDER20240001', trade_state: 'SUCCESS' }),
      TEST_APIV3_KEY,
      {
        associatedData: 'transaction',
        originalType: 'transaction',
      },
    );
    const result = await codec.verify(resigned(JSON.stringify({ ...envelope, resource })));
    expect(result).toMatchObject({ kind: 'unusable', outTradeNo: 'ORDER20240001' });
  });

  it('another currency or a payment without facts: unusable, with the order named', async () => {
    for (const transaction of [
      paidTransaction({ amount: { total: 1999, currency: 'USD' } }),
      paidTransaction({ success_time: undefined }),
    ]) {
      const result = await codec.verify(signedNotification({ signer, now, transaction }));
      expect(result).toMatchObject({ kind: 'unusable', outTradeNo: 'ORDER20240001' });
    }
  });
});

describe('WechatPayV3NotificationCodec.reply', () => {
  it('204 with no body on success', () => {
    expect(codec.reply(true, 'OK')).toEqual({ statusCode: 204, headers: {}, body: '' });
  });

  it('500 with {"code":"FAIL","message"} on failure, so WeChat retries', () => {
    const reply = codec.reply(false, 'storage unavailable');
    expect(reply.statusCode).toBe(500);
    expect(reply.headers['Content-Type']).toMatch(/^application\/json/);
    expect(JSON.parse(reply.body)).toEqual({ code: 'FAIL', message: 'storage unavailable' });
    expect(JSON.parse(codec.reply(false, 'x'.repeat(1000)).body).message).toHaveLength(256);
  });
});

describe('WechatPayV3NotificationCodec: how a refusal is coded', () => {
  const signer = asPublicKeySigner(publicKeyIdentity);
  const good = () => signedNotification({ signer, now });
  const rotatedKeyMayExplain = (result: VerifiedNotification) =>
    result.kind !== 'trade' && result.rotatedKeyMayExplain === true;

  it('codes each way a notification is not proven WeChat’s, and says which a rotated key explains', async () => {
    const n = good();
    const cases: Array<[{ headers: Record<string, string>; body: string }, string, boolean]> = [
      [{ ...n, body: `${n.body} ` }, 'BAD_SIGNATURE', true],
      [signedNotification({ signer: asCertificateSigner(createPlatformIdentity()), now }), 'UNKNOWN_KEY', true],
      [{ ...n, headers: { ...n.headers, 'wechatpay-serial': 'not-a-serial' } }, 'UNKNOWN_KEY', false],
      [
        {
          ...n,
          headers: {
            ...n.headers,
            'wechatpay-signature': `${PROBE_SIGNATURE_PREFIX}${n.headers['wechatpay-signature']}`,
          },
        },
        'BAD_SIGNATURE',
        false,
      ],
      [signedNotification({ signer, now: new Date(now.getTime() - 301_000) }), 'STALE_TIMESTAMP', false],
      [{ headers: { 'content-type': 'application/json' }, body: n.body }, 'UNSIGNED', false],
      [{ ...n, body: `${n.body}${' '.repeat(64 * 1024)}` }, 'TOO_LARGE', false],
    ];
    for (const [notification, code, rotated] of cases) {
      const result = await codec.verify(notification);
      expect(result).toMatchObject({ kind: 'rejected', code });
      expect(rotatedKeyMayExplain(result)).toBe(rotated);
    }
  });

  it('says a rotated APIv3 key explains a resource that does not decrypt, and no other unusable one', async () => {
    const otherKey = signedNotification({ signer, now, apiV3Key: 'another-32-byte-apiv3-key-000000' });
    expect(rotatedKeyMayExplain(await codec.verify(otherKey))).toBe(true);
    const envelope = JSON.parse(good().body) as Record<string, unknown>;
    const refund = resigned(JSON.stringify({ ...envelope, event_type: 'REFUND.SUCCESS' }));
    const result = await codec.verify(refund);
    expect(result.kind).toBe('unusable');
    expect(rotatedKeyMayExplain(result)).toBe(false);
  });
});
