import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { WechatPayV3Provider } from '#shared/adapters/wechatpay-v3-provider';
import { WechatPayV3RefundNotificationCodec } from '#shared/adapters/wechatpay-v3-refund-notification-codec';
import type { RefundReport } from '#shared/domain/refund';
import { waitFor } from '#test/helpers/wait-for';

import { WechatPayV3Refunds } from '#shared/adapters/wechatpay-v3-refunds';
import { ProviderError } from '#shared/domain/errors';
import type { RefundSubmission } from '#shared/domain/refund-ports';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import {
  TEST_APIV3_KEY,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  fixedClock,
  startWechatV3StandIn,
} from '#test/helpers/wechatpay-v3';
import type { StandIn, StandInAnswer, StandInRequest } from '#test/helpers/wechatpay-v3';

const merchant = createMerchantIdentity();
const platform = createPlatformIdentity();
const clock = fixedClock('2024-06-01T04:00:00Z');
const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function refunds(handler: (r: StandInRequest) => StandInAnswer) {
  const standIn = await startWechatV3StandIn({ merchant, signer: asPublicKeySigner(platform), handler, clock });
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
    sleep: async () => {},
    maxAttempts: 1,
  });
  return { refunds: new WechatPayV3Refunds(client), standIn };
}

const submission: RefundSubmission = {
  outTradeNo: 'ORDER20240001',
  outRefundNo: 'REFUND20240001',
  refund: 600,
  total: 1999,
  currency: 'CNY',
  reason: '商品已售完',
  notifyUrl: 'https://notify.example.com/notify/refund',
};

/** A refund as v3 answers create and query (`status`, not the notification's `refund_status`). */
function refundAnswer(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    refund_id: '50300000000000000000000000123',
    out_refund_no: 'REFUND20240001',
    transaction_id: '4200001234202401011234567890',
    out_trade_no: 'ORDER20240001',
    channel: 'ORIGINAL',
    user_received_account: '支付用户零钱',
    create_time: '2024-06-01T12:00:00+08:00',
    status: 'PROCESSING',
    funds_account: 'AVAILABLE',
    amount: {
      total: 1999,
      refund: 600,
      from: [],
      payer_total: 1999,
      payer_refund: 600,
      settlement_refund: 600,
      settlement_total: 1999,
      discount_refund: 0,
      currency: 'CNY',
    },
    ...overrides,
  };
}

