import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_BILL_COLUMNS, BILL_SUMMARY_COLUMNS } from '#shared/wechatpay/bills/trade-bill';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, downloadBillV2, nextDate, readBill, sandboxBill, setBillFaults } from './bills-support';
import { complete, newOutRefundNo, refundParams, secapiRefund } from './refund-support';
import { MERCHANT, callV2, createOrder, newOutTradeNo, pay, queryParams } from './support';

const compact = (date: string) => date.replace(/-/g, '');

describe('v2 POST /pay/downloadbill', () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;
  /** A past day with paid, unpaid, closed and refunded orders, and the day after it. */
  const day = daysAgo(5);
  const dayAfter = nextDate(day);
  const made: Record<string, string> = {};

  beforeAll(async () => {
    sim = await startSimulator({ merchant: MERCHANT, clock });
    clock.setBeijing(`${day} 09:15:00`);
    const paid = await createOrder(sim.url, {
      out_trade_no: newOutTradeNo('BPAID'),
      total_fee: '1000',
      trade_type: 'JSAPI',
      attach: 'note-1',
    });
    made.paid = paid.outTradeNo;
    made.paidTxn = (await pay(sim.url, paid.outTradeNo, 'SUCCESS', 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o')).json
      .transaction_id as string;
    made.paidAt = `${day} 09:15:0`; // seconds checked by prefix: the calls take a moment
    made.unpaid = (await createOrder(sim.url, { out_trade_no: newOutTradeNo('BUNPAID'), total_fee: '700' })).outTradeNo;
    made.closed = (await createOrder(sim.url, { out_trade_no: newOutTradeNo('BCLOSED'), total_fee: '800' })).outTradeNo;
    clock.advance(6 * 60_000);
    const closed = await callV2(sim.url, '/pay/closeorder', queryParams({ out_trade_no: made.closed }));
    expect(closed.fields.result_code).toBe('SUCCESS');

    clock.setBeijing(`${day} 15:00:00`);
    const refunded = await createOrder(sim.url, { out_trade_no: newOutTradeNo('BREFUND'), total_fee: '2000' });
    made.refunded = refunded.outTradeNo;
    await pay(sim.url, refunded.outTradeNo);
    clock.setBeijing(`${day} 16:00:00`);
    made.refundDone = newOutRefundNo('BRFD');
    const done = await secapiRefund(
      sim,
      refundParams(made.refunded, { out_refund_no: made.refundDone, total_fee: '2000', refund_fee: '500' }),
    );
    made.refundDoneId = done.fields.refund_id as string;
    expect((await complete(sim, made.refundDone, 'SUCCESS')).status).toBe(200);
    clock.setBeijing(`${day} 17:00:00`);
    made.refundOpen = newOutRefundNo('BRFO');
    await secapiRefund(
      sim,
      refundParams(made.paid, { out_refund_no: made.refundOpen, total_fee: '1000', refund_fee: '100' }),
    );

    // The day after: a payment, and a refund of the day before's payment (billed on the day it is applied).
    clock.setBeijing(`${dayAfter} 08:00:00`);
    made.nextDay = (await createOrder(sim.url, { out_trade_no: newOutTradeNo('BNEXT'), total_fee: '300' })).outTradeNo;
    await pay(sim.url, made.nextDay);
    made.refundNextDay = newOutRefundNo('BRFN');
    await secapiRefund(
      sim,
      refundParams(made.refunded, { out_refund_no: made.refundNextDay, total_fee: '2000', refund_fee: '200' }),
    );
    clock.setBeijing(`${daysAgo(0)} 12:00:00`);
  });

  afterAll(async () => {
    await sim.close();
  });

  it("bills the day's payments and the refunds applied that day, exactly, gzipped; not unpaid or closed", async () => {
    const answer = await downloadBillV2(sim, { bill_date: compact(day) });
    expect(answer.status).toBe(200);
    expect(answer.refusal).toBeUndefined();
    const bill = readBill(answer.text as string);
    expect(bill.header).toBe(ALL_BILL_COLUMNS.join(','));
    expect(bill.summaryHeader).toBe(BILL_SUMMARY_COLUMNS.join(','));
    expect(bill.rows.map((r) => [r.商户订单号, r.交易状态, r.商户退款单号, r.退款状态])).toEqual([
      [made.paid, 'SUCCESS', '0', ''],
      [made.refunded, 'SUCCESS', '0', ''],
      [made.refunded, 'REFUND', made.refundDone, 'SUCCESS'],
      [made.paid, 'REFUND', made.refundOpen, 'PROCESSING'],
    ]);
    const [payment, , refund] = bill.rows;
    expect(payment).toEqual({
      交易时间: expect.stringMatching(new RegExp(`^${made.paidAt}\\d$`)),
      公众账号ID: MERCHANT.appid,
      商户号: MERCHANT.mchid,
      特约商户号: '',
      设备号: '',
      微信订单号: made.paidTxn,
      商户订单号: made.paid,
      用户标识: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      交易类型: 'JSAPI',
      交易状态: 'SUCCESS',
      付款银行: 'OTHERS',
      货币种类: 'CNY',
      应结订单金额: '10.00',
      代金券金额: '0.00',
      微信退款单号: '0',
      商户退款单号: '0',
      退款金额: '0.00',
      充值券退款金额: '0.00',
      退款类型: '',
      退款状态: '',
      商品名称: 'Sandbox shop - test goods',
      商户数据包: 'note-1',
      手续费: '0.06000',
      费率: '0.60%',
      订单金额: '10.00',
      申请退款金额: '0.00',
      费率备注: '',
    });
    expect(refund).toMatchObject({
      交易时间: expect.stringMatching(new RegExp(`^${day} 16:00:0\\d$`)),
      交易状态: 'REFUND',
      应结订单金额: '0.00',
      微信退款单号: made.refundDoneId,
      退款金额: '5.00',
      退款类型: 'ORIGINAL',
      手续费: '-0.03000',
      订单金额: '0.00',
      申请退款金额: '5.00',
    });
    expect(bill.summary).toEqual({
      总交易单数: '4',
      应结订单总金额: '30.00',
      退款总金额: '6.00',
      充值券退款总金额: '0.00',
      手续费总金额: '0.14000', // 0.06 + 0.12 - 0.03 - 0.01
      订单总金额: '30.00',
      申请退款总金额: '6.00',
    });
  });

  it('bills a refund on the day it was applied, not the day of its payment; plain text without tar_type', async () => {
    const answer = await downloadBillV2(sim, { bill_date: compact(dayAfter), tar_type: undefined });
    expect(answer.contentType).toMatch(/^text\/plain/);
    const bill = readBill(answer.text as string);
    expect(bill.rows.map((r) => [r.商户订单号, r.交易状态, r.申请退款金额, r.订单金额])).toEqual([
      [made.nextDay, 'SUCCESS', '0.00', '3.00'],
      [made.refunded, 'REFUND', '2.00', '0.00'],
    ]);
    expect(bill.summary.总交易单数).toBe('2');
  });

  it('answers the same bill to an HMAC-SHA256 request, and the sandbox shows the same text', async () => {
    const md5 = await downloadBillV2(sim, { bill_date: compact(day) });
    const hmac = await downloadBillV2(sim, { bill_date: compact(day), sign_type: 'HMAC-SHA256' });
    expect(hmac.text).toBe(md5.text);
    const shown = await sandboxBill(sim, day);
    expect(shown.status).toBe(200);
    expect(shown.text).toBe(md5.text);
  });

  it('answers No Bill Exist (error_code 20002) for a day without trades: an empty day, not an error', async () => {
    const answer = await downloadBillV2(sim, { bill_date: compact(daysAgo(30)) });
    expect(answer.status).toBe(200);
    expect(answer.raw.startsWith('<xml>')).toBe(true);
    expect(answer.refusal).toEqual({ return_code: 'FAIL', return_msg: 'No Bill Exist', error_code: '20002' });
    expect((await sandboxBill(sim, daysAgo(30))).status).toBe(404);
  });

  it('refuses malformed, future and expired dates (invalid bill_date), and bill types other than ALL', async () => {
    const today = daysAgo(0);
    const cases = ['2024-01-01', '20241301', '2024011', compact(nextDate(today)), compact(daysAgo(93)), undefined];
    for (const billDate of cases) {
      const answer = await downloadBillV2(sim, { bill_date: billDate });
      expect(answer.refusal, String(billDate)).toEqual({ return_code: 'FAIL', return_msg: 'invalid bill_date' });
    }
    // The oldest day kept, and today (so far), are served.
    expect((await downloadBillV2(sim, { bill_date: compact(daysAgo(92)) })).refusal?.return_msg).toBe('No Bill Exist');
    expect((await downloadBillV2(sim, { bill_date: compact(today) })).refusal?.return_msg).toBe('No Bill Exist');
    const success = await downloadBillV2(sim, { bill_date: compact(day), bill_type: 'SUCCESS' });
    expect(success.refusal?.return_msg).toBe('invalid bill_type');
    const zip = await downloadBillV2(sim, { bill_date: compact(day), tar_type: 'ZIP' });
    expect(zip.refusal?.return_msg).toBe('invalid tar_type');
  });

  it('refuses an unsigned or wrongly signed request, and another appid, with no bill', async () => {
    for (const answer of [
      await downloadBillV2(sim, { bill_date: compact(day) }, { sign: null }),
      await downloadBillV2(sim, { bill_date: compact(day) }, { key: 'ffffffffffffffffffffffffffffffff' }),
      await downloadBillV2(sim, { bill_date: compact(day), appid: 'wx0000000000000000' }),
    ]) {
      expect(answer.refusal?.return_code).toBe('FAIL');
      expect(answer.text).toBeUndefined();
    }
    const wrong = await downloadBillV2(sim, { bill_date: compact(day) }, { key: 'ffffffffffffffffffffffffffffffff' });
    expect(wrong.refusal?.return_msg).toBe('签名错误');
  });

  it('refuses a GET (POST only)', async () => {
    const res = await fetch(`${sim.url}/pay/downloadbill`);
    const text = await res.text();
    expect(text).toContain('<return_code><![CDATA[FAIL]]></return_code>');
  });
});

describe('v2 bill faults', () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;

  beforeAll(async () => {
    sim = await startSimulator({ merchant: MERCHANT, clock });
  });
  afterAll(async () => {
    await sim.close();
  });

  async function dayWithPayment(daysBack: number, total = '1234'): Promise<{ date: string; outTradeNo: string }> {
    const date = daysAgo(daysBack);
    clock.setBeijing(`${date} 10:00:00`);
    const { outTradeNo } = await createOrder(sim.url, { out_trade_no: newOutTradeNo('F'), total_fee: total });
    await pay(sim.url, outTradeNo);
    clock.setBeijing(`${daysAgo(0)} 12:00:00`);
    return { date, outTradeNo };
  }

  it('creating: Bill Creating until the faults are replaced by {}', async () => {
    const { date } = await dayWithPayment(10);
    const set = await setBillFaults(sim, date, { creating: true });
    expect(set).toEqual({
      status: 200,
      json: { bill_date: date, creating: true, tamper: false, unknown_payment: null },
    });
    expect((await downloadBillV2(sim, { bill_date: compact(date) })).refusal).toEqual({
      return_code: 'FAIL',
      return_msg: 'Bill Creating',
    });
    // An empty day that is "creating" is not known to be empty yet.
    await setBillFaults(sim, daysAgo(11), { creating: true });
    expect((await downloadBillV2(sim, { bill_date: compact(daysAgo(11)) })).refusal?.return_msg).toBe('Bill Creating');

    const cleared = await setBillFaults(sim, date, {});
    expect(cleared.json).toEqual({ bill_date: date, creating: false, tamper: false, unknown_payment: null });
    expect((await downloadBillV2(sim, { bill_date: compact(date) })).text).toBeDefined();
  });

  it("tamper: one line's amount changed and the summary left as it was, so the two disagree", async () => {
    const { date, outTradeNo } = await dayWithPayment(12, '1234');
    const honest = readBill((await downloadBillV2(sim, { bill_date: compact(date) })).text as string);
    expect((await setBillFaults(sim, date, { tamper: true })).json.tamper).toBe(true);
    const answer = await downloadBillV2(sim, { bill_date: compact(date) });
    const bill = readBill(answer.text as string);
    expect(bill.rows).toHaveLength(1);
    expect(bill.rows[0]).toEqual({ ...honest.rows[0], 商户订单号: outTradeNo, 订单金额: '12.35' });
    expect(bill.summary).toEqual(honest.summary);
    expect(bill.summary.订单总金额).toBe('12.34');
    expect((await sandboxBill(sim, date)).text).toBe(answer.text);
    expect((await sandboxBill(sim, date, 'v2')).text).toBe(answer.text);
    // v3 proves its file by hash, not summary: its tamper leaves the amounts alone (bills-v3.test.ts).
    expect(readBill((await sandboxBill(sim, date, 'v3')).text).rows[0]?.订单金额).toBe('12.34');
    expect((await sandboxBill(sim, date, 'v4')).status).toBe(400);
    await setBillFaults(sim, date, {});
    expect(readBill((await downloadBillV2(sim, { bill_date: compact(date) })).text as string)).toEqual(honest);
  });

  it('unknown_payment: a SUCCESS line for a payment the merchant never made; queries report it paid', async () => {
    const date = daysAgo(14);
    const set = await setBillFaults(sim, date, { unknown_payment: { total: 4321 } });
    expect(set.status).toBe(200);
    const unknown = set.json.unknown_payment as { out_trade_no: string; transaction_id: string; total: number };
    expect(unknown).toEqual({
      out_trade_no: expect.stringMatching(/^[0-9A-Za-z]{6,32}$/),
      transaction_id: expect.stringMatching(/^42000\d{23}$/),
      total: 4321,
    });
    const bill = readBill((await downloadBillV2(sim, { bill_date: compact(date) })).text as string);
    expect(bill.rows).toEqual([
      expect.objectContaining({
        交易时间: `${date} 12:00:00`,
        交易状态: 'SUCCESS',
        商户订单号: unknown.out_trade_no,
        微信订单号: unknown.transaction_id,
        订单金额: '43.21',
        应结订单金额: '43.21',
      }),
    ]);
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: unknown.out_trade_no }));
    expect(query.fields).toMatchObject({
      result_code: 'SUCCESS',
      trade_state: 'SUCCESS',
      total_fee: '4321',
      transaction_id: unknown.transaction_id,
    });

    // The same faults again keep the same payment; another total makes another one.
    expect((await setBillFaults(sim, date, { unknown_payment: { total: 4321 } })).json.unknown_payment).toEqual(
      unknown,
    );
    const named = await setBillFaults(sim, date, { unknown_payment: { out_trade_no: 'UNKNOWNNAMED1', total: 10 } });
    expect(named.json.unknown_payment).toMatchObject({ out_trade_no: 'UNKNOWNNAMED1', total: 10 });
    expect(readBill((await downloadBillV2(sim, { bill_date: compact(date) })).text as string).rows).toHaveLength(2);
  });

  it('unknown_payment refuses an out_trade_no that is already an order (409)', async () => {
    const { date, outTradeNo } = await dayWithPayment(16);
    const taken = await setBillFaults(sim, date, { unknown_payment: { out_trade_no: outTradeNo, total: 5 } });
    expect(taken.status).toBe(409);
    expect(taken.json).toMatchObject({ error: { code: 'OUT_TRADE_NO_USED', field: 'unknown_payment.out_trade_no' } });
  });

  it('refuses malformed fault bodies and bill dates', async () => {
    const date = daysAgo(18);
    for (const body of [
      { creating: 'yes' },
      { tampered: true },
      { unknown_payment: { total: 0 } },
      { unknown_payment: { total: 1.5 } },
      { unknown_payment: { total: 5, out_trade_no: 'short' } },
    ]) {
      const answer = await setBillFaults(sim, date, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect((answer.json.error as { code: string }).code).toBe('INVALID_REQUEST');
    }
    for (const bad of ['20240101', '2024-02-30', nextDate(daysAgo(0)), daysAgo(93)]) {
      const answer = await setBillFaults(sim, bad, { creating: true });
      expect(answer.status, bad).toBe(400);
      expect(answer.json.error).toMatchObject({ field: 'bill_date' });
      expect((await sandboxBill(sim, bad)).status).toBe(400);
    }
  });

  it("shows the day's faults at GET /sandbox/bills/{bill_date}/faults", async () => {
    const date = daysAgo(20);
    await setBillFaults(sim, date, { creating: true, tamper: true });
    const res = await fetch(`${sim.url}/sandbox/bills/${date}/faults`);
    expect(await res.json()).toEqual({ bill_date: date, creating: true, tamper: true, unknown_payment: null });
  });
});
