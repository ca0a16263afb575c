import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  billRowAt,
  billRowsOf,
  downloadedBill,
  discrepancyAt,
  expectedCounts,
  orderOf,
  outTradeNoOf,
  parseBillBenchArgs,
  renderBillReconcile,
  reportErrors,
  runBillReconcile,
  settledRecordsOf,
  writeBillFile,
  type BillPlan,
} from '#bench/bill-reconcile';
import type { ReconciliationReport } from '#shared/domain/bill-reconciliation';
import { BILL_HASH_MISMATCH } from '#shared/wechatpay/bills/bill-download';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { formatTradeBill } from '#shared/wechatpay/bills/trade-bill';

const plan = (lines: number): BillPlan => ({ lines, billDate: '2025-06-01' });

describe('the bill bench’s generated bill', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bill-bench-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is the contract’s bill of its rows, gzipped, announced by the SHA1 of its text', async () => {
    const p = plan(1_203);
    const file = join(dir, 'sha1.csv.gz');
    const written = await writeBillFile(file, p);
    const text = formatTradeBill(billRowsOf(p));
    expect(gunzipSync(await readFile(file)).toString('utf8')).toBe(text);
    expect(written.sha1).toBe(createHash('sha1').update(text, 'utf8').digest('hex'));
    expect(written.bytes).toBe(Buffer.byteLength(text));
  });

  it('reads back through the client’s gunzip and SHA1 check as the rows it was written from', async () => {
    const p = plan(1_203);
    const file = join(dir, 'rows.csv.gz');
    const { sha1 } = await writeBillFile(file, p);
    const rows = [];
    for await (const row of readTradeBill(downloadedBill(file, sha1))) rows.push(row);
    expect(rows).toEqual([...billRowsOf(p)]);
    // Some product names hold the bill's own separator, which the parser must not split on.
    expect(rows.some((r) => r.body.includes('`,`'))).toBe(true);
  });

  it('is refused at its end when its SHA1 is not the one announced, as the bills Lambda refuses it', async () => {
    const p = plan(50);
    const file = join(dir, 'tampered.csv.gz');
    await writeBillFile(file, p);
    let read = 0;
    const reading = (async () => {
      for await (const _row of readTradeBill(downloadedBill(file, '0'.repeat(40)))) read += 1;
    })();
    await expect(reading).rejects.toMatchObject({ code: BILL_HASH_MISMATCH });
    expect(read).toBe(50);
  });

  it('has a refund every tenth line, of the payment nine lines before, for a third of it', () => {
    const p = plan(20);
    const payment = billRowAt(p, 10);
    const refund = billRowAt(p, 19);
    expect(payment).toMatchObject({ tradeState: 'SUCCESS', refundStatus: undefined, appliedRefundFen: 0 });
    expect(refund).toMatchObject({
      tradeState: 'REFUND',
      refundStatus: 'SUCCESS',
      outTradeNo: payment.outTradeNo,
      transactionId: payment.transactionId,
      totalFen: 0,
      appliedRefundFen: Math.floor(payment.totalFen / 3),
    });
    expect(refund.feeMilliFen).toBe(-refund.appliedRefundFen * 6);
    expect(payment.feeMilliFen).toBe(payment.totalFen * 6);
  });
});

