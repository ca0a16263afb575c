import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { WechatPayBillSource } from '#shared/adapters/wechatpay-bill-source';
import type { BillFetch, BillLine } from '#shared/domain/bill-reconciliation';
import { BillRefusedError, ProviderError } from '#shared/domain/errors';
import { BILL_HASH_MISMATCH, checkSha1, gunzipBill } from '#shared/wechatpay/bills/bill-download';
import type { BillDownload } from '#shared/wechatpay/bills/bill-download';
import { BillFormatError, formatTradeBill } from '#shared/wechatpay/bills/trade-bill';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { gzippedBill, paymentRow, refundRow } from '#test/helpers/bill-rows';

/** Paid with a coupon of 1.00: what the merchant is settled (18.99) is not the order's total (19.99). */
const payment = (overrides: Partial<TradeBillRow> = {}) =>
  paymentRow({ settlementTotalFen: 1899, couponFen: 100, ...overrides });

/** Less settled back (2.50) than the refund asked for (3.00, a coupon's share): the bill's refund is the latter. */
const refund = (overrides: Partial<TradeBillRow> = {}) =>
  refundRow({ refundFen: 250, appliedRefundFen: 300, feeMilliFen: -1_800, ...overrides });

/** The bill's bytes in chunks that cut lines (and characters) anywhere, as a download does. */
async function* chunked(text: string, size = 37): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.byteLength; at += size) yield bytes.slice(at, at + size);
}

function sourceOf(
  download: (billDate: string) => Promise<BillDownload>,
  apiVersion: 'v2' | 'v3' = 'v3',
): WechatPayBillSource {
  return new WechatPayBillSource({ apiVersion, download });
}

function billOf(rows: TradeBillRow[]): () => Promise<BillDownload> {
  return async () => ({ kind: 'bill', content: chunked(formatTradeBill(rows)) });
}

async function linesOf(fetched: BillFetch): Promise<BillLine[]> {
  if (fetched.kind !== 'bill') throw new Error(`no bill: ${fetched.kind}`);
  const lines: BillLine[] = [];
  for await (const line of fetched.lines) lines.push(line);
  return lines;
}

/** What iterating the bill's lines threw. */
async function refusalOf(source: WechatPayBillSource): Promise<unknown> {
  try {
    await linesOf(await source.fetch('2026-01-05'));
  } catch (error) {
    return error;
  }
  throw new Error('the bill was read to its end');
}