describe('WechatPayV3Refunds.submitRefund', () => {
  it('sends our refund as v3’s JSON and reports WeChat’s acceptance, with when WeChat accepted it', async () => {
    const { refunds: p, standIn } = await refunds(() => ({ status: 200, body: refundAnswer() }));
    expect(p.apiVersion).toBe('v3');
    expect(await p.submitRefund(submission)).toEqual({
      outTradeNo: 'ORDER20240001',
      outRefundNo: 'REFUND20240001',
      status: 'PROCESSING',
      mchid: merchant.mchid,
      refundId: '50300000000000000000000000123',
      transactionId: '4200001234202401011234567890',
      amount: { refund: 600, total: 1999 },
      userReceivedAccount: '支付用户零钱',
      acceptedAt: '2024-06-01T12:00:00+08:00',
      answerTo: 'submit',
    });
    expect(standIn.requests[0]?.method).toBe('POST');
    expect(standIn.requests[0]?.path).toBe('/v3/refund/domestic/refunds');
    expect(standIn.requests[0]?.json).toMatchObject({
      out_trade_no: 'ORDER20240001',
      out_refund_no: 'REFUND20240001',
      reason: '商品已售完',
      notify_url: 'https://notify.example.com/notify/refund',
      amount: { refund: 600, total: 1999, currency: 'CNY' },
    });
  });

  it('reports a refund WeChat answers as already SUCCESS with its success time', async () => {
    const { refunds: p } = await refunds(() => ({
      status: 200,
      body: refundAnswer({ status: 'SUCCESS', success_time: '2024-06-01T12:00:05+08:00' }),
    }));
    expect(await p.submitRefund(submission)).toMatchObject({
      status: 'SUCCESS',
      successTime: '2024-06-01T12:00:05+08:00',
    });
  });

  it.each([
    [500, 'SYSTEM_ERROR', 'SYSTEMERROR'],
    [403, 'NOT_ENOUGH', 'NOTENOUGH'],
    [429, 'FREQUENCY_LIMITED', 'FREQUENCY_LIMITED'],
  ])('HTTP %i %s is retryable (the same out_refund_no goes again later)', async (status, code, ours) => {
    const { refunds: p } = await refunds(() => ({ status, body: { code, message: '…' } }));
    await expect(p.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      code: ours,
      rawCode: code,
      retryable: true,
      kind: 'business',
    });
  });

  it.each([
    [400, 'INVALID_REQUEST'],
    [400, 'PARAM_ERROR'],
    [403, 'USER_ACCOUNT_ABNORMAL'],
    [403, 'NO_AUTH'],
    [404, 'RESOURCE_NOT_EXISTS'],
  ])('HTTP %i %s is WeChat’s final refusal', async (status, code) => {
    const { refunds: p } = await refunds(() => ({ status, body: { code, message: '…' } }));
    await expect(p.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      rawCode: code,
      retryable: false,
      kind: 'business',
    });
  });

  it('an unsigned error answer is no word of WeChat’s: a retryable transport failure for a 5xx', async () => {
    const { refunds: p } = await refunds(() => ({
      status: 500,
      body: { code: 'INVALID_REQUEST', message: '…' },
      signer: null,
    }));
    const error = await p.submitRefund(submission).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).not.toBe('business');
  });

  it('an answer in another currency cannot be read', async () => {
    const { refunds: p } = await refunds(() => ({
      status: 200,
      body: refundAnswer({ amount: { total: 1999, refund: 600, currency: 'USD' } }),
    }));
    await expect(p.submitRefund(submission)).rejects.toMatchObject({ constructor: ProviderError, retryable: false });
  });
});

