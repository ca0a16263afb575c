import { afterEach, describe, expect, it } from 'vitest';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import type { V3RefundInput } from '#shared/wechatpay/v3/client';
import {
  TEST_APIV3_KEY,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  fixedClock,
  startWechatV3StandIn,
} from '#test/helpers/wechatpay-v3';
import type { StandIn, StandInAnswer, StandInRequest } from '#test/helpers/wechatpay-v3';

/** createRefund and queryRefund against a loopback stand-in that checks our signature and signs its answers. */

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const now = new Date('2024-06-01T04:00:00Z');

const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function setup(handler: (request: StandInRequest, index: number) => StandInAnswer) {
  const clock = fixedClock(now);
  let count = 0;
  const standIn = await startWechatV3StandIn({
    merchant,
    signer: asPublicKeySigner(platform),
    handler: (request) => handler(request, count++),
    clock,
  });
  standIns.push(standIn);
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
    sleep: async () => undefined,
  });
  return { client, standIn };
}

const INPUT: V3RefundInput = {
  outTradeNo: 'ORDER20240001',
  outRefundNo: 'R-20240001|1@x*',
  reason: '商品已售完',
  notifyUrl: 'https://merchant.example.com/notify/refund',
  amount: { refund: 500, total: 1999, currency: 'CNY' },
};

/** WeChat's refund JSON (the API's model: `status`). */
function refundBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    refund_id: '50000000382019052709732678859',
    out_refund_no: INPUT.outRefundNo,
    transaction_id: '1217752501201407033233368018',
    out_trade_no: INPUT.outTradeNo,
    channel: 'ORIGINAL',
    user_received_account: '招商银行信用卡0403',
    create_time: '2024-06-01T12:00:00+08:00',
    status: 'PROCESSING',
    funds_account: 'AVAILABLE',
    amount: {
      total: 1999,
      refund: 500,
      from: [],
      payer_total: 1999,
      payer_refund: 500,
      settlement_refund: 500,
      settlement_total: 1999,
      discount_refund: 0,
      currency: 'CNY',
      refund_fee: 3,
    },
    promotion_detail: [],
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<WechatPayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WechatPayError);
  return err as WechatPayError;
}

describe('createRefund (POST /v3/refund/domestic/refunds)', () => {
  it('sends a signed JSON body with WeChat’s field names and returns the verified refund', async () => {
    const { client, standIn } = await setup(() => ({ status: 200, body: refundBody() }));
    const refund = await client.createRefund(INPUT);
    const [req] = standIn.requests;
    expect(req?.method).toBe('POST');
    expect(req?.path).toBe('/v3/refund/domestic/refunds');
    expect(req?.authorization.ok).toBe(true);
    expect(req?.json).toEqual({
      out_trade_no: INPUT.outTradeNo,
      out_refund_no: INPUT.outRefundNo,
      reason: '商品已售完',
      notify_url: INPUT.notifyUrl,
      amount: { refund: 500, total: 1999, currency: 'CNY' },
    });
    expect(refund).toMatchObject({
      refund_id: '50000000382019052709732678859',
      out_refund_no: INPUT.outRefundNo,
      status: 'PROCESSING',
      create_time: '2024-06-01T12:00:00+08:00',
      amount: { total: 1999, refund: 500, currency: 'CNY', refund_fee: 3 },
    });
  });

  it('names the order by transaction_id when asked, and defaults the currency to CNY', async () => {
    const { client, standIn } = await setup(() => ({ status: 200, body: refundBody() }));
    await client.createRefund({
      transactionId: '1217752501201407033233368018',
      outRefundNo: INPUT.outRefundNo,
      amount: { refund: 500, total: 1999 },
    });
    expect(standIn.requests[0]?.json).toEqual({
      transaction_id: '1217752501201407033233368018',
      out_refund_no: INPUT.outRefundNo,
      amount: { refund: 500, total: 1999, currency: 'CNY' },
    });
  });

  it('retries SYSTEM_ERROR with the same out_refund_no, then succeeds', async () => {
    const { client, standIn } = await setup((_req, i) =>
      i === 0
        ? { status: 500, body: { code: 'SYSTEM_ERROR', message: '系统超时' } }
        : { status: 200, body: refundBody() },
    );
    await expect(client.createRefund(INPUT)).resolves.toMatchObject({ status: 'PROCESSING' });
    expect(standIn.requests).toHaveLength(2);
    expect(standIn.requests[0]?.body).toBe(standIn.requests[1]?.body);
  });

  it('gives NOT_ENOUGH and FREQUENCY_LIMITED back retryable (later) without retrying them itself', async () => {
    for (const [status, code, ours] of [
      [403, 'NOT_ENOUGH', 'NOTENOUGH'],
      [429, 'FREQUENCY_LIMITED', 'FREQUENCY_LIMITED'],
    ] as const) {
      const { client, standIn } = await setup(() => ({
        status,
        body: { code, message: '基本账户余额不足，请充值后重新发起' },
      }));
      const err = await failure(client.createRefund(INPUT));
      expect([err.code, err.rawCode, err.retryable, err.kind, err.httpStatus]).toEqual([
        ours,
        code,
        true,
        'business',
        status,
      ]);
      expect(standIn.requests).toHaveLength(1);
    }
  });

  it('business refusals are final: INVALID_REQUEST, USER_ACCOUNT_ABNORMAL, NO_AUTH, RESOURCE_NOT_EXISTS', async () => {
    for (const [status, code] of [
      [400, 'INVALID_REQUEST'],
      [403, 'USER_ACCOUNT_ABNORMAL'],
      [403, 'NO_AUTH'],
      [404, 'RESOURCE_NOT_EXISTS'],
    ] as const) {
      const { client, standIn } = await setup(() => ({
        status,
        body: { code, message: '申请退款金额超过订单可退金额' },
      }));
      const err = await failure(client.createRefund(INPUT));
      expect(err.retryable).toBe(false);
      expect(err.rawCode).toBe(code);
      expect(standIn.requests).toHaveLength(1);
    }
  });

  it('trusts no unsigned error nor an answer about another refund or amount', async () => {
    const unsigned = await setup(() => ({ status: 403, body: { code: 'NOT_ENOUGH' }, signer: null }));
    const err = await failure(unsigned.client.createRefund(INPUT));
    expect([err.code, err.kind]).toEqual(['HTTP_403', 'transport']);
    for (const body of [
      refundBody({ out_refund_no: 'another' }),
      refundBody({ amount: { total: 1999, refund: 1999 } }),
      refundBody({ out_trade_no: 'ORDER-OTHER' }),
      refundBody({ status: 'REFUNDED' }),
      refundBody({ create_time: undefined }),
    ]) {
      const { client } = await setup(() => ({ status: 200, body }));
      await expect(client.createRefund(INPUT)).rejects.toMatchObject({ code: 'INVALID_RESPONSE', retryable: false });
    }
    const forged = await setup(() => ({
      status: 200,
      body: refundBody(),
      signer: { privateKey: createPlatformIdentity().privateKey, serial: platform.publicKeyId },
    }));
    await expect(forged.client.createRefund(INPUT)).rejects.toMatchObject({ code: 'INVALID_SIGNATURE' });
  });

  it('validates the input before anything is sent', async () => {
    const { client, standIn } = await setup(() => ({ status: 200, body: refundBody() }));
    const bad: Array<[Partial<V3RefundInput>, string]> = [
      [{ amount: { refund: 2000, total: 1999 } }, 'amount.refund'],
      [{ amount: { refund: 0, total: 1999 } }, 'amount.refund'],
      [{ transactionId: '1217752501201407033233368018' }, 'outTradeNo'],
      [{ outRefundNo: 'with space' }, 'outRefundNo'],
      [{ reason: '退'.repeat(81) }, 'reason'],
      [{ notifyUrl: 'https://merchant.example.com/n?x=1' }, 'notifyUrl'],
    ];
    for (const [change, field] of bad) {
      await expect(client.createRefund({ ...INPUT, ...change })).rejects.toMatchObject({
        name: 'WechatPayValidationError',
        field,
      });
    }
    expect(() => client.checkRefund({ ...INPUT, amount: { refund: 1, total: 0 } })).toThrow(WechatPayValidationError);
    expect(standIn.requests).toHaveLength(0);
  });
});

