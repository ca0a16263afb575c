import type { BillDate, BillFetch, BillLine, BillSource } from '../domain/bill-reconciliation';
import { BillRefusedError } from '../domain/errors';
import { BILL_HASH_MISMATCH } from '../wechatpay/bills/bill-download';
import type { BillDownload } from '../wechatpay/bills/bill-download';
import { readTradeBill } from '../wechatpay/bills/trade-bill-parser';
import { BillFormatError } from '../wechatpay/bills/trade-bill';
import type { TradeBillRow } from '../wechatpay/bills/trade-bill';
import { WechatPayError } from '../wechatpay/core/errors';
import { toDomainError } from './wechatpay-errors';

export interface WechatPayBillSourceOptions {
  apiVersion: 'v2' | 'v3';
  /**
   * A day's (`YYYY-MM-DD`) ALL trade bill as a client downloads it: WechatPayV2Client.downloadBill,
   * WechatPayV3Client.downloadTradeBill, or the app's rotating wrapper around either.
   */
  download: (billDate: BillDate) => Promise<BillDownload>;
}

/**
 * WeChat's trade bill of a day as the domain reads it (BillSource): the download, parsed as it streams,
 * each row as a BillLine. A bill that is not provably WeChat's whole file (its SHA1 disagrees with
 * the hash WeChat announced, it disagrees with its own summary, or it is not in the format) fails the
 * iteration with BillRefusedError, before it completes, as does a line this backend cannot compare (a
 * currency other than CNY, a refund without its status): a day is compared whole or not at all.
 * Every other failure of WeChat or of the download is the domain's ProviderError, as for any call.
 */
export class WechatPayBillSource implements BillSource {
  readonly apiVersion: 'v2' | 'v3';
  private readonly download: (billDate: BillDate) => Promise<BillDownload>;

  constructor(options: WechatPayBillSourceOptions) {
    this.apiVersion = options.apiVersion;
    this.download = options.download;
  }

  async fetch(billDate: BillDate): Promise<BillFetch> {
    let download: BillDownload;
    try {
      download = await this.download(billDate);
    } catch (error) {
      throw toDomainError(error);
    }
    switch (download.kind) {
      case 'bill':
        return { kind: 'bill', lines: billLines(download.content) };
      case 'no_bill':
        return { kind: 'no_bill' };
      case 'creating':
        return { kind: 'not_ready' };
    }
  }
}

async function* billLines(content: AsyncIterable<Uint8Array>): AsyncGenerator<BillLine, void, undefined> {
  try {
    for await (const row of readTradeBill(content)) yield billLineOf(row);
  } catch (error) {
    throw billError(error);
  }
}

/** A bill proven not WeChat's, or unreadable as one, is refused; the rest is a failed exchange. */
function billError(error: unknown): unknown {
  if (error instanceof BillRefusedError) return error;
  if (error instanceof BillFormatError) {
    const where = error.line === undefined ? '' : ` (line ${error.line})`;
    return new BillRefusedError(`WeChat Pay's trade bill is refused: ${error.message}${where}`, { cause: error });
  }
  if (error instanceof WechatPayError && error.code === BILL_HASH_MISMATCH) {
    return new BillRefusedError(`WeChat Pay's trade bill is refused: ${error.message}`, { cause: error });
  }
  return toDomainError(error);
}

function billLineOf(row: TradeBillRow): BillLine {
  if (row.currency !== 'CNY') refuse(row, `currency ${JSON.stringify(row.currency.slice(0, 8))} is not CNY`);
  if (row.outTradeNo === '') refuse(row, 'it names no out_trade_no');
  const tradeTime = rfc3339(row.tradeTime);
  if (row.tradeState === 'REFUND') {
    if (row.refundStatus === undefined) refuse(row, 'a refund line without its refund status');
    if (row.outRefundNo === '' || row.outRefundNo === '0') refuse(row, 'a refund line without its out_refund_no');
    return {
      kind: 'refund',
      outTradeNo: row.outTradeNo,
      transactionId: row.transactionId,
      outRefundNo: row.outRefundNo,
      refundId: row.refundId,
      refund: row.appliedRefundFen,
      status: row.refundStatus,
      tradeTime,
    };
  }
  return {
    kind: 'payment',
    outTradeNo: row.outTradeNo,
    transactionId: row.transactionId,
    total: row.totalFen,
    currency: 'CNY',
    state: row.tradeState,
    tradeTime,
  };
}

/**
 * 交易时间, `yyyy-MM-dd HH:mm:ss` in Beijing without saying so (readTradeBill refuses any other shape),
 * as RFC 3339 with +08:00: rewritten, never computed.
 */
function rfc3339(tradeTime: string): string {
  return `${tradeTime.replace(' ', 'T')}+08:00`;
}

/** Only WeChat's own values are named: the line's ids, never its free text. */
function refuse(row: TradeBillRow, reason: string): never {
  const which = row.outRefundNo !== '' && row.outRefundNo !== '0' ? ` refund ${row.outRefundNo}` : '';
  throw new BillRefusedError(`WeChat Pay's trade bill is refused: the line of ${row.outTradeNo}${which}: ${reason}`);
}
