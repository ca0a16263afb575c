import { gzipSync } from 'node:zlib';

import type { BillDownload } from '#shared/wechatpay/bills/bill-download';
import { formatTradeBill, type TradeBillRow } from '#shared/wechatpay/bills/trade-bill';

/**
 * Trade bill lines as tests write them (the library's parser and clients, the bill source): one payment
 * and one refund of it, as WeChat writes them in an ALL bill (guide "Bill facts"), each test overriding
 * only what it is about.
 */

/** A payment's line: 应结订单金额 = 订单金额 = 19.99, refund fields 0 or empty, the fee 0.6 % in 1/1000 fen. */
export function paymentRow(overrides: Partial<TradeBillRow> = {}): TradeBillRow {
  return {
    tradeTime: '2026-01-05 10:00:00',
    appid: 'wx2421b1c4370ec43b',
    mchid: '10000100',
    subMchid: '0',
    deviceInfo: '',
    transactionId: '4200000000202601050000000001',
    outTradeNo: 'ORDER0001',
    openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
    tradeType: 'JSAPI',
    tradeState: 'SUCCESS',
    bankType: 'OTHERS',
    currency: 'CNY',
    settlementTotalFen: 1999,
    couponFen: 0,
    refundId: '0',
    outRefundNo: '0',
    refundFen: 0,
    couponRefundFen: 0,
    refundType: '',
    refundStatus: undefined,
    body: '测试商品',
    attach: '',
    feeMilliFen: 11_994,
    rate: '0.60%',
    totalFen: 1999,
    appliedRefundFen: 0,
    rateNote: '',
    ...overrides,
  };
}

/**
 * A refund of that payment, on the day it was applied for: 应结订单金额 and 订单金额 0, 5.00 refunded
 * (退款金额 = 申请退款金额), ORIGINAL, SUCCESS, the fee given back (negative).
 */
export function refundRow(overrides: Partial<TradeBillRow> = {}): TradeBillRow {
  return paymentRow({
    tradeTime: '2026-01-05 12:30:00',
    tradeState: 'REFUND',
    settlementTotalFen: 0,
    totalFen: 0,
    refundId: '50300000002026010500000000001',
    outRefundNo: 'RF0001',
    refundFen: 500,
    appliedRefundFen: 500,
    refundType: 'ORIGINAL',
    refundStatus: 'SUCCESS',
    feeMilliFen: -3_000,
    ...overrides,
  });
}

/** The bill of these rows as WeChat's file holds it: UTF-8 with a BOM (as WeChat's may have), CRLF. */
export function billBytes(rows: Iterable<TradeBillRow>): Buffer {
  return Buffer.from(`\ufeff${formatTradeBill(rows)}`, 'utf8');
}

/** That file gzipped, as both APIs serve it (tar_type GZIP). */
export function gzippedBill(rows: Iterable<TradeBillRow>): Buffer {
  return gzipSync(billBytes(rows));
}

/** A download's bill, read to its end (its errors thrown); a download without a bill is a test failure. */
export async function downloadedBytes(download: BillDownload): Promise<Buffer> {
  if (download.kind !== 'bill') throw new Error(`expected a bill, got ${download.kind}`);
  const chunks: Uint8Array[] = [];
  for await (const chunk of download.content) chunks.push(chunk);
  return Buffer.concat(chunks);
}
