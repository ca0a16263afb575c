import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { WechatPayV3RefundNotificationCodec } from '#shared/adapters/wechatpay-v3-refund-notification-codec';
import { ValidationError } from '#shared/domain/errors';
import type { VerifiedRefundNotification } from '#shared/domain/refund-ports';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { encryptResource } from '#shared/wechatpay/v3/testing/wechat-messages';
import { PROBE_SIGNATURE_PREFIX } from '#shared/wechatpay/v3/wechatpay-signature';
import {
  TEST_APIV3_KEY,
  TEST_MCHID,
  asCertificateSigner,
  asPublicKeySigner,
  createPlatformIdentity,
  fixedClock,
  signedHeaders,
  type Signer,
} from '#test/helpers/wechatpay-v3';

const now = new Date('2024-06-01T04:00:00Z');
const clock = fixedClock(now);
const publicKeyIdentity = createPlatformIdentity();
const certificateIdentity = createPlatformIdentity();
const ring = new KeyRing(clock);
ring.addPublicKey(publicKeyIdentity.publicKeyId, publicKeyIdentity.publicKeyPem);
ring.addCertificate(certificateIdentity.certificatePem);
const codec = new WechatPayV3RefundNotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: ring, clock });
const signer = asPublicKeySigner(publicKeyIdentity);

const EVENTS = { SUCCESS: 'REFUND.SUCCESS', ABNORMAL: 'REFUND.ABNORMAL', CLOSED: 'REFUND.CLOSED' } as const;
const SUMMARIES = { SUCCESS: '退款成功', ABNORMAL: '退款异常', CLOSED: '退款关闭' } as const;

/** The decrypted resource of a refund notification, as WeChat writes it (refund_status, not status). */
function refundResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mchid: TEST_MCHID,
    transaction_id: '4200001234202401011234567890',
    out_trade_no: 'ORDER20240001',
    refund_id: '50300000000000000000000000123',
    out_refund_no: 'REFUND20240001',
    refund_status: 'SUCCESS',
    success_time: '2024-06-01T11:59:30+08:00',
    user_received_account: '支付用户零钱',
    amount: { total: 1999, refund: 600, payer_total: 1999, payer_refund: 600 },
    ...overrides,
  };
}

interface BuildOptions {
  resource?: Record<string, unknown>;
  eventType?: string;
  associatedData?: string;
  originalType?: string;
  apiV3Key?: string;
  signer?: Signer;
  at?: Date;
}

/** A signed refund notification as the notify endpoint receives it (headers lower-cased). */
function refundNotification(opts: BuildOptions = {}): { headers: Record<string, string>; body: string } {
  const resource = opts.resource ?? refundResource();
  const status = String(resource.refund_status ?? 'SUCCESS') as keyof typeof EVENTS;
  const body = JSON.stringify({
    id: randomUUID(),
    create_time: '2024-06-01T12:00:00+08:00',
    resource_type: 'encrypt-resource',
    event_type: opts.eventType ?? EVENTS[status] ?? 'REFUND.SUCCESS',
    summary: SUMMARIES[status] ?? '退款成功',
    resource: encryptResource(JSON.stringify(resource), opts.apiV3Key ?? TEST_APIV3_KEY, {
      associatedData: opts.associatedData ?? 'refund',
      originalType: opts.originalType ?? 'refund',
    }),
  });
  return { headers: signedHeaders(body, opts.signer ?? signer, opts.at ?? now), body };
}

/** Re-signs a (changed) body so that only the checks after the signature can catch the change. */
function resigned(body: string) {
  return { headers: signedHeaders(body, signer, now), body };
}

/** Not proven WeChat's. */
/** `rotated`: whether a key we do not hold could account for the refusal (the rotation then tries others). */
function expectRejected(result: VerifiedRefundNotification, code: string, rotated?: 'rotated key may explain'): void {
  expect(result).toEqual({
    kind: 'rejected',
    code,
    reason: expect.any(String),
    ...(rotated === undefined ? {} : { rotatedKeyMayExplain: true }),
  });
}

/** Proven WeChat's (the signature verified) but not usable: kept and alarmed on, never applied. */
function expectUnusable(result: VerifiedRefundNotification): void {
  expect(result.kind).toBe('unusable');
}

describe('WechatPayV3RefundNotificationCodec: good notifications', () => {
  it.each([
    ['the WeChat Pay public key', asPublicKeySigner(publicKeyIdentity)],
    ['a platform certificate', asCertificateSigner(certificateIdentity)],
  ])('verifies a REFUND.SUCCESS signed with %s and reports the refund', async (_what, by) => {
    expect(codec.apiVersion).toBe('v3');
    expect(await codec.verify(refundNotification({ signer: by }))).toEqual({
      kind: 'refund',
      report: {
        outTradeNo: 'ORDER20240001',
        outRefundNo: 'REFUND20240001',
        status: 'SUCCESS',
        // From the resource: the domain decides whether it is ours. v3 refund messages carry no appid.
        mchid: TEST_MCHID,
        refundId: '50300000000000000000000000123',
        transactionId: '4200001234202401011234567890',
        amount: { refund: 600, total: 1999 },
        successTime: '2024-06-01T11:59:30+08:00',
        userReceivedAccount: '支付用户零钱',
      },
    });
  });

  it.each(['ABNORMAL', 'CLOSED'] as const)('REFUND.%s reports refund_status %s as is', async (status) => {
    const result = await codec.verify(
      refundNotification({ resource: refundResource({ refund_status: status, success_time: undefined }) }),
    );
    expect(result.kind).toBe('refund');
    if (result.kind === 'refund') {
      expect(result.report.status).toBe(status);
      expect(result.report).not.toHaveProperty('successTime');
      expect(result.report).not.toHaveProperty('appid');
    }
  });

  it('reads the status from refund_status: a resource with only `status` is not silently taken', async () => {
    const { refund_status: _dropped, ...rest } = refundResource();
    const result = await codec.verify(refundNotification({ resource: { ...rest, status: 'SUCCESS' } }));
    expect(result.kind).not.toBe('refund');
    expectUnusable(result);
  });
});

