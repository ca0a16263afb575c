import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { decryptResource } from '#shared/wechatpay/v3/aead';
import type { EncryptedResource } from '#shared/wechatpay/v3/aead';
import { readWechatpaySignature, verifyWechatpaySignature } from '#shared/wechatpay/v3/wechatpay-signature';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { RawReceiver, complete, newOutRefundNo, secapiRefund, refundParams } from './refund-support';
import { callV2, controlPost, newOutTradeNo, pay, waitFor } from './support';
import { APIV3_KEY, V3_MERCHANT, callV3, platformKeys, prepayBody, startV3Simulator, verifyAnswer } from './v3-support';

const REFUNDS = '/v3/refund/domestic/refunds';

async function paidV3Order(
  sim: RunningSimulator,
  total = 1000,
): Promise<{ outTradeNo: string; transactionId: string }> {
  const outTradeNo = newOutTradeNo('V3R');
  const created = await callV3(
    sim,
    'POST',
    '/v3/pay/transactions/native',
    prepayBody(outTradeNo, 'http://127.0.0.1:9/n', { amount: { total, currency: 'CNY' } }),
  );
  if (created.status !== 200) throw new Error(`prepay failed: ${created.text}`);
  const paid = await pay(sim.url, outTradeNo);
  return { outTradeNo, transactionId: paid.json.transaction_id as string };
}

function refundBody(outTradeNo: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    out_trade_no: outTradeNo,
    out_refund_no: newOutRefundNo('V3RF'),
    reason: '一件退货',
    amount: { refund: 300, total: 1000, currency: 'CNY' },
    ...overrides,
  };
}

