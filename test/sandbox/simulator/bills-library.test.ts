import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILL_HASH_MISMATCH, checkSha1, gunzipBill } from '#shared/wechatpay/bills/bill-download';
import { BillFormatError } from '#shared/wechatpay/bills/trade-bill';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { toXml } from '#shared/wechatpay/v2/xml';
import { signV2 } from '#shared/wechatpay/v2/sign';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, setBillFaults } from './bills-support';
import { complete, newOutRefundNo, refundParams, secapiRefund } from './refund-support';
import { MERCHANT, createOrder, newOutTradeNo, pay } from './support';
import { V3_MERCHANT, authorizationFor, callV3, startV3Simulator } from './v3-support';

/** A product name a naive bill reader splits: it holds the field separator. */
const AWKWARD_BODY = '礼盒,`特价`,装';

async function collect(rows: AsyncIterable<TradeBillRow>): Promise<TradeBillRow[]> {
  const out: TradeBillRow[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

describe("the simulator's bills read by the library (readTradeBill, gunzipBill, checkSha1)", () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;
  const day = daysAgo(6);
  const made: Record<string, string> = {};

  /** The v2 gzip bill's bytes (the v3 simulator's merchant also holds the v2 key, as real ones do). */
  async function v2Bill(): Promise<Uint8Array> {
    const params: Record<string, string> = {
      appid: V3_MERCHANT.appid,
      mch_id: V3_MERCHANT.mchid,
      nonce_str: 'libraryread1',
      bill_date: day.replace(/-/g, ''),
      bill_type: 'ALL',
      tar_type: 'GZIP',
    };
    params.sign = signV2(params, MERCHANT.apiKey, 'MD5');
    const res = await fetch(`${sim.url}/pay/downloadbill`, { method: 'POST', body: toXml(params) });
    return new Uint8Array(await res.arrayBuffer());
  }

  /** The v3 tradebill answer and its file's bytes (gzip). */
  async function v3Bill(): Promise<{ hash: string; bytes: Uint8Array }> {
    const answer = await callV3(
      sim,
      'GET',
      `/v3/bill/tradebill?bill_date=${day}&bill_type=ALL&tar_type=GZIP`,
      undefined,
      {
        timestamp: clock.seconds(),
      },
    );
    const url = new URL(answer.json?.download_url as string);
    const res = await fetch(url, {
      headers: {
        Authorization: authorizationFor('GET', `${url.pathname}${url.search}`, '', { timestamp: clock.seconds() }),
      },
    });
    return { hash: answer.json?.hash_value as string, bytes: new Uint8Array(await res.arrayBuffer()) };
  }

  beforeAll(async () => {
    sim = await startV3Simulator({ clock });
    clock.setBeijing(`${day} 08:30:00`);
    const order = await createOrder(sim.url, {
      appid: V3_MERCHANT.appid,
      mch_id: V3_MERCHANT.mchid,
      out_trade_no: newOutTradeNo('LIB'),
      total_fee: '1999',
      body: AWKWARD_BODY,
      attach: 'a,b`c',
    });
    made.order = order.outTradeNo;
    made.txn = (await pay(sim.url, order.outTradeNo)).json.transaction_id as string;
    clock.setBeijing(`${day} 09:00:00`);
    made.refund = newOutRefundNo('LIBRF');
    await secapiRefund(
      sim,
      refundParams(made.order, {
        appid: V3_MERCHANT.appid,
        mch_id: V3_MERCHANT.mchid,
        out_refund_no: made.refund,
        total_fee: '1999',
        refund_fee: '999',
      }),
    );
    await complete(sim, made.refund, 'CLOSED');
    clock.setBeijing(`${daysAgo(0)} 12:00:00`);
  });

  afterAll(async () => {
    await sim.close();
  });

  it('reads the v2 and v3 bills to the same rows, product names with the separator kept whole', async () => {
    const fromV2 = await collect(readTradeBill(gunzipBill(once(await v2Bill()))));
    const v3 = await v3Bill();
    const fromV3 = await collect(readTradeBill(checkSha1(gunzipBill(once(v3.bytes)), v3.hash)));
    expect(fromV3).toEqual(fromV2);
    expect(fromV2).toEqual([
      expect.objectContaining({
        tradeTime: expect.stringMatching(new RegExp(`^${day} 08:30:0\\d$`)),
        transactionId: made.txn,
        outTradeNo: made.order,
        tradeState: 'SUCCESS',
        settlementTotalFen: 1999,
        totalFen: 1999,
        appliedRefundFen: 0,
        refundStatus: undefined,
        feeMilliFen: 12_000,
        body: AWKWARD_BODY,
        attach: 'a,b`c',
      }),
      expect.objectContaining({
        outTradeNo: made.order,
        outRefundNo: made.refund,
        tradeState: 'REFUND',
        totalFen: 0,
        refundFen: 999,
        appliedRefundFen: 999,
        refundType: 'ORIGINAL',
        refundStatus: 'CLOSED',
        feeMilliFen: -6_000,
      }),
    ]);
  });

  it('tamper: the v2 bill fails its summary (BillFormatError), the v3 file its hash alone', async () => {
    await setBillFaults(sim, day, { tamper: true });
    const v2Refusal: unknown = await collect(readTradeBill(gunzipBill(once(await v2Bill())))).catch((e: unknown) => e);
    expect(v2Refusal).toBeInstanceOf(BillFormatError);
    expect((v2Refusal as BillFormatError).message).toMatch(/the lines add up to/);
    const v3 = await v3Bill();
    // Without its hash the v3 file reads as a sound bill (its summary agrees): only the SHA1 can refuse it.
    const unchecked = await collect(readTradeBill(gunzipBill(once(v3.bytes))));
    expect(unchecked).toHaveLength(2);
    expect(unchecked[0]?.transactionId).not.toBe(made.txn);
    await expect(collect(readTradeBill(checkSha1(gunzipBill(once(v3.bytes)), v3.hash)))).rejects.toMatchObject({
      code: BILL_HASH_MISMATCH,
    });
    await setBillFaults(sim, day, {});
  });
});