describe('the planted discrepancies', () => {
  it('are one line in 1,000, the four kinds in turn', () => {
    const kinds = Array.from({ length: 8_000 }, (_, i) => discrepancyAt(i)).filter((k) => k !== undefined);
    expect(kinds).toEqual([
      'AMOUNT_MISMATCH',
      'NOT_PAID_HERE',
      'MISSING_AT_WECHAT',
      'REFUND_MISMATCH',
      'AMOUNT_MISMATCH',
      'NOT_PAID_HERE',
      'MISSING_AT_WECHAT',
      'REFUND_MISMATCH',
    ]);
    expect(expectedCounts(1_000_000).discrepancies).toBe(1_000);
  });

  it('are what the settled records and the orders here hold', () => {
    const p = plan(4_000);
    const settled = [...settledRecordsOf(p)];
    const expected = expectedCounts(p.lines);
    // Every settled record is counted here, and the NOT_PAID_HERE order the lookup finds.
    expect(settled).toHaveLength(expected.here - 1);
    expect(settled.filter((r) => r.outTradeNo.startsWith('X'))).toHaveLength(1);
    expect(settled.some((r) => r.outTradeNo === outTradeNoOf(p, 1_501))).toBe(false);
    expect(orderOf(p, outTradeNoOf(p, 1_501))?.status).toBe('PENDING');
    expect(orderOf(p, outTradeNoOf(p, 501))?.payment?.amountTotal).toBe(billRowAt(p, 501).totalFen + 1);
    expect(orderOf(p, outTradeNoOf(p, 2))?.payment?.amountTotal).toBe(billRowAt(p, 2).totalFen);
    expect(expected).toMatchObject({ wechat: 4_000, matched: 3_997, discrepancies: 4 });
  });

  it('turn a report that differs from the plan into errors, and a right one into none', () => {
    const expected = expectedCounts(4_000);
    const right: ReconciliationReport = {
      billDate: '2025-06-01',
      status: 'DISCREPANCIES',
      counts: { wechat: 4_000, here: expected.here, matched: 3_997, discrepancies: 4 },
      discrepancies: [
        { kind: 'AMOUNT_MISMATCH', outTradeNo: 'a' },
        { kind: 'NOT_PAID_HERE', outTradeNo: 'b', repaired: true },
        { kind: 'MISSING_AT_WECHAT', outTradeNo: 'c' },
        { kind: 'REFUND_MISMATCH', outTradeNo: 'd' },
      ],
      billFound: true,
      apiVersion: 'v3',
      reconciledAt: '2025-06-02T02:30:00.000Z',
    };
    expect(reportErrors(right, expected)).toEqual([]);
    const unrepaired = { ...right, discrepancies: right.discrepancies.map(({ repaired: _, ...d }) => d) };
    expect(reportErrors(unrepaired, expected)).toEqual([expect.stringContaining('0 repaired')]);
    expect(reportErrors({ ...right, counts: { ...right.counts, matched: 4_000 } }, expected)).toEqual([
      'counts.matched 4000, the plan calls for 3997',
    ]);
  });
});

describe('runBillReconcile', () => {
  it('parses and reconciles a generated bill from a gzip file, finding exactly what was planted', async () => {
    const result = await runBillReconcile({ lines: 8_000, progress: () => undefined });
    expect(result.reconcile.counts).toEqual({ wechat: 8_000, here: 8_002, matched: 7_994, discrepancies: 8 });
    expect(result.reconcile.byKind).toEqual({
      NOT_PAID_HERE: 2,
      AMOUNT_MISMATCH: 2,
      MISSING_AT_WECHAT: 2,
      REFUND_MISMATCH: 2,
    });
    expect(result.reconcile.repaired).toBe(2);
    expect(result.gzipBytes).toBeLessThan(result.bytes);
    expect(result.parse.memory.rssBytes).toBeGreaterThan(0);
    expect(renderBillReconcile(result)).toContain('8,000-line ALL bill');
  });
});

describe('parseBillBenchArgs', () => {
  it('reads --lines N, --lines=N and --json, and refuses anything else', () => {
    expect(parseBillBenchArgs([])).toEqual({ lines: 1_000_000, json: false });
    expect(parseBillBenchArgs(['--lines', '5000', '--json'])).toEqual({ lines: 5_000, json: true });
    expect(parseBillBenchArgs(['--lines=20'])).toEqual({ lines: 20, json: false });
    expect(() => parseBillBenchArgs(['--lines', '1.5'])).toThrow(/whole number/);
    expect(() => parseBillBenchArgs(['--fast'])).toThrow(/unknown argument/);
  });
});
