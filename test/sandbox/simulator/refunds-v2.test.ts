import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { signV2 } from '#shared/wechatpay/v2/sign';
import { RefundReqInfoError } from '#shared/wechatpay/v2/refund-req-info';
import type { Clock } from '#sandbox/simulator/clock';
import { systemClock } from '#sandbox/simulator/clock';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import {
  RawReceiver,
  complete,
  newOutRefundNo,
  paidOrder,
  readV2RefundNotification,
  refundParams,
  refundQuery,
  secapiRefund,
} from './refund-support';
import { FAIL_REPLY, MERCHANT, SUCCESS_REPLY, callV2, controlPost, createOrder, queryParams, waitFor } from './support';

const FEE_MISMATCH = '订单金额或退款金额与之前请求不一致,请核实后再试';

function expectSigned(fields: Record<string, string>): void {
  const { sign, ...rest } = fields;
  expect(sign).toBe(signV2(rest, MERCHANT.apiKey, 'MD5'));
}

describe('v2 refunds: /secapi/pay/refund and /pay/refundquery', () => {
  let sim: RunningSimulator;

  beforeAll(async () => {
    // One minute of WeChat time is a minute here: refunds stay PROCESSING unless completed.
    sim = await startSimulator({ merchant: MERCHANT });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('accepts a partial refund: signed, a 29-digit refund_id, PROCESSING; the order reads REFUND', async () => {
    const { outTradeNo, transactionId } = await paidOrder(sim);
    const params = refundParams(outTradeNo, { refund_fee: '300', refund_desc: '一件退货' });
    const answer = await secapiRefund(sim, params);
    expect(answer.fields).toMatchObject({
      return_code: 'SUCCESS',
      result_code: 'SUCCESS',
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      out_trade_no: outTradeNo,
      transaction_id: transactionId,
      out_refund_no: params.out_refund_no,
      refund_fee: '300',
      total_fee: '1000',
      cash_fee: '1000',
      cash_refund_fee: '300',
    });
    expect(answer.fields.refund_id).toMatch(/^50\d{27}$/);
    expectSigned(answer.fields);

    const query = await refundQuery(sim, { out_refund_no: params.out_refund_no as string });
    expect(query.fields).toMatchObject({
      result_code: 'SUCCESS',
      refund_count: '1',
      out_refund_no_0: params.out_refund_no,
      refund_id_0: answer.fields.refund_id,
      refund_fee_0: '300',
      refund_status_0: 'PROCESSING',
      transaction_id: transactionId,
      total_fee: '1000',
    });
    expect(query.fields.refund_success_time_0).toBeUndefined();
    expectSigned(query.fields);

    const order = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(order.fields.trade_state).toBe('REFUND');
    expect(order.fields.transaction_id).toBe(transactionId);
  });

  it('answers the same refund for the same out_refund_no and amounts; others: REFUND_FEE_MISMATCH', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const params = refundParams(outTradeNo);
    const first = await secapiRefund(sim, params);
    const again = await secapiRefund(sim, { ...params, nonce_str: 'another', refund_desc: 'said differently' });
    expect(again.fields.result_code).toBe('SUCCESS');
    expect(again.fields.refund_id).toBe(first.fields.refund_id);
    const other = await secapiRefund(sim, { ...params, refund_fee: '301' });
    expect(other.fields).toMatchObject({ result_code: 'FAIL', err_code: 'REFUND_FEE_MISMATCH' });
    expect(other.fields.err_code_des).toContain(FEE_MISMATCH);
    const byOrder = await refundQuery(sim, { out_trade_no: outTradeNo });
    expect(byOrder.fields.refund_count).toBe('1');
  });

  it('refuses a total_fee that is not what was paid (REFUND_FEE_MISMATCH), refund_fee over total_fee', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const wrongTotal = await secapiRefund(sim, refundParams(outTradeNo, { total_fee: '999', refund_fee: '100' }));
    expect(wrongTotal.fields).toMatchObject({ result_code: 'FAIL', err_code: 'REFUND_FEE_MISMATCH' });
    const over = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '1001' }));
    expect(over.fields).toEqual({ return_code: 'FAIL', return_msg: 'invalid refund_fee' });
  });

  it('refunds only paid orders (ORDERNOTEXIST), and wants its fields', async () => {
    const { outTradeNo } = await createOrder(sim.url, { total_fee: '1000' });
    const unpaid = await secapiRefund(sim, refundParams(outTradeNo));
    expect(unpaid.fields).toMatchObject({ result_code: 'FAIL', err_code: 'ORDERNOTEXIST' });
    const unknown = await secapiRefund(sim, refundParams('NOSUCHORDER42'));
    expect(unknown.fields.err_code).toBe('ORDERNOTEXIST');
    const missing = await secapiRefund(sim, refundParams(outTradeNo, { out_refund_no: undefined }));
    expect(missing.fields.return_code).toBe('FAIL');
    expect(missing.fields.return_msg).toContain('缺少参数out_refund_no');
    const malformed = await secapiRefund(sim, refundParams(outTradeNo, { out_refund_no: 'has space' }));
    expect(malformed.fields).toMatchObject({ result_code: 'FAIL', err_code: 'PARAM_ERROR' });
  });

  it('keeps refunds within what was paid; closed refunds give their amount back; a full refund is final', async () => {
    const { outTradeNo, transactionId } = await paidOrder(sim);
    const a = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '600' }));
    expect(a.fields.result_code).toBe('SUCCESS');
    const tooMuch = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '600' }));
    expect(tooMuch.fields).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });
    expect(tooMuch.fields.err_code_des).toContain('申请退款金额超过订单可退金额');

    // ABNORMAL still holds its money; CLOSED gives it back.
    expect((await complete(sim, a.fields.out_refund_no as string, 'ABNORMAL')).status).toBe(200);
    expect((await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '600' }))).fields.err_code).toBe(
      'INVALID_REQUEST',
    );
    expect((await complete(sim, a.fields.out_refund_no as string, 'CLOSED')).json.status).toBe('CLOSED');
    // By transaction_id this time (WeChat prefers it over out_trade_no).
    const rest = refundParams('IGNORED', { transaction_id: transactionId, refund_fee: '1000' });
    const full = await secapiRefund(sim, rest);
    expect(full.fields).toMatchObject({ result_code: 'SUCCESS', out_trade_no: outTradeNo });
    expect((await complete(sim, rest.out_refund_no as string, 'SUCCESS')).json.status).toBe('SUCCESS');
    const after = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '1' }));
    expect(after.fields).toMatchObject({
      result_code: 'FAIL',
      err_code: 'ERROR',
      err_code_des: '订单已全额退款 (the order is refunded in full)',
    });

    const query = await refundQuery(sim, { transaction_id: transactionId });
    expect(query.fields.refund_count).toBe('2');
    expect(query.fields.refund_status_0).toBe('REFUNDCLOSE');
    expect(query.fields.refund_status_1).toBe('SUCCESS');
    expect(query.fields.refund_success_time_1).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
  });

  it('allows 50 refunds of an order, not 51; refundquery pages them ten at a time', async () => {
    const { outTradeNo } = await paidOrder(sim, '100');
    const numbers: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      const params = refundParams(outTradeNo, { total_fee: '100', refund_fee: '1' });
      numbers.push(params.out_refund_no as string);
      expect((await secapiRefund(sim, params)).fields.result_code).toBe('SUCCESS');
    }
    const fiftyFirst = await secapiRefund(sim, refundParams(outTradeNo, { total_fee: '100', refund_fee: '1' }));
    expect(fiftyFirst.fields).toMatchObject({ result_code: 'FAIL', err_code: 'INVALID_REQUEST' });

    const firstPage = await refundQuery(sim, { out_trade_no: outTradeNo });
    expect(firstPage.fields.refund_count).toBe('10');
    expect(firstPage.fields.total_refund_count).toBeUndefined();
    expect(firstPage.fields.out_refund_no_0).toBe(numbers[0]);
    const page = await refundQuery(sim, { out_trade_no: outTradeNo, offset: '45' });
    expect(page.fields).toMatchObject({ refund_count: '5', total_refund_count: '50', out_refund_no_0: numbers[45] });
    expect(page.fields.out_refund_no_5).toBeUndefined();
    const past = await refundQuery(sim, { out_trade_no: outTradeNo, offset: '51' });
    expect(past.fields).toMatchObject({ result_code: 'FAIL', err_code: 'PARAM_ERROR' });
  });

  it('finds a refund by refund_id before out_refund_no; REFUNDNOTEXIST for what it does not know', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const a = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '100' }));
    const b = await secapiRefund(sim, refundParams(outTradeNo, { refund_fee: '200' }));
    const byId = await refundQuery(sim, {
      refund_id: b.fields.refund_id as string,
      out_refund_no: a.fields.out_refund_no as string,
    });
    expect(byId.fields).toMatchObject({ refund_count: '1', out_refund_no_0: b.fields.out_refund_no });
    expect((await refundQuery(sim, { out_refund_no: 'NOSUCHREFUND' })).fields.err_code).toBe('REFUNDNOTEXIST');
    const { outTradeNo: noRefunds } = await paidOrder(sim);
    expect((await refundQuery(sim, { out_trade_no: noRefunds })).fields.err_code).toBe('REFUNDNOTEXIST');
  });

  it('takes the API faults: SYSTEMERROR refunds nothing; NOTENOUGH refunds nothing; timeout refunds', async () => {
    const { outTradeNo } = await paidOrder(sim);
    try {
      await controlPost(sim.url, '/sandbox/faults', { api: 'systemerror', out_trade_no: outTradeNo, times: 1 });
      const params = refundParams(outTradeNo);
      expect((await secapiRefund(sim, params)).fields.err_code).toBe('SYSTEMERROR');
      await controlPost(sim.url, '/sandbox/faults', { api: 'notenough', out_trade_no: outTradeNo, times: 1 });
      // An order query is no refund application: it neither sees nor spends "notenough".
      expect(
        (await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }))).fields.result_code,
      ).toBe('SUCCESS');
      expect((await secapiRefund(sim, params)).fields.err_code).toBe('NOTENOUGH');
      expect((await refundQuery(sim, { out_trade_no: outTradeNo })).fields.err_code).toBe('REFUNDNOTEXIST');
      // The same out_refund_no again once it recovers: one refund.
      expect((await secapiRefund(sim, params)).fields.result_code).toBe('SUCCESS');
      expect((await refundQuery(sim, { out_trade_no: outTradeNo })).fields.refund_count).toBe('1');
    } finally {
      await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    }
  });

  it('refuses to complete an unknown or final refund', async () => {
    expect((await complete(sim, 'NOSUCHREFUND', 'SUCCESS')).status).toBe(404);
    const { outTradeNo } = await paidOrder(sim);
    const params = refundParams(outTradeNo);
    await secapiRefund(sim, params);
    expect((await complete(sim, params.out_refund_no as string, 'SUCCESS')).status).toBe(200);
    const again = await complete(sim, params.out_refund_no as string, 'CLOSED');
    expect(again.status).toBe(409);
    expect((again.json.error as { code: string }).code).toBe('REFUND_FINAL');
    expect((await complete(sim, params.out_refund_no as string, 'NOPE')).status).toBe(400);
  });
});

