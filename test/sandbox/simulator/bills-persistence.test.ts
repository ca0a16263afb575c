import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, downloadBillV2, readBill, sandboxBill, setBillFaults } from './bills-support';
import { MERCHANT, createOrder, newOutTradeNo, pay } from './support';

describe('bills across a restart', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sim-bills-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('bills a day the same way (trades persist); faults are forgotten, an unknown payment stays paid', async () => {
    const clock = new ShiftedClock();
    const day = daysAgo(3);
    const first = await startSimulator({ merchant: MERCHANT, dataDir: dir, clock });
    let before: string;
    let unknown: string;
    try {
      clock.setBeijing(`${day} 10:00:00`);
      const { outTradeNo } = await createOrder(first.url, { out_trade_no: newOutTradeNo('PB'), total_fee: '250' });
      await pay(first.url, outTradeNo);
      clock.setBeijing(`${daysAgo(0)} 12:00:00`);
      const set = await setBillFaults(first, day, { tamper: true, unknown_payment: { total: 77 } });
      unknown = (set.json.unknown_payment as { out_trade_no: string }).out_trade_no;
      // The same payment again, without tamper: the bill read now is the honest one a restart must give back.
      await setBillFaults(first, day, { unknown_payment: { out_trade_no: unknown, total: 77 } });
      before = (await sandboxBill(first, day)).text;
    } finally {
      await first.close();
    }

    const second = await startSimulator({ merchant: MERCHANT, dataDir: dir, clock });
    try {
      const faults = await fetch(`${second.url}/sandbox/bills/${day}/faults`);
      expect(await faults.json()).toEqual({ bill_date: day, creating: false, tamper: false, unknown_payment: null });
      const answer = await downloadBillV2(second, { bill_date: day.replace(/-/g, '') });
      expect(answer.text).toBe(before);
      expect(readBill(answer.text as string).rows.map((row) => row.商户订单号)).toContain(unknown);
    } finally {
      await second.close();
    }
  });
});