describe('WechatPayBillSource', () => {
  it("reads a bill's rows as payments and refunds, in the bill's order", async () => {
    const revoked = payment({
      outTradeNo: 'ORDER0002',
      transactionId: '4200000000202601050000000002',
      tradeState: 'REVOKED',
      tradeTime: '2026-01-05 00:00:00',
      totalFen: 500,
      settlementTotalFen: 500,
      couponFen: 0,
    });
    const source = sourceOf(billOf([payment(), refund(), revoked]), 'v2');
    expect(source.apiVersion).toBe('v2');

    expect(await linesOf(await source.fetch('2026-01-05'))).toEqual([
      {
        kind: 'payment',
        outTradeNo: 'ORDER0001',
        transactionId: '4200000000202601050000000001',
        total: 1999,
        currency: 'CNY',
        state: 'SUCCESS',
        tradeTime: '2026-01-05T10:00:00+08:00',
      },
      {
        kind: 'refund',
        outTradeNo: 'ORDER0001',
        transactionId: '4200000000202601050000000001',
        outRefundNo: 'RF0001',
        refundId: '50300000002026010500000000001',
        refund: 300,
        status: 'SUCCESS',
        tradeTime: '2026-01-05T12:30:00+08:00',
      },
      {
        kind: 'payment',
        outTradeNo: 'ORDER0002',
        transactionId: '4200000000202601050000000002',
        total: 500,
        currency: 'CNY',
        state: 'REVOKED',
        tradeTime: '2026-01-05T00:00:00+08:00',
      },
    ]);
  });

  it("passes each refund line's status on as the bill states it", async () => {
    const statuses = ['PROCESSING', 'CLOSED', 'ABNORMAL'] as const;
    const rows = statuses.map((status, index) => refund({ outRefundNo: `R${index}`, refundStatus: status }));
    const lines = await linesOf(await sourceOf(billOf(rows)).fetch('2026-01-05'));
    expect(lines.map((line) => (line.kind === 'refund' ? line.status : line.kind))).toEqual([...statuses]);
  });

  it('reads a day without a bill as empty, and one being made as not ready', async () => {
    expect(await sourceOf(async () => ({ kind: 'no_bill' })).fetch('2026-01-05')).toEqual({ kind: 'no_bill' });
    expect(await sourceOf(async () => ({ kind: 'creating' })).fetch('2026-01-05')).toEqual({ kind: 'not_ready' });
  });

  it('asks for the day it is given', async () => {
    const asked: string[] = [];
    await sourceOf(async (billDate) => {
      asked.push(billDate);
      return { kind: 'no_bill' };
    }).fetch('2026-01-09');
    expect(asked).toEqual(['2026-01-09']);
  });

  it('refuses a bill with a refund line that does not say how the refund stands', async () => {
    const refused = await refusalOf(sourceOf(billOf([payment(), refund({ refundStatus: undefined })])));
    expect(refused).toBeInstanceOf(BillRefusedError);
    expect(refused).toMatchObject({ code: 'BILL_REFUSED', kind: 'signature', retryable: true });
    expect(String((refused as Error).message)).toContain('RF0001');
  });

  it('refuses a bill with a line in another currency than CNY', async () => {
    const refused = await refusalOf(sourceOf(billOf([payment({ currency: 'USD' })])));
    expect(refused).toBeInstanceOf(BillRefusedError);
    expect(String((refused as Error).message)).toContain('USD');
  });

  it('refuses a bill that disagrees with its own summary (altered after it was made), keeping the cause', async () => {
    // One amount changed, the summary left as it was: what a tampered v2 bill looks like.
    const altered = formatTradeBill([payment(), refund()]).replace('`19.99,', '`99.99,');
    expect(altered).not.toBe(formatTradeBill([payment(), refund()]));
    const refused = await refusalOf(sourceOf(async () => ({ kind: 'bill', content: chunked(altered) })));
    expect(refused).toBeInstanceOf(BillRefusedError);
    expect((refused as Error).cause).toBeInstanceOf(BillFormatError);
  });

  it('refuses a bill whose SHA1 is not the hash WeChat announced, keeping the cause', async () => {
    const text = formatTradeBill([payment()]);
    const otherHash = createHash('sha1').update(`${text} `).digest('hex');
    const refused = await refusalOf(
      sourceOf(async () => ({ kind: 'bill', content: checkSha1(chunked(text), otherHash) })),
    );
    expect(refused).toBeInstanceOf(BillRefusedError);
    expect((refused as Error).cause).toMatchObject({ name: 'WechatPayError', code: BILL_HASH_MISMATCH });
  });

  it('reads a bill whose SHA1 is the one announced, in any case of hex', async () => {
    const text = formatTradeBill([payment()]);
    const hash = createHash('sha1').update(text).digest('hex').toUpperCase();
    const lines = await linesOf(
      await sourceOf(async () => ({ kind: 'bill', content: checkSha1(chunked(text), hash) })).fetch('2026-01-05'),
    );
    expect(lines).toHaveLength(1);
  });

  it("tells a broken download as WeChat Pay's failure, not as a refused bill", async () => {
    const notGzip = async function* (): AsyncGenerator<Uint8Array> {
      yield new Uint8Array([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02, 0x03]);
    };
    const failed = await refusalOf(sourceOf(async () => ({ kind: 'bill', content: gunzipBill(notGzip()) })));
    expect(failed).toBeInstanceOf(ProviderError);
    expect(failed).not.toBeInstanceOf(BillRefusedError);
    expect(failed).toMatchObject({ code: 'BAD_RESPONSE', retryable: true, kind: 'transport' });
  });

  it('reads a gzipped bill through the library', async () => {
    const gzipped = gzippedBill([payment(), refund()]);
    const content = gunzipBill(
      (async function* () {
        yield new Uint8Array(gzipped);
      })(),
    );
    const lines = await linesOf(await sourceOf(async () => ({ kind: 'bill', content })).fetch('2026-01-05'));
    expect(lines.map((line) => line.kind)).toEqual(['payment', 'refund']);
  });

  it("turns WeChat's refusal to serve the bill into the domain's ProviderError", async () => {
    const refusal = new WechatPayError('INVALID_BILL_DATE', 'invalid bill_date', {
      retryable: false,
      kind: 'business',
      rawCode: 'invalid bill_date',
    });
    const source = sourceOf(async () => {
      throw refusal;
    });
    const error = await source.fetch('2026-01-05').catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).not.toBeInstanceOf(BillRefusedError);
    expect(error).toMatchObject({ code: 'INVALID_BILL_DATE', retryable: false, kind: 'business', cause: refusal });
  });
});
