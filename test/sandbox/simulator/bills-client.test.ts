import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillDownload } from '#shared/wechatpay/bills/bill-download';
import { BillFormatError } from '#shared/wechatpay/bills/trade-bill';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { WechatPayV2Client } from '#shared/wechatpay/v2/client';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, nextDate, setBillFaults } from './bills-support';
import { MERCHANT, createOrder, newOutTradeNo, pay } from './support';

// The product's v2 client downloads the simulator's bills: what it reads here it reads from WeChat.

async function rowsOf(download: BillDownload): Promise<TradeBillRow[]> {
  if (download.kind !== 'bill') throw new Error(`no bill: ${download.kind}`);
  const rows: TradeBillRow[] = [];
  for await (const row of readTradeBill(download.content)) rows.push(row);
  return rows;
}

describe('WechatPayV2Client.downloadBill against the simulator', () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;
  let client: WechatPayV2Client;
  const day = daysAgo(7);
  let outTradeNo: string;

  beforeAll(async () => {
    sim = await startSimulator({ merchant: MERCHANT, clock });
    client = new WechatPayV2Client({
      baseUrl: sim.url,
      appid: MERCHANT.appid,
      mchid: MERCHANT.mchid,
      apiKey: MERCHANT.apiKey,
      timeoutMs: 2000,
      maxAttempts: 1,
    });
    clock.setBeijing(`${day} 20:00:00`);
    outTradeNo = (await createOrder(sim.url, { out_trade_no: newOutTradeNo('CLI'), total_fee: '4200' })).outTradeNo;
    await pay(sim.url, outTradeNo);
    clock.setBeijing(`${daysAgo(0)} 12:00:00`);
  });
  afterAll(async () => {
    await sim.close();
  });

  it("reads the day's bill", async () => {
    const rows = await rowsOf(await client.downloadBill(day));
    expect(rows).toEqual([expect.objectContaining({ outTradeNo, tradeState: 'SUCCESS', totalFen: 4200 })]);
  });

  it('tells an empty day (no_bill) and a day being made (creating) from a bill', async () => {
    expect(await client.downloadBill(daysAgo(50))).toEqual({ kind: 'no_bill' });
    await setBillFaults(sim, day, { creating: true });
    expect(await client.downloadBill(day)).toEqual({ kind: 'creating' });
    await setBillFaults(sim, day, {});
  });

  it('fails a tampered bill on its summary, and gets a WechatPayError for a day after today', async () => {
    await setBillFaults(sim, day, { tamper: true });
    await expect(rowsOf(await client.downloadBill(day))).rejects.toBeInstanceOf(BillFormatError);
    await setBillFaults(sim, day, {});
    await expect(client.downloadBill(nextDate(daysAgo(0)))).rejects.toBeInstanceOf(WechatPayError);
  });
});
