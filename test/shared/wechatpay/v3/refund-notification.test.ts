import { describe, expect, it } from 'vitest';
import { apiV3KeyBytes } from '#shared/wechatpay/v3/aead';
import { KeyRing } from '#shared/wechatpay/v3/key-ring';
import { parseV3Notification } from '#shared/wechatpay/v3/notification';
import { parseV3RefundNotification } from '#shared/wechatpay/v3/refund-notification';
import {
  buildRefundNotification,
  buildTransactionNotification,
  encryptResource,
  signWechatpayMessage,
} from '#shared/wechatpay/v3/testing/wechat-messages';
import {
  TEST_APIV3_KEY,
  TEST_MCHID,
  asPublicKeySigner,
  createPlatformIdentity,
  fixedClock,
  lowerCase,
  paidTransaction,
} from '#test/helpers/wechatpay-v3';

const platform = createPlatformIdentity();
const stranger = createPlatformIdentity();
const signer = asPublicKeySigner(platform);
const now = new Date('2024-06-01T04:00:00Z');
const clock = fixedClock(now);
const ring = new KeyRing(clock);
ring.addPublicKey(platform.publicKeyId, platform.publicKey);
const options = { apiV3Key: apiV3KeyBytes(TEST_APIV3_KEY), keys: ring, now };

/** A refund resource as WeChat's notification carries it: `refund_status`, no `status`. */
function refundResource(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mchid: TEST_MCHID,
    transaction_id: '1217752501201407033233368018',
    out_trade_no: 'ORDER20240001',
    refund_id: '50000000382019052709732678859',
    out_refund_no: 'R20240001-1',
    refund_status: 'SUCCESS',
    success_time: '2024-06-01T12:00:00+08:00',
    user_received_account: '招商银行信用卡0403',
    amount: { total: 1999, refund: 500, payer_total: 1999, payer_refund: 500 },
    ...overrides,
  };
}

function notification(refund: Record<string, unknown>, extra: { eventType?: string; signWith?: typeof signer } = {}) {
  const built = buildRefundNotification({
    refund,
    apiV3Key: TEST_APIV3_KEY,
    signer: extra.signWith ?? signer,
    now,
    id: '1e8b205f-7462-50b3-ad27-4ff18c8cc199',
    ...(extra.eventType !== undefined ? { eventType: extra.eventType } : {}),
  });
  return { headers: lowerCase(built.headers), body: built.body, envelope: built.envelope };
}

/** An envelope of our own making, signed by the platform key. */
function signedBody(envelope: Record<string, unknown>) {
  const body = JSON.stringify(envelope);
  return { headers: lowerCase(signWechatpayMessage(body, signer, { now })), body };
}

