import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BILL_HASH_MISMATCH } from '#shared/wechatpay/bills/bill-download';
import type { BillDownload } from '#shared/wechatpay/bills/bill-download';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, nextDate, setBillFaults } from './bills-support';
import { newOutTradeNo, pay } from './support';
import { callV3, prepayBody, startV3Simulator, v3Client } from './v3-support';

// The product's v3 client downloads the simulator's bills: tradebill, then the signed, unsigned-answer download.

async function rowsOf(download: BillDownload): Promise<TradeBillRow[]> {
  if (download.kind !== 'bill') throw new Error(`no bill: ${download.kind}`);
  const rows: TradeBillRow[] = [];
  for await (const row of readTradeBill(download.content)) rows.push(row);
  return rows;
}

async function drain(download: BillDownload): Promise<void> {
  if (download.kind !== 'bill') throw new Error(`no bill: ${download.kind}`);
  for await (const chunk of download.content) expect(chunk.byteLength).toBeGreaterThan(0);
}

describe('WechatPayV3Client.downloadTradeBill against the simulator', () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;
  const day = daysAgo(9);
  let outTradeNo: string;

  beforeAll(async () => {
    sim = await startV3Simulator({ clock });
    clock.setBeijing(`${day} 07:00:00`);
    outTradeNo = newOutTradeNo('V3CLI');
    const created = await callV3(
      sim,
      'POST',
      '/v3/pay/transactions/native',
      prepayBody(outTradeNo, 'http://127.0.0.1:9/n', { amount: { total: 3100, currency: 'CNY' } }),
      { timestamp: clock.seconds() },
    );
    expect(created.status).toBe(200);
    await pay(sim.url, outTradeNo);
    // The client signs and verifies on real time: the simulator's clock is set back to it.
    clock.reset();
  });
  afterAll(async () => {
    await sim.close();
  });

  it("reads the day's bill, its hash checked", async () => {
    const { client } = v3Client(sim);
    const rows = await rowsOf(await client.downloadTradeBill(day));
    expect(rows).toEqual([expect.objectContaining({ outTradeNo, tradeState: 'SUCCESS', totalFen: 3100 })]);
  });

  it('tells no_bill and creating; a future day is a WechatPayError', async () => {
    const { client } = v3Client(sim);
    expect(await client.downloadTradeBill(daysAgo(60))).toEqual({ kind: 'no_bill' });
    await setBillFaults(sim, day, { creating: true });
    expect(await client.downloadTradeBill(day)).toEqual({ kind: 'creating' });
    await setBillFaults(sim, day, {});
    await expect(client.downloadTradeBill(nextDate(daysAgo(0)))).rejects.toBeInstanceOf(WechatPayError);
  });

  it('refuses a tampered file: BILL_HASH_MISMATCH at its end, even read through the parser', async () => {
    const { client } = v3Client(sim);
    await setBillFaults(sim, day, { tamper: true });
    await expect(drain(await client.downloadTradeBill(day))).rejects.toMatchObject({ code: BILL_HASH_MISMATCH });
    // The summary agrees with the tampered lines: what refuses the bill in the Lambda's path is the hash.
    await expect(rowsOf(await client.downloadTradeBill(day))).rejects.toMatchObject({ code: BILL_HASH_MISMATCH });
    await setBillFaults(sim, day, {});
  });
});