describe('WechatPayV3Refunds.queryRefund', () => {
  it.each(['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'])('status %s is reported as is', async (status) => {
    const extra = status === 'SUCCESS' ? { success_time: '2024-06-01T12:01:00+08:00' } : {};
    const { refunds: p, standIn } = await refunds(() => ({ status: 200, body: refundAnswer({ status, ...extra }) }));
    const report = await p.queryRefund('ORDER20240001', 'REFUND20240001');
    expect(report).toEqual({
      outTradeNo: 'ORDER20240001',
      outRefundNo: 'REFUND20240001',
      status,
      mchid: merchant.mchid,
      refundId: '50300000000000000000000000123',
      transactionId: '4200001234202401011234567890',
      amount: { refund: 600, total: 1999 },
      userReceivedAccount: '支付用户零钱',
      acceptedAt: '2024-06-01T12:00:00+08:00',
      answerTo: 'query',
      ...(status === 'SUCCESS' ? { successTime: '2024-06-01T12:01:00+08:00' } : {}),
    });
    expect(standIn.requests[0]?.method).toBe('GET');
    expect(standIn.requests[0]?.path).toBe('/v3/refund/domestic/refunds/REFUND20240001');
  });

  it('RESOURCE_NOT_EXISTS is NOT_FOUND, not an error', async () => {
    const { refunds: p } = await refunds(() => ({
      status: 404,
      body: { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' },
    }));
    expect(await p.queryRefund('ORDER20240001', 'REFUND20240001')).toEqual({
      outTradeNo: 'ORDER20240001',
      outRefundNo: 'REFUND20240001',
      status: 'NOT_FOUND',
      mchid: merchant.mchid,
      answerTo: 'query',
    });
  });

  it('an unsigned 404 RESOURCE_NOT_EXISTS is not WeChat’s word: an error, never NOT_FOUND', async () => {
    const { refunds: p } = await refunds(() => ({
      status: 404,
      body: { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' },
      signer: null,
    }));
    await expect(p.queryRefund('ORDER20240001', 'REFUND20240001')).rejects.toBeInstanceOf(ProviderError);
  });

  it('SYSTEM_ERROR is retryable', async () => {
    const { refunds: p } = await refunds(() => ({ status: 500, body: { code: 'SYSTEM_ERROR', message: '…' } }));
    await expect(p.queryRefund('ORDER20240001', 'REFUND20240001')).rejects.toMatchObject({
      code: 'SYSTEMERROR',
      retryable: true,
    });
  });
});

// ---- Against the simulator: WeChat's rules and its signed, encrypted notifications ----------------

describe('WechatPayV3Refunds against the simulator', () => {
  let sim: RunningSimulator;
  let client: WechatPayV3Client;
  let refunds: WechatPayV3Refunds;
  const notifications: { headers: Record<string, string>; body: string }[] = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      notifications.push({ headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204);
      res.end();
    });
  });
  let receiverUrl = '';
  let orderSeq = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    sim = await startSimulator({
      apiVersion: 'v3',
      merchant: {
        appid: merchant.appid,
        mchid: merchant.mchid,
        apiKey: 'v3MerchantAlsoHoldsAv2Key0000000',
        apiV3Key: TEST_APIV3_KEY,
        merchantPublicKey: merchant.publicKeyPem,
        certSerial: merchant.serial,
      },
    });
    const platformKey = sim.platform;
    if (platformKey === undefined) throw new Error('a v3 simulator has a platform identity');
    client = new WechatPayV3Client({
      baseUrl: sim.url,
      mchid: merchant.mchid,
      appid: merchant.appid,
      privateKey: merchant.privateKeyPem,
      certSerial: merchant.serial,
      apiV3Key: TEST_APIV3_KEY,
      publicKey: platformKey.publicKeyPem,
      publicKeyId: platformKey.publicKeyId,
      sleep: async () => {},
    });
    refunds = new WechatPayV3Refunds(client);
  });
  afterAll(async () => {
    await sim?.close();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  async function paidOrder(total: number): Promise<string> {
    orderSeq += 1;
    const outTradeNo = `RFV3${Date.now()}${orderSeq}`;
    await new WechatPayV3Provider(client).prepay(
      {
        outTradeNo,
        description: 'refund test',
        amount: { total, currency: 'CNY' },
        tradeType: 'NATIVE',
        payerClientIp: '127.0.0.1',
        expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      },
      `${receiverUrl}/notify/pay`,
    );
    const paid = await fetch(`${sim.url}/sandbox/orders/${outTradeNo}/pay`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: 'SUCCESS' }),
    });
    expect(paid.status).toBe(200);
    return outTradeNo;
  }

  const refundOf = (outTradeNo: string, n: number, refund: number, total: number): RefundSubmission => ({
    outTradeNo,
    outRefundNo: `${outTradeNo}R${n}`,
    refund,
    total,
    currency: 'CNY',
    notifyUrl: `${receiverUrl}/notify/refund`,
  });

  async function complete(outRefundNo: string, result: 'SUCCESS' | 'CLOSED' | 'ABNORMAL'): Promise<void> {
    const res = await fetch(`${sim.url}/sandbox/refunds/${outRefundNo}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result }),
    });
    expect(res.status).toBe(200);
  }

  /** The simulator's REFUND.* notification for this refund, verified and read by our codec. */
  async function notifiedReport(outRefundNo: string, status: string): Promise<RefundReport> {
    const codec = new WechatPayV3RefundNotificationCodec({ apiV3Key: TEST_APIV3_KEY, keys: client.keys });
    const found = await waitFor(
      async () => {
        for (const n of notifications) {
          const verified = await codec.verify(n);
          const r = verified.kind === 'refund' ? verified.report : undefined;
          if (r?.outRefundNo === outRefundNo && r.status === status) return r;
        }
        return undefined;
      },
      (r) => r !== undefined,
    );
    return found as RefundReport;
  }

  it('creates, then reports each outcome the same by query and by notification', async () => {
    const outTradeNo = await paidOrder(3000);
    for (const [n, status] of (['SUCCESS', 'CLOSED', 'ABNORMAL'] as const).entries()) {
      const submission = refundOf(outTradeNo, n, 500, 3000);
      const accepted = await refunds.submitRefund(submission);
      expect(accepted).toMatchObject({
        outTradeNo,
        outRefundNo: submission.outRefundNo,
        status: 'PROCESSING',
        mchid: merchant.mchid,
        amount: { refund: 500, total: 3000 },
      });
      expect(accepted.refundId).toMatch(/^\d{29,}$/);
      // WeChat's own time of acceptance, the same whichever answer tells it.
      expect(Number.isNaN(Date.parse(accepted.acceptedAt ?? ''))).toBe(false);

      await complete(submission.outRefundNo, status);
      const queried = await refunds.queryRefund(outTradeNo, submission.outRefundNo);
      expect(accepted.transactionId).toMatch(/^\d{28}$/);
      expect(queried).toMatchObject({
        status,
        refundId: accepted.refundId,
        transactionId: accepted.transactionId,
        amount: { refund: 500, total: 3000 },
        acceptedAt: accepted.acceptedAt,
      });
      if (status === 'SUCCESS') expect(Number.isNaN(Date.parse(queried.successTime ?? ''))).toBe(false);
      else expect(queried).not.toHaveProperty('successTime');

      const notified = await notifiedReport(submission.outRefundNo, status);
      expect(notified).toMatchObject({
        outTradeNo,
        outRefundNo: submission.outRefundNo,
        status,
        mchid: merchant.mchid,
        refundId: accepted.refundId,
        transactionId: accepted.transactionId,
        amount: { refund: 500, total: 3000 },
      });
      if (status === 'SUCCESS') expect(notified.successTime).toBe(queried.successTime);
    }
  });

  it('the same out_refund_no again is the same refund; another amount is WeChat’s final refusal', async () => {
    const outTradeNo = await paidOrder(1000);
    const submission = refundOf(outTradeNo, 0, 400, 1000);
    const first = await refunds.submitRefund(submission);
    expect((await refunds.submitRefund(submission)).refundId).toBe(first.refundId);
    await expect(refunds.submitRefund({ ...submission, refund: 300 })).rejects.toMatchObject({
      constructor: ProviderError,
      retryable: false,
      kind: 'business',
    });
  });

  it('NOT_ENOUGH is retryable, and the same refund goes through once the balance is back', async () => {
    const outTradeNo = await paidOrder(1000);
    const fault = await fetch(`${sim.url}/sandbox/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api: 'notenough', out_trade_no: outTradeNo, times: 1 }),
    });
    expect(fault.status).toBe(200);
    const submission = refundOf(outTradeNo, 0, 100, 1000);
    await expect(refunds.submitRefund(submission)).rejects.toMatchObject({
      constructor: ProviderError,
      code: 'NOTENOUGH',
      retryable: true,
    });
    expect((await refunds.submitRefund(submission)).status).toBe('PROCESSING');
  });

  it('a refund WeChat does not know is NOT_FOUND', async () => {
    expect(await refunds.queryRefund('RFV3UNKNOWN', 'RFV3UNKNOWNR0')).toEqual({
      outTradeNo: 'RFV3UNKNOWN',
      outRefundNo: 'RFV3UNKNOWNR0',
      status: 'NOT_FOUND',
      mchid: merchant.mchid,
      answerTo: 'query',
    });
  });
});