describe('v3 refunds: POST /v3/refund/domestic/refunds and its query', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startV3Simulator();
  });
  afterAll(async () => {
    await sim.close();
  });

  it("creates a PROCESSING refund (signed, WeChat's Refund); the query agrees; the order reads REFUND", async () => {
    const { outTradeNo, transactionId } = await paidV3Order(sim);
    const body = refundBody(outTradeNo);
    const created = await callV3(sim, 'POST', REFUNDS, body);
    expect(created.status).toBe(200);
    expect((await verifyAnswer(sim, created.headers, created.text)).ok).toBe(true);
    expect(created.json).toMatchObject({
      out_refund_no: body.out_refund_no,
      out_trade_no: outTradeNo,
      transaction_id: transactionId,
      channel: 'ORIGINAL',
      user_received_account: '支付用户零钱',
      status: 'PROCESSING',
      amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300, currency: 'CNY' },
    });
    expect(created.json?.refund_id).toMatch(/^50\d{27}$/);
    expect(created.json?.create_time).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$/);
    expect(created.json?.success_time).toBeUndefined();

    const queried = await callV3(sim, 'GET', `${REFUNDS}/${body.out_refund_no as string}`);
    expect(queried.status).toBe(200);
    expect((await verifyAnswer(sim, queried.headers, queried.text)).ok).toBe(true);
    expect(queried.json).toEqual(created.json);

    const withMchid = await callV3(
      sim,
      'GET',
      `/v3/pay/transactions/out-trade-no/${outTradeNo}?mchid=${V3_MERCHANT.mchid}`,
    );
    expect(withMchid.json).toMatchObject({ trade_state: 'REFUND', transaction_id: transactionId });
  });

  it('answers the same refund for the same content; other content is 400 INVALID_REQUEST', async () => {
    const { outTradeNo } = await paidV3Order(sim);
    const body = refundBody(outTradeNo);
    const first = await callV3(sim, 'POST', REFUNDS, body);
    const again = await callV3(sim, 'POST', REFUNDS, body);
    expect(again.status).toBe(200);
    expect(again.json?.refund_id).toBe(first.json?.refund_id);
    const other = await callV3(sim, 'POST', REFUNDS, {
      ...body,
      amount: { refund: 301, total: 1000, currency: 'CNY' },
    });
    expect(other.status).toBe(400);
    expect(other.json).toMatchObject({ code: 'INVALID_REQUEST' });
    expect(other.json?.message).toContain('请求内容和上次请求不一致');
    const { outTradeNo: another } = await paidV3Order(sim);
    const otherOrder = await callV3(sim, 'POST', REFUNDS, { ...body, out_trade_no: another });
    expect(otherOrder.json?.code).toBe('INVALID_REQUEST');
  });

  it("uses v3's codes: 404 RESOURCE_NOT_EXISTS, 400 PARAM_ERROR, 400 INVALID_REQUEST, 403 NOT_ENOUGH", async () => {
    const { outTradeNo, transactionId } = await paidV3Order(sim);
    const unknown = await callV3(sim, 'POST', REFUNDS, refundBody('NOSUCHORDER42'));
    expect([unknown.status, unknown.json?.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
    const noRefund = await callV3(sim, 'GET', `${REFUNDS}/NOSUCHREFUND`);
    expect([noRefund.status, noRefund.json?.code]).toEqual([404, 'RESOURCE_NOT_EXISTS']);
    const noCurrency = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 1, total: 1000 } }),
    );
    expect([noCurrency.status, noCurrency.json?.code]).toEqual([400, 'PARAM_ERROR']);
    expect(noCurrency.json?.detail).toMatchObject({ location: 'body', field: 'amount.currency' });
    const fraction = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 1.5, total: 1000, currency: 'CNY' } }),
    );
    expect(fraction.json?.code).toBe('PARAM_ERROR');
    const over = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 1001, total: 1000, currency: 'CNY' } }),
    );
    expect([over.status, over.json?.code]).toEqual([400, 'PARAM_ERROR']);
    const wrongTotal = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 1, total: 999, currency: 'CNY' } }),
    );
    expect([wrongTotal.status, wrongTotal.json?.code]).toEqual([400, 'INVALID_REQUEST']);

    const big = refundBody(outTradeNo, {
      out_trade_no: undefined,
      transaction_id: transactionId,
      amount: { refund: 700, total: 1000, currency: 'CNY' },
    });
    expect((await callV3(sim, 'POST', REFUNDS, big)).status).toBe(200);
    const exceeds = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 301, total: 1000, currency: 'CNY' } }),
    );
    expect([exceeds.status, exceeds.json?.code]).toEqual([400, 'INVALID_REQUEST']);
    expect(exceeds.json?.message).toContain('申请退款金额超过订单可退金额');

    try {
      await controlPost(sim.url, '/sandbox/faults', { api: 'notenough', out_trade_no: outTradeNo, times: 1 });
      const poor = await callV3(
        sim,
        'POST',
        REFUNDS,
        refundBody(outTradeNo, { amount: { refund: 1, total: 1000, currency: 'CNY' } }),
      );
      expect([poor.status, poor.json?.code]).toEqual([403, 'NOT_ENOUGH']);
      expect((await verifyAnswer(sim, poor.headers, poor.text)).ok).toBe(true);
    } finally {
      await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    }
  });

  it('shares one pool with v2: a v3 refund shows in v2 refundquery; one refundable balance for both', async () => {
    const { outTradeNo } = await paidV3Order(sim);
    const ids = { appid: V3_MERCHANT.appid, mch_id: V3_MERCHANT.mchid };
    const v3 = await callV3(
      sim,
      'POST',
      REFUNDS,
      refundBody(outTradeNo, { amount: { refund: 600, total: 1000, currency: 'CNY' } }),
    );
    expect(v3.status).toBe(200);
    // The v2 side of the same merchant: its APIv2 key, and its client certificate (CN = its mchid).
    const v2 = await secapiRefund(sim, refundParams(outTradeNo, { ...ids, refund_fee: '600' }));
    expect(v2.fields.err_code).toBe('INVALID_REQUEST');
    const query = await callV2(sim.url, '/pay/refundquery', { ...ids, nonce_str: 'q1', out_trade_no: outTradeNo });
    expect(query.fields).toMatchObject({
      refund_count: '1',
      refund_id_0: v3.json?.refund_id,
      refund_status_0: 'PROCESSING',
    });
  });
});