describe('parseV3RefundNotification', () => {
  it('reads each result event: refund_status, amounts and ids as WeChat sent them', async () => {
    for (const [status, eventType] of [
      ['SUCCESS', 'REFUND.SUCCESS'],
      ['ABNORMAL', 'REFUND.ABNORMAL'],
      ['CLOSED', 'REFUND.CLOSED'],
    ] as const) {
      const resource = refundResource({
        refund_status: status,
        ...(status === 'SUCCESS' ? {} : { success_time: undefined }),
      });
      const n = notification(resource);
      expect(n.envelope).toMatchObject({
        event_type: eventType,
        resource: { associated_data: 'refund', original_type: 'refund' },
      });
      const result = await parseV3RefundNotification(n, options);
      expect(result).toEqual({
        ok: true,
        eventType,
        id: '1e8b205f-7462-50b3-ad27-4ff18c8cc199',
        createTime: '2024-06-01T12:00:00+08:00',
        refund: JSON.parse(JSON.stringify(resource)) as unknown,
      });
    }
  });

  it('refuses what is not proven WeChat’s, unread: unsigned, another key, tampered, stale, too large', async () => {
    const good = notification(refundResource());
    const { 'wechatpay-signature': _dropped, ...unsigned } = good.headers;
    const cases: Array<[Promise<unknown>, string]> = [
      [parseV3RefundNotification({ headers: unsigned, body: good.body }, options), 'missing_headers'],
      [
        parseV3RefundNotification(
          notification(refundResource(), {
            signWith: { privateKey: stranger.privateKey, serial: platform.publicKeyId },
          }),
          options,
        ),
        'bad_signature',
      ],
      [
        parseV3RefundNotification(
          { headers: good.headers, body: good.body.replace('REFUND.SUCCESS', 'REFUND.CLOSED') },
          options,
        ),
        'bad_signature',
      ],
      [
        parseV3RefundNotification(notification(refundResource(), { signWith: asPublicKeySigner(stranger) }), options),
        'unknown_serial',
      ],
      [parseV3RefundNotification(good, { ...options, now: new Date(now.getTime() + 10 * 60_000) }), 'stale_timestamp'],
      [parseV3RefundNotification(good, { ...options, maxBytes: 100 }), 'too_large'],
    ];
    for (const [pending, failure] of cases) {
      const result = await pending;
      expect(result).toMatchObject({ ok: false, failure });
      expect(result).not.toHaveProperty('signed');
    }
  });

  it('marks signed ones it cannot use: other events, a payment, wrong AAD, a resource with `status`', async () => {
    const payment = buildTransactionNotification({
      transaction: paidTransaction(),
      apiV3Key: TEST_APIV3_KEY,
      signer,
      now,
    });
    const refund = JSON.stringify(refundResource());
    const envelope = (resource: Record<string, unknown>, eventType = 'REFUND.SUCCESS') =>
      signedBody({
        id: 'x',
        create_time: '2024-06-01T12:00:00+08:00',
        resource_type: 'encrypt-resource',
        event_type: eventType,
        summary: '退款成功',
        resource,
      });
    const cases: Array<[{ headers: Record<string, string>; body: string }, string]> = [
      [{ headers: lowerCase(payment.headers), body: payment.body }, 'unsupported_event'],
      [notification(refundResource(), { eventType: 'REFUND.PROCESSING' }), 'unsupported_event'],
      [
        envelope({
          ...encryptResource(refund, TEST_APIV3_KEY, { associatedData: 'refund' }),
          original_type: 'transaction',
        }),
        'unsupported_event',
      ],
      // Encrypted with associated_data "refund", sent claiming another: GCM refuses it.
      [
        envelope({
          ...encryptResource(refund, TEST_APIV3_KEY, { associatedData: 'refund' }),
          associated_data: 'transaction',
          original_type: 'refund',
        }),
        'undecryptable',
      ],
      [
        envelope({ ...encryptResource(refund, 'k'.repeat(32), { associatedData: 'refund' }), original_type: 'refund' }),
        'undecryptable',
      ],
      // Encrypted (and stated) with a payment's associated_data: it decrypts, but it is not a refund's.
      [
        envelope({
          ...encryptResource(refund, TEST_APIV3_KEY, { associatedData: 'transaction' }),
          original_type: 'refund',
        }),
        'undecryptable',
      ],
      [signedBody({ hello: 'world' }), 'invalid_envelope'],
      // The refund API's model (`status`) is not the notification's (`refund_status`).
      [
        notification(refundResource({ refund_status: undefined, status: 'SUCCESS' }), { eventType: 'REFUND.SUCCESS' }),
        'invalid_refund',
      ],
      [
        notification(refundResource({ refund_status: 'PROCESSING' }), { eventType: 'REFUND.SUCCESS' }),
        'invalid_refund',
      ],
      [notification(refundResource({ refund_status: 'CLOSED' }), { eventType: 'REFUND.SUCCESS' }), 'invalid_refund'],
      [notification(refundResource({ amount: { total: 1999, refund: 5.5 } })), 'invalid_refund'],
      [
        notification(refundResource({ mchid: undefined, sp_mchid: '1900000100', sub_mchid: TEST_MCHID })),
        'invalid_refund',
      ],
    ];
    for (const [n, failure] of cases) {
      const result = await parseV3RefundNotification(n, options);
      expect(result).toMatchObject({ ok: false, signed: true, failure });
    }
    const mismatched = await parseV3RefundNotification(
      notification(refundResource({ refund_status: 'CLOSED' }), { eventType: 'REFUND.SUCCESS' }),
      options,
    );
    expect(mismatched).toMatchObject({ outTradeNo: 'ORDER20240001' });
  });

  it('shares the payment parser’s verification, which in turn refuses a refund notification', async () => {
    const n = notification(refundResource());
    expect(await parseV3Notification(n, options)).toMatchObject({
      ok: false,
      signed: true,
      failure: 'unsupported_event',
    });
    const payment = buildTransactionNotification({
      transaction: paidTransaction(),
      apiV3Key: TEST_APIV3_KEY,
      signer,
      now,
    });
    expect(
      await parseV3Notification({ headers: lowerCase(payment.headers), body: payment.body }, options),
    ).toMatchObject({
      ok: true,
    });
  });
});
