import type { BillRefundStatus, BillTradeState, TradeBillRow, TradeBillSummary } from './trade-bill';
import {
  ALL_BILL_COLUMNS,
  BILL_SUMMARY_COLUMNS,
  BillFormatError,
  addToSummary,
  feeToMilliFen,
  summarize,
  yuanToFen,
} from './trade-bill';

/**
 * Reads an ALL trade bill (see trade-bill.ts) as it streams: one line at a time, so memory stays the
 * same whatever the bill's size. The bill's own summary is checked against its rows before the
 * iteration completes: a bill cut short, altered or not WeChat's throws BillFormatError (with its
 * line) instead of finishing, so a consumer that acts only after the last row never acts on one.
 */

export interface ReadTradeBillOptions {
  /** Longest line accepted, in bytes; default 64 KiB (a real line is a few hundred). */
  maxLineBytes?: number;
}

export const DEFAULT_MAX_LINE_BYTES = 64 * 1024;

const HEADER = ALL_BILL_COLUMNS.join(',');
const SUMMARY_HEADER = BILL_SUMMARY_COLUMNS.join(',');
/** Between two fields: a comma, then the next field's backtick. */
const SEPARATOR = ',`';
/** Fields before 商品名称 and after 商户数据包: WeChat's own values, which never hold the separator. */
const LEADING_FIELDS = 20;
const TRAILING_FIELDS = 5;

const LF = 0x0a;
const CR = '\r';
const BOM = '\ufeff';

const TRADE_TIME = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/;
const TRADE_STATES: ReadonlySet<string> = new Set<BillTradeState>(['SUCCESS', 'REFUND', 'REVOKED']);
const REFUND_STATUSES: ReadonlySet<string> = new Set<BillRefundStatus>(['SUCCESS', 'PROCESSING', 'CLOSED', 'ABNORMAL']);

export async function* readTradeBill(
  content: AsyncIterable<Uint8Array | string>,
  options: ReadTradeBillOptions = {},
): AsyncGenerator<TradeBillRow, void, undefined> {
  const maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  const bill = new BillLines();
  const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  // The line being gathered across chunks (its bytes so far), and the number it will have.
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineNumber = 1;

  const gather = (bytes: Uint8Array): void => {
    if (bytes.byteLength === 0) return;
    pendingBytes += bytes.byteLength;
    if (pendingBytes > maxLineBytes) throw new BillFormatError(`line longer than ${maxLineBytes} bytes`, lineNumber);
    // Copied: the source may reuse its buffer once given the next chunk.
    pending.push(bytes.slice());
  };
  const text = (bytes: Uint8Array): string => {
    try {
      return decoder.decode(bytes);
    } catch (error) {
      throw Object.assign(new BillFormatError('not UTF-8 text', lineNumber), { cause: error });
    }
  };
  const take = (): string => {
    const line = pending.length === 1 ? (pending[0] as Uint8Array) : Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    return text(line);
  };

  for await (const raw of content) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(LF, start);
      if (end === -1) {
        gather(chunk.subarray(start));
        break;
      }
      let line: string;
      if (pending.length === 0) {
        if (end - start > maxLineBytes) throw new BillFormatError(`line longer than ${maxLineBytes} bytes`, lineNumber);
        line = text(chunk.subarray(start, end));
      } else {
        gather(chunk.subarray(start, end));
        line = take();
      }
      start = end + 1;
      const row = bill.line(line, lineNumber);
      lineNumber += 1;
      if (row !== undefined) yield row;
    }
  }
  // A last line without its line break.
  if (pendingBytes > 0) {
    const row = bill.line(take(), lineNumber);
    lineNumber += 1;
    if (row !== undefined) yield row;
  }
  bill.finish(Math.max(1, lineNumber - 1));
}

/** The bill's structure, line by line: header, data lines, summary header, summary, blank lines. */
class BillLines {
  #state: 'header' | 'rows' | 'summary' | 'done' = 'header';
  readonly #totals: TradeBillSummary = summarize([]);