describe('queryRefund (GET /v3/refund/domestic/refunds/{out_refund_no})', () => {
  it('asks by out_refund_no (escaped in the path) and returns the refund with its status', async () => {
    const { client, standIn } = await setup(() => ({
      status: 200,
      body: refundBody({ status: 'SUCCESS', success_time: '2024-06-01T12:00:30+08:00' }),
    }));
    await expect(client.queryRefund(INPUT.outRefundNo)).resolves.toMatchObject({
      status: 'SUCCESS',
      success_time: '2024-06-01T12:00:30+08:00',
    });
    const [req] = standIn.requests;
    expect(req?.method).toBe('GET');
    expect(req?.path).toBe(`/v3/refund/domestic/refunds/${encodeURIComponent(INPUT.outRefundNo)}`);
    expect(decodeURIComponent(req?.path.split('/').pop() ?? '')).toBe(INPUT.outRefundNo);
    expect(req?.authorization.ok).toBe(true);
  });

  it('says RESOURCE_NOT_EXISTS for a refund WeChat does not know, and retries SYSTEM_ERROR', async () => {
    const missing = await setup(() => ({
      status: 404,
      body: { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' },
    }));
    const err = await failure(missing.client.queryRefund('R-unknown'));
    expect([err.code, err.retryable, err.kind]).toEqual(['RESOURCE_NOT_EXISTS', false, 'business']);
    const flaky = await setup((_req, i) =>
      i === 0 ? { status: 500, body: { code: 'SYSTEM_ERROR' } } : { status: 200, body: refundBody() },
    );
    await expect(flaky.client.queryRefund(INPUT.outRefundNo)).resolves.toMatchObject({ status: 'PROCESSING' });
    expect(flaky.standIn.requests).toHaveLength(2);
  });

  it('refuses an answer about another refund, and a malformed out_refund_no before sending', async () => {
    const { client, standIn } = await setup(() => ({ status: 200, body: refundBody({ out_refund_no: 'other' }) }));
    await expect(client.queryRefund(INPUT.outRefundNo)).rejects.toMatchObject({ code: 'INVALID_RESPONSE' });
    await expect(client.queryRefund('bad/no')).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(standIn.requests).toHaveLength(1);
  });
});