describe('WechatPayV3RefundNotificationCodec: resources that are not a readable refund', () => {
  it('refuses a resource encrypted with a payment’s associated data although the body is signed', async () => {
    const result = await codec.verify(refundNotification({ associatedData: 'transaction' }));
    expect(result.kind).not.toBe('refund');
    expectUnusable(result);
  });

  it('refuses a resource sealed under other associated data than the "refund" its envelope names', async () => {
    const sealedForPayment = refundNotification({ associatedData: 'transaction' });
    const envelope = JSON.parse(sealedForPayment.body) as { resource: { associated_data: string } };
    envelope.resource.associated_data = 'refund';
    const result = await codec.verify(resigned(JSON.stringify(envelope)));
    expect(result.kind).not.toBe('refund');
    expectUnusable(result);
  });

  it('refuses a resource encrypted under another APIv3 key', async () => {
    const result = await codec.verify(refundNotification({ apiV3Key: 'another32ByteApiV3KeyForTests!!!' }));
    expectUnusable(result);
  });

  it('refuses a tampered ciphertext: GCM’s tag catches it even when the body is signed again', async () => {
    const genuine = refundNotification();
    const envelope = JSON.parse(genuine.body) as { resource: { ciphertext: string } };
    const bytes = Buffer.from(envelope.resource.ciphertext, 'base64');
    bytes[5] = (bytes[5] ?? 0) ^ 0x01;
    envelope.resource.ciphertext = bytes.toString('base64');
    const tampered = JSON.stringify(envelope);

    // As it arrives (the signature covers the body): not proven WeChat's.
    expectRejected(
      await codec.verify({ headers: genuine.headers, body: tampered }),
      'BAD_SIGNATURE',
      'rotated key may explain',
    );
    // Even with a valid signature over it: nothing is read.
    const result = await codec.verify(resigned(tampered));
    expect(result.kind).not.toBe('refund');
    expectUnusable(result);
  });

  it('refuses a payment event on the refund endpoint', async () => {
    expectUnusable(await codec.verify(refundNotification({ eventType: 'TRANSACTION.SUCCESS' })));
  });

  it('refuses an unknown refund_status, filed under the order it names', async () => {
    expect(
      await codec.verify(refundNotification({ resource: refundResource({ refund_status: 'REFUNDED' }) })),
    ).toMatchObject({ kind: 'unusable', outTradeNo: 'ORDER20240001' });
  });
});

describe('WechatPayV3RefundNotificationCodec: not proven WeChat’s', () => {
  it('refuses a changed body as BAD_SIGNATURE', async () => {
    const genuine = refundNotification();
    const changed = genuine.body.replace('REFUND.SUCCESS', 'REFUND.CLOSED');
    expectRejected(
      await codec.verify({ headers: genuine.headers, body: changed }),
      'BAD_SIGNATURE',
      'rotated key may explain',
    );
  });

  it('refuses a notification without signature headers as UNSIGNED', async () => {
    expectRejected(await codec.verify({ headers: {}, body: refundNotification().body }), 'UNSIGNED');
  });

  it('refuses a stale timestamp as STALE_TIMESTAMP', async () => {
    const old = refundNotification({ at: new Date(now.getTime() - 10 * 60_000) });
    expectRejected(await codec.verify(old), 'STALE_TIMESTAMP');
  });

  it('refuses an unknown signing key as UNKNOWN_KEY', async () => {
    const stranger = createPlatformIdentity();
    expectRejected(
      await codec.verify(refundNotification({ signer: asPublicKeySigner(stranger) })),
      'UNKNOWN_KEY',
      'rotated key may explain',
    );
  });

  it('refuses WeChat’s signature probe as BAD_SIGNATURE', async () => {
    const genuine = refundNotification();
    const probe = { ...genuine.headers, 'wechatpay-signature': `${PROBE_SIGNATURE_PREFIX}abc` };
    expectRejected(await codec.verify({ headers: probe, body: genuine.body }), 'BAD_SIGNATURE');
  });

  it('refuses an oversized body as TOO_LARGE before anything else', async () => {
    const small = new WechatPayV3RefundNotificationCodec({
      apiV3Key: TEST_APIV3_KEY,
      keys: ring,
      clock,
      maxBodyBytes: 100,
    });
    expectRejected(await small.verify(refundNotification()), 'TOO_LARGE');
  });
});

describe('WechatPayV3RefundNotificationCodec: the rest of the endpoint', () => {
  it('refuses at start-up an APIv3 key that is not 32 bytes', () => {
    expect(() => new WechatPayV3RefundNotificationCodec({ apiV3Key: 'short', keys: ring })).toThrow(ValidationError);
  });

  it('replies as WeChat v3 expects: 204 empty when taken, 500 {"code":"FAIL"} otherwise', () => {
    expect(codec.reply(true, 'x')).toEqual({ statusCode: 204, headers: {}, body: '' });
    const fail = codec.reply(false, 'not processed');
    expect(fail.statusCode).toBe(500);
    expect(JSON.parse(fail.body)).toEqual({ code: 'FAIL', message: 'not processed' });
  });

  it('keeps the signature headers for audit', () => {
    const n = refundNotification();
    expect(Object.keys(codec.auditHeaders(n) ?? {}).sort()).toEqual([
      'wechatpay-nonce',
      'wechatpay-serial',
      'wechatpay-signature',
      'wechatpay-timestamp',
    ]);
  });
});