describe('v3 refund notifications', () => {
  let sim: RunningSimulator;
  let receiver: RawReceiver;

  beforeAll(async () => {
    receiver = await RawReceiver.start();
    receiver.respond = () => ({ status: 204 });
    sim = await startV3Simulator({ timeScale: 600 });
  });
  afterEach(async () => {
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    receiver.respond = () => ({ status: 204 });
  });
  afterAll(async () => {
    await sim.close();
    await receiver.close();
  });

  interface Envelope {
    id: string;
    event_type: string;
    summary: string;
    resource: EncryptedResource & { original_type?: string };
  }
  const read = (body: string) => {
    const envelope = JSON.parse(body) as Envelope;
    return { envelope, resource: JSON.parse(decryptResource(envelope.resource, APIV3_KEY)) as Record<string, unknown> };
  };
  const mine = (outRefundNo: string) =>
    receiver.received.filter((r) => {
      try {
        return read(r.body).resource.out_refund_no === outRefundNo;
      } catch {
        return false;
      }
    });

  it('sends REFUND.SUCCESS after 60 s (scaled): signed, AES-GCM, associated_data "refund", refund_status', async () => {
    const { outTradeNo, transactionId } = await paidV3Order(sim);
    const body = refundBody(outTradeNo, { notify_url: receiver.url });
    const created = await callV3(sim, 'POST', REFUNDS, body);
    const [got] = await waitFor(
      () => mine(body.out_refund_no as string).length > 0 && mine(body.out_refund_no as string),
    );
    const { envelope, resource } = read(got?.body ?? '');
    expect(envelope).toMatchObject({
      event_type: 'REFUND.SUCCESS',
      summary: '退款成功',
      resource_type: 'encrypt-resource',
    });
    expect(envelope.resource).toMatchObject({
      associated_data: 'refund',
      original_type: 'refund',
      algorithm: 'AEAD_AES_256_GCM',
    });
    expect(resource).toMatchObject({
      mchid: V3_MERCHANT.mchid,
      out_trade_no: outTradeNo,
      transaction_id: transactionId,
      refund_id: created.json?.refund_id,
      out_refund_no: body.out_refund_no,
      refund_status: 'SUCCESS',
      user_received_account: '支付用户零钱',
      amount: { total: 1000, refund: 300, payer_total: 1000, payer_refund: 300 },
    });
    expect(resource.status).toBeUndefined();
    expect(resource.success_time).toMatch(/\+08:00$/);
    const headers = new Headers(got?.headers);
    const check = await verifyWechatpaySignature(
      { signature: readWechatpaySignature(headers), body: got?.body ?? '' },
      platformKeys(sim),
      { now: new Date() },
    );
    expect(check.ok).toBe(true);
    const queried = await callV3(sim, 'GET', `${REFUNDS}/${body.out_refund_no as string}`);
    expect(queried.json).toMatchObject({ status: 'SUCCESS', success_time: resource.success_time });
  });

  it('sends REFUND.ABNORMAL then REFUND.CLOSED; retries a non-2xx reply on the schedule with the same id', async () => {
    const { outTradeNo } = await paidV3Order(sim);
    const body = refundBody(outTradeNo, { notify_url: receiver.url });
    const no = body.out_refund_no as string;
    await callV3(sim, 'POST', REFUNDS, body);
    receiver.respond = (_i, r) => (mine(no).length <= 1 && mine(no).includes(r) ? { status: 500 } : { status: 204 });
    await complete(sim, no, 'ABNORMAL');
    const abnormal = await waitFor(() => mine(no).length >= 2 && mine(no));
    expect(abnormal.map((r) => read(r.body).envelope.event_type)).toEqual(['REFUND.ABNORMAL', 'REFUND.ABNORMAL']);
    expect(read(abnormal[1]?.body ?? '').envelope.id).toBe(read(abnormal[0]?.body ?? '').envelope.id);
    expect((abnormal[1]?.at ?? 0) - (abnormal[0]?.at ?? 0)).toBeGreaterThanOrEqual(20);
    expect((await callV3(sim, 'GET', `${REFUNDS}/${no}`)).json?.status).toBe('ABNORMAL');
    await complete(sim, no, 'CLOSED');
    const closed = await waitFor(() => mine(no).length >= 3 && mine(no)[2]);
    const { envelope, resource } = read(closed.body);
    expect([envelope.event_type, resource.refund_status, resource.success_time]).toEqual([
      'REFUND.CLOSED',
      'CLOSED',
      undefined,
    ]);
    expect(envelope.id).not.toBe(read(abnormal[0]?.body ?? '').envelope.id);
  });

  it('corrupt_sign and change_amount apply to v3 refund notifications', async () => {
    const { outTradeNo } = await paidV3Order(sim);
    const refund = async (fault: string) => {
      await controlPost(sim.url, '/sandbox/faults', { notify: fault, out_trade_no: outTradeNo });
      const body = refundBody(outTradeNo, {
        notify_url: receiver.url,
        amount: { refund: 100, total: 1000, currency: 'CNY' },
      });
      await callV3(sim, 'POST', REFUNDS, body);
      await complete(sim, body.out_refund_no as string, 'SUCCESS');
      const no = body.out_refund_no as string;
      const [got] = await waitFor(() => mine(no).length > 0 && mine(no));
      return got;
    };
    const corrupt = await refund('corrupt_sign');
    const check = await verifyWechatpaySignature(
      { signature: readWechatpaySignature(new Headers(corrupt?.headers)), body: corrupt?.body ?? '' },
      platformKeys(sim),
      { now: new Date() },
    );
    expect(check.ok).toBe(false);
    const changed = await refund('change_amount');
    expect(read(changed?.body ?? '').resource.amount).toMatchObject({ refund: 101, payer_refund: 101, total: 1000 });
  });
});