describe('v2 refund completion and notifications', () => {
  let sim: RunningSimulator;
  let receiver: RawReceiver;

  beforeAll(async () => {
    receiver = await RawReceiver.start();
    // 60 s of WeChat time is 100 ms; the retry schedule 25 ms, 25 ms, 50 ms, …
    sim = await startSimulator({ merchant: MERCHANT, timeScale: 600 });
  });
  afterEach(async () => {
    await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
    receiver.respond = () => ({ body: SUCCESS_REPLY });
  });
  afterAll(async () => {
    await sim.close();
    await receiver.close();
  });

  const mine = (outRefundNo: string) =>
    receiver.received.filter((r) => {
      try {
        return readV2RefundNotification(r.body).info.out_refund_no === outRefundNo;
      } catch {
        return false;
      }
    });

  it('is SUCCESS after 60 s (scaled) and notified: unsigned XML, req_info decrypts with the key', async () => {
    const { outTradeNo, transactionId } = await paidOrder(sim);
    const params = refundParams(outTradeNo, { notify_url: receiver.url });
    const answer = await secapiRefund(sim, params);
    const [notification] = await waitFor(() => {
      const got = mine(params.out_refund_no as string);
      return got.length > 0 && got;
    });
    const { envelope, info } = readV2RefundNotification(notification?.body ?? '');
    expect(Object.keys(envelope).sort()).toEqual(['appid', 'mch_id', 'nonce_str', 'req_info', 'return_code']);
    expect(envelope).toMatchObject({ return_code: 'SUCCESS', appid: MERCHANT.appid, mch_id: MERCHANT.mchid });
    expect(info).toMatchObject({
      out_refund_no: params.out_refund_no,
      out_trade_no: outTradeNo,
      transaction_id: transactionId,
      refund_id: answer.fields.refund_id,
      total_fee: '1000',
      refund_fee: '300',
      settlement_refund_fee: '300',
      refund_status: 'SUCCESS',
      refund_recv_accout: '支付用户零钱',
      refund_request_source: 'API',
    });
    expect(info.success_time).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(notification?.headers['content-type']).toMatch(/^text\/xml/);
    const query = await refundQuery(sim, { out_refund_no: params.out_refund_no as string });
    expect(query.fields.refund_status_0).toBe('SUCCESS');
    expect(query.fields.refund_success_time_0).toBe(info.success_time);
  });

  it('notifies ABNORMAL as CHANGE, then the later outcome; retries a failed reply on the schedule', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const params = refundParams(outTradeNo, { notify_url: receiver.url });
    const no = params.out_refund_no as string;
    await secapiRefund(sim, params);
    receiver.respond = (_i, r) =>
      mine(no).length <= 2 && mine(no).includes(r)
        ? { body: FAIL_REPLY }
        : {
            body: SUCCESS_REPLY,
          };
    expect((await complete(sim, no, 'ABNORMAL')).json.status).toBe('ABNORMAL');
    const attempts = await waitFor(() => mine(no).length >= 3 && mine(no));
    expect(attempts.map((r) => readV2RefundNotification(r.body).info.refund_status)).toEqual([
      'CHANGE',
      'CHANGE',
      'CHANGE',
    ]);
    // 15 s then 15 s of WeChat time, scaled 600: 25 ms each at least.
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(20);
    expect((attempts[2]?.at ?? 0) - (attempts[1]?.at ?? 0)).toBeGreaterThanOrEqual(20);
    const debug = (await (await fetch(`${sim.url}/sandbox/refunds/${no}`)).json()) as {
      refund: { status: string; notification: { status: string; attempts: number } };
    };
    expect(debug.refund.notification).toMatchObject({ status: 'delivered', attempts: 3 });
    // ABNORMAL is not final and does not finish on its own.
    await new Promise((r) => setTimeout(r, 200));
    const later = (await (await fetch(`${sim.url}/sandbox/refunds/${no}`)).json()) as typeof debug;
    expect(later.refund.status).toBe('ABNORMAL');
    expect((await refundQuery(sim, { out_refund_no: no })).fields.refund_status_0).toBe('CHANGE');

    expect((await complete(sim, no, 'CLOSED')).json.status).toBe('CLOSED');
    const closed = await waitFor(() => mine(no).length >= 4 && mine(no)[3]);
    expect(readV2RefundNotification(closed.body).info.refund_status).toBe('REFUNDCLOSE');
    expect(readV2RefundNotification(closed.body).info.success_time).toBeUndefined();
  });

  it('takes the notify faults: drop, duplicate, corrupt_sign (req_info not decrypting), change_amount', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const refund = async (fault: string) => {
      await controlPost(sim.url, '/sandbox/faults', { notify: fault, out_trade_no: outTradeNo });
      const params = refundParams(outTradeNo, { refund_fee: '100', notify_url: receiver.url });
      await secapiRefund(sim, params);
      await complete(sim, params.out_refund_no as string, 'SUCCESS');
      return params.out_refund_no as string;
    };
    const dropped = await refund('drop');
    await waitFor(async () => {
      const view = (await (await fetch(`${sim.url}/sandbox/refunds/${dropped}`)).json()) as {
        refund: { notification: { status: string } };
      };
      return view.refund.notification.status === 'dropped';
    });
    expect(mine(dropped)).toHaveLength(0);

    const duplicated = await refund('duplicate');
    await waitFor(() => mine(duplicated).length === 5);

    const before = receiver.received.length;
    await refund('corrupt_sign');
    const corrupt = await waitFor(() => receiver.received.length > before && receiver.received[before]);
    expect(() => readV2RefundNotification(corrupt.body)).toThrow(RefundReqInfoError);

    const changed = await refund('change_amount');
    const [tampered] = await waitFor(() => mine(changed).length > 0 && mine(changed));
    expect(readV2RefundNotification(tampered?.body ?? '').info.refund_fee).toBe('101');
  });

  it('notifies nothing for a refund without notify_url, and no payment notification changes', async () => {
    const { outTradeNo } = await paidOrder(sim);
    const params = refundParams(outTradeNo);
    await secapiRefund(sim, params);
    await waitFor(
      async () =>
        (await refundQuery(sim, { out_refund_no: params.out_refund_no as string })).fields.refund_status_0 ===
        'SUCCESS',
    );
    expect(mine(params.out_refund_no as string)).toHaveLength(0);
  });
});

describe('v2 refund window', () => {
  it('refuses a refund a year after payment: TRADE_OVERDUE (measured on real, unscaled time)', async () => {
    let offset = 0;
    const clock: Clock = { ...systemClock, now: () => Date.now() + offset };
    const sim = await startSimulator({ merchant: MERCHANT, clock, timeScale: 1000 });
    try {
      const { outTradeNo } = await paidOrder(sim);
      offset = 364 * 24 * 3600 * 1000;
      const inTime = await secapiRefund(sim, refundParams(outTradeNo, { out_refund_no: newOutRefundNo() }));
      expect(inTime.fields.result_code).toBe('SUCCESS');
      offset = 366 * 24 * 3600 * 1000;
      const late = await secapiRefund(sim, refundParams(outTradeNo));
      expect(late.fields).toMatchObject({ result_code: 'FAIL', err_code: 'TRADE_OVERDUE' });
    } finally {
      await sim.close();
    }
  });
});