  line(raw: string, n: number): TradeBillRow | undefined {
    let line = raw.endsWith(CR) ? raw.slice(0, -1) : raw;
    switch (this.#state) {
      case 'header':
        if (n === 1 && line.startsWith(BOM)) line = line.slice(1);
        if (line !== HEADER) throw new BillFormatError('the first line is not the ALL bill header', n);
        this.#state = 'rows';
        return undefined;
      case 'rows': {
        if (line === SUMMARY_HEADER) {
          this.#state = 'summary';
          return undefined;
        }
        if (!line.startsWith('`')) throw new BillFormatError('neither a bill line nor the summary header', n);
        const row = readRow(line, n);
        addToSummary(this.#totals, row);
        return row;
      }
      case 'summary':
        checkSummary(readSummary(line, n), this.#totals, n);
        this.#state = 'done';
        return undefined;
      case 'done':
        if (line !== '') throw new BillFormatError('text after the summary', n);
        return undefined;
    }
  }

  finish(lastLine: number): void {
    if (this.#state === 'header') throw new BillFormatError('the bill is empty', lastLine);
    if (this.#state !== 'done') throw new BillFormatError('the bill ends without its summary', lastLine);
  }
}

/**
 * A data line's 27 fields. Each is prefixed with a backtick and separated from the next by a comma,
 * so fields end at the separators ",`" (which cannot overlap: a comma is not a backtick). The line is
 * read from both ends: the first 20 and the last 5 fields are WeChat's own values, which never hold
 * one; what is between is 商品名称 and 商户数据包, free text: 商户数据包 is after the middle's last
 * separator, and any other separator there belongs to 商品名称.
 */
function splitFields(line: string, n: number): string[] {
  const ends: number[] = [];
  for (let at = line.indexOf(SEPARATOR, 1); at !== -1; at = line.indexOf(SEPARATOR, at + SEPARATOR.length))
    ends.push(at);
  const count = ends.length;
  if (count < ALL_BILL_COLUMNS.length - 1) throw new BillFormatError(`${ALL_BILL_COLUMNS.length} fields expected`, n);
  const fields: string[] = [];
  let from = 1;
  for (let i = 0; i < LEADING_FIELDS; i += 1) {
    const to = ends[i] as number;
    fields.push(line.slice(from, to));
    from = to + SEPARATOR.length;
  }
  const attachAt = ends[count - TRAILING_FIELDS - 1] as number;
  fields.push(line.slice(from, attachAt));
  from = attachAt + SEPARATOR.length;
  for (let i = count - TRAILING_FIELDS; i <= count; i += 1) {
    const to = i < count ? (ends[i] as number) : line.length;
    fields.push(line.slice(from, to));
    from = to + SEPARATOR.length;
  }
  return fields;
}

function field(fields: readonly string[], index: number): string {
  return fields[index] ?? '';
}

/** Yuan at `index` as fen, the column and line blamed when it is not an amount. */
function amount(fields: readonly string[], index: number, n: number): number {
  try {
    return yuanToFen(field(fields, index));
  } catch (error) {
    throw columnError(error, index, n);
  }
}

/** Money and codes read, with the column and line blamed when one is not what WeChat writes. */
function readRow(line: string, n: number): TradeBillRow {
  const f = splitFields(line, n);
  const tradeTime = field(f, 0);
  if (!TRADE_TIME.test(tradeTime)) throw new BillFormatError(`${ALL_BILL_COLUMNS[0]} is not yyyy-MM-dd HH:mm:ss`, n);
  const tradeState = field(f, 9);
  if (!TRADE_STATES.has(tradeState))
    throw new BillFormatError(`${ALL_BILL_COLUMNS[9]} ${quote(tradeState)} is unknown`, n);
  const refundStatus = field(f, 19);
  if (refundStatus !== '' && !REFUND_STATUSES.has(refundStatus))
    throw new BillFormatError(`${ALL_BILL_COLUMNS[19]} ${quote(refundStatus)} is unknown`, n);
  let feeMilliFen: number;
  try {
    feeMilliFen = feeToMilliFen(field(f, 22));
  } catch (error) {
    throw columnError(error, 22, n);
  }
  return {
    tradeTime,
    appid: field(f, 1),
    mchid: field(f, 2),
    subMchid: field(f, 3),
    deviceInfo: field(f, 4),
    transactionId: field(f, 5),
    outTradeNo: field(f, 6),
    openid: field(f, 7),
    tradeType: field(f, 8),
    tradeState: tradeState as BillTradeState,
    bankType: field(f, 10),
    currency: field(f, 11),
    settlementTotalFen: amount(f, 12, n),
    couponFen: amount(f, 13, n),
    refundId: field(f, 14),
    outRefundNo: field(f, 15),
    refundFen: amount(f, 16, n),
    couponRefundFen: amount(f, 17, n),
    refundType: field(f, 18),
    refundStatus: refundStatus === '' ? undefined : (refundStatus as BillRefundStatus),
    body: field(f, 20),
    attach: field(f, 21),
    feeMilliFen,
    rate: field(f, 23),
    totalFen: amount(f, 24, n),
    appliedRefundFen: amount(f, 25, n),
    rateNote: field(f, 26),
  };
}

function readSummary(line: string, n: number): TradeBillSummary {
  if (!line.startsWith('`')) throw new BillFormatError('the summary line is missing', n);
  const f = line.slice(1).split(SEPARATOR);
  if (f.length !== BILL_SUMMARY_COLUMNS.length)
    throw new BillFormatError(`the summary has ${f.length} fields, not ${BILL_SUMMARY_COLUMNS.length}`, n);
  const count = field(f, 0);
  if (!/^\d{1,15}$/.test(count)) throw new BillFormatError(`${BILL_SUMMARY_COLUMNS[0]} is not a count`, n);
  const read = (index: number, parse: (text: string) => number): number => {
    try {
      return parse(field(f, index));
    } catch (error) {
      throw error instanceof BillFormatError
        ? new BillFormatError(`${BILL_SUMMARY_COLUMNS[index]}: ${error.message}`, n)
        : error;
    }
  };
  return {
    count: Number(count),
    settlementTotalFen: read(1, yuanToFen),
    refundFen: read(2, yuanToFen),
    couponRefundFen: read(3, yuanToFen),
    feeMilliFen: read(4, feeToMilliFen),
    totalFen: read(5, yuanToFen),
    appliedRefundFen: read(6, yuanToFen),
  };
}

const SUMMARY_KEYS: readonly (keyof TradeBillSummary)[] = [
  'count',
  'settlementTotalFen',
  'refundFen',
  'couponRefundFen',
  'feeMilliFen',
  'totalFen',
  'appliedRefundFen',
];

function checkSummary(stated: TradeBillSummary, rows: TradeBillSummary, n: number): void {
  SUMMARY_KEYS.forEach((key, index) => {
    if (stated[key] !== rows[key])
      throw new BillFormatError(
        `${BILL_SUMMARY_COLUMNS[index]} says ${stated[key]}, the lines add up to ${rows[key]}` +
          (key === 'count' ? '' : key === 'feeMilliFen' ? ' (thousandths of a fen)' : ' (fen)'),
        n,
      );
  });
}

function columnError(error: unknown, index: number, n: number): unknown {
  return error instanceof BillFormatError
    ? new BillFormatError(`${ALL_BILL_COLUMNS[index]}: ${error.message}`, n)
    : error;
}

function quote(text: string): string {
  return JSON.stringify(text.slice(0, 24));
}
