import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createGzip } from 'node:zlib';

import { WechatPayBillSource } from '#shared/adapters/wechatpay-bill-source';
import {
  type BillDate,
  type DiscrepancyKind,
  MAX_REPORTED_DISCREPANCIES,
  type ReconciliationReport,
  type SettledRecord,
  type SettledRecords,
} from '#shared/domain/bill-reconciliation';
import type { Order } from '#shared/domain/order';
import { silentObserver } from '#shared/domain/payment-observer';
import { type Merchant, systemClock, type TradeReport } from '#shared/domain/ports';
import { ReconcileBill } from '#shared/domain/reconcile-bill';
import type { Refund } from '#shared/domain/refund';
import { TradeReports } from '#shared/domain/trade-reports';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { checkSha1, gunzipBill } from '#shared/wechatpay/bills/bill-download';
import { tradeBillLines, type TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { InMemoryReconciliationStore } from '#test/helpers/in-memory-bill-records';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { runIfEntryPoint } from './script-entry';

/**
 * What a large day's bill costs to reconcile (issue 14: "a generated 1,000,000-line bill: time and peak
 * memory"). A bill of `lines` lines is written by the contract's tradeBillLines through a gzip stream
 * into a temporary file (never one string), its SHA1 taken on the way, then timed twice from that file
 * read as the v3 client hands a download over (gunzipBill, then checkSha1 against that SHA1): (a) the
 * library's readTradeBill over it alone, (b) the whole ReconcileBill.run (the bill source's mapping, the day's settled
 * records held in memory and ticked off, the lookups and repairs of what they do not account for, the
 * report) with the records here answered from memory, so what is measured is the parsing and comparing
 * a bills Lambda does, not DynamoDB Local. Peak RSS and heap are sampled during each phase.
 *
 * The bill: 9 lines in 10 are payments, the 10th refunds part of the payment 9 lines before it. One line
 * in 1,000 disagrees with the records here on purpose, in turn: a different amount here
 * (AMOUNT_MISMATCH), a payment not PAID here that the query confirms and the run repairs
 * (NOT_PAID_HERE), a payment PAID here that the bill lacks (MISSING_AT_WECHAT), a refund of another
 * amount here (REFUND_MISMATCH). The run's report is checked against what the plan calls for, so a
 * number printed is the number of a correct run.
 *
 * `npx tsx bench/bill-reconcile.ts [--lines N] [--json]` (default 1,000,000); part 6 of `npm run bench`.
 */

export const DEFAULT_LINES = 1_000_000;
export const BENCH_BILL_DATE: BillDate = '2025-06-01';
const MERCHANT: Merchant = { appid: 'wxd678efh567hg6787', mchid: '1230000109' };
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';
/** One line in this many disagrees with the records here (0.1 %). */
export const DISCREPANCY_EVERY = 1_000;

export interface BillPlan {
  lines: number;
  billDate: BillDate;
}

// ---- The plan: which line is what -------------------------------------------------------------

const compactDate = (billDate: BillDate) => billDate.replaceAll('-', '');
const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const outTradeNoOf = (plan: BillPlan, order: number) => `B${compactDate(plan.billDate)}${pad(order, 10)}`;
/** An order PAID here that WeChat's bill does not list. */
export const strayOutTradeNoOf = (plan: BillPlan, order: number) => `X${compactDate(plan.billDate)}${pad(order, 10)}`;
export const transactionIdOf = (plan: BillPlan, order: number) =>
  `42000000${compactDate(plan.billDate)}${pad(order, 12)}`;
export const outRefundNoOf = (plan: BillPlan, order: number) => `BR${compactDate(plan.billDate)}${pad(order, 10)}`;
export const refundIdOf = (plan: BillPlan, order: number) => `50000${compactDate(plan.billDate)}${pad(order, 16)}`;

/** The order a bill number names, or undefined for a number of another shape. */
export function orderIndexOf(plan: BillPlan, outTradeNo: string): number | undefined {
  const match = /^[BX](\d{8})(\d{10})$/.exec(outTradeNo);
  return match && match[1] === compactDate(plan.billDate) ? Number(match[2]) : undefined;
}

/** Fen the order asked for and was paid: spread over 1.00 to 1,000.99 yuan. */
export const totalOf = (order: number) => 100 + ((order * 7919) % 100_000);
/** Fen refunded of an order that has a refund: a third of it, at least one fen. */
export const refundOf = (order: number) => Math.max(1, Math.floor(totalOf(order) / 3));

/** Line `i` (0-based) of the bill: a payment of order i, or (every 10th) the refund of order i − 9. */
export function lineKindOf(i: number): { kind: 'payment'; order: number } | { kind: 'refund'; order: number } {
  return i % 10 === 9 ? { kind: 'refund', order: i - 9 } : { kind: 'payment', order: i };
}

/**
 * The disagreement planted at line `i`, if any. In each block of 1,000 lines one, by turn: on the
 * payment at offset 501 (an order never refunded), or on the refund at offset 509 (of order 500).
 */
export function discrepancyAt(i: number): DiscrepancyKind | undefined {
  const offset = i % DISCREPANCY_EVERY;
  const turn = Math.floor(i / DISCREPANCY_EVERY) % 4;
  if (offset === 501 && turn < 3) return (['AMOUNT_MISMATCH', 'NOT_PAID_HERE', 'MISSING_AT_WECHAT'] as const)[turn];
  if (offset === 509 && turn === 3) return 'REFUND_MISMATCH';
  return undefined;
}

export interface ExpectedCounts {
  wechat: number;
  here: number;
  matched: number;
  discrepancies: number;
  byKind: Record<DiscrepancyKind, number>;
}

/** The report a correct run of the plan gives (ReconcileBill's counting: README "Bill reconciliation"). */
export function expectedCounts(lines: number): ExpectedCounts {
  const byKind: Record<DiscrepancyKind, number> = {
    NOT_PAID_HERE: 0,
    AMOUNT_MISMATCH: 0,
    MISSING_AT_WECHAT: 0,
    REFUND_MISMATCH: 0,
  };
  for (let block = 0; block * DISCREPANCY_EVERY < lines; block += 1) {
    for (const offset of [501, 509]) {
      const i = block * DISCREPANCY_EVERY + offset;
      const kind = i < lines ? discrepancyAt(i) : undefined;
      if (kind !== undefined) byKind[kind] += 1;
    }
  }
  const refunds = Math.floor(lines / 10);
  const payments = lines - refunds;
  // The day's settled records: every payment PAID here (not the NOT_PAID_HERE ones), every refund, and
  // one stray payment per MISSING_AT_WECHAT. Lines they disagree with are looked up; of those, only the
  // NOT_PAID_HERE orders are here without being among the settled records (counted once each).
  const settled = payments - byKind.NOT_PAID_HERE + refunds + byKind.MISSING_AT_WECHAT;
  const lookedUp = byKind.AMOUNT_MISMATCH + byKind.NOT_PAID_HERE + byKind.REFUND_MISMATCH;
  return {
    wechat: lines,
    here: settled + byKind.NOT_PAID_HERE,
    matched: lines - lookedUp,
    discrepancies: byKind.AMOUNT_MISMATCH + byKind.NOT_PAID_HERE + byKind.MISSING_AT_WECHAT + byKind.REFUND_MISMATCH,
    byKind,
  };
}

/** Beijing wall time of line i: the lines spread evenly over the day. */
function tradeTimeOf(plan: BillPlan, i: number): string {
  const seconds = Math.floor((i * 86_400) / Math.max(plan.lines, 1));
  const hms = [Math.floor(seconds / 3600), Math.floor(seconds / 60) % 60, seconds % 60].map((x) => pad(x, 2));
  return `${plan.billDate} ${hms.join(':')}`;
}

/** Product names as merchants write them; now and then one holding the bill's own "`," separator. */
const bodyOf = (order: number) => (order % 97 === 0 ? '礼盒`,`套装, 大号' : '测试商品');

/** Line `i` of the bill, as WeChat writes an ALL bill's payment or refund line (fee 0.6 %, to 1/1000 fen). */
export function billRowAt(plan: BillPlan, i: number): TradeBillRow {
  const line = lineKindOf(i);
  const payment = line.kind === 'payment';
  // One literal, no spread of a shared part: a million are built, and the spread made each 40 times slower.
  const total = payment ? totalOf(line.order) : 0;
  const refund = payment ? 0 : refundOf(line.order);
  return {
    tradeTime: tradeTimeOf(plan, i),
    appid: MERCHANT.appid,
    mchid: MERCHANT.mchid,
    subMchid: '0',
    deviceInfo: '',
    transactionId: transactionIdOf(plan, line.order),
    outTradeNo: outTradeNoOf(plan, line.order),
    openid: OPENID,
    tradeType: 'NATIVE',
    tradeState: payment ? 'SUCCESS' : 'REFUND',
    bankType: 'OTHERS',
    currency: 'CNY',
    settlementTotalFen: total,
    couponFen: 0,
    refundId: payment ? '0' : refundIdOf(plan, line.order),
    outRefundNo: payment ? '0' : outRefundNoOf(plan, line.order),
    refundFen: refund,
    couponRefundFen: 0,
    refundType: payment ? '' : 'ORIGINAL',
    refundStatus: payment ? undefined : 'SUCCESS',
    body: bodyOf(line.order),
    attach: '',
    feeMilliFen: payment ? total * 6 : -refund * 6,
    rate: '0.60%',
    totalFen: total,
    appliedRefundFen: refund,
    rateNote: '',
  };
}

// ---- The bill's text, streamed ------------------------------------------------------------------

/** The plan's rows, one at a time (a million are never held). */
export function* billRowsOf(plan: BillPlan): Generator<TradeBillRow> {
  for (let i = 0; i < plan.lines; i += 1) yield billRowAt(plan, i);
}

/**
 * The bill's text (the contract's tradeBillLines) in chunks of about `linesPerChunk` lines: one string
 * a line would make a million gzip writes, which would time the writing, not the bill.
 */
export function* billChunks(plan: BillPlan, linesPerChunk = 2_000): Generator<string> {
  let chunk = '';
  let lines = 0;
  for (const line of tradeBillLines(billRowsOf(plan))) {
    chunk += line;
    lines += 1;
    if (lines === linesPerChunk) {
      yield chunk;
      chunk = '';
      lines = 0;
    }
  }
  if (chunk !== '') yield chunk;
}

export interface BillFile {
  /** Bytes of the bill's text (decompressed). */
  bytes: number;
  gzipBytes: number;
  /** SHA1 (hex) of the decompressed text: what WeChat's v3 tradebill answer announces as hash_value. */
  sha1: string;
}

/**
 * Writes the plan's bill gzipped to `path`, its SHA1 taken from the text on the way as WeChat takes it;
 * the gzip stream's back-pressure keeps memory flat.
 */
export async function writeBillFile(path: string, plan: BillPlan): Promise<BillFile> {
  let bytes = 0;
  const hash = createHash('sha1');
  const counted = function* () {
    for (const text of billChunks(plan)) {
      const chunk = Buffer.from(text, 'utf8');
      bytes += chunk.byteLength;
      hash.update(chunk);
      yield chunk;
    }
  };
  await pipeline(Readable.from(counted()), createGzip(), createWriteStream(path));
  return { bytes, gzipBytes: (await stat(path)).size, sha1: hash.digest('hex') };
}

/**
 * The bill as the v3 client hands it to the bills Lambda: the downloaded gzip file through the library's
 * gunzipBill (the size cap) and checkSha1 (BILL_HASH_MISMATCH at the end), so the bench times that path.
 */
export function downloadedBill(path: string, sha1: string): AsyncIterable<Uint8Array> {
  return checkSha1(gunzipBill(createReadStream(path)), sha1);
}

// ---- The records here, in memory ----------------------------------------------------------------

/** `YYYY-MM-DDTHH:mm:ss+08:00` of line i, as a v3 payment's paidAt. */
const paidAtOf = (plan: BillPlan, i: number) => `${tradeTimeOf(plan, i).replace(' ', 'T')}+08:00`;

/**
 * The day's PAID orders and SUCCESS refunds here, generated in the bill's order as the settled index
 * would list them (no list is held: the reconciler's own map is what memory measures).
 */
export function* settledRecordsOf(plan: BillPlan): Generator<SettledRecord> {
  for (let i = 0; i < plan.lines; i += 1) {
    const line = lineKindOf(i);
    const planted = discrepancyAt(i);
    if (line.kind === 'refund') {
      yield {
        kind: 'refund',
        outTradeNo: outTradeNoOf(plan, line.order),
        outRefundNo: outRefundNoOf(plan, line.order),
        refundId: refundIdOf(plan, line.order),
        refund: refundOf(line.order) + (planted === 'REFUND_MISMATCH' ? 1 : 0),
      };
      continue;
    }
    if (planted === 'NOT_PAID_HERE') continue;
    yield {
      kind: 'payment',
      outTradeNo: outTradeNoOf(plan, line.order),
      transactionId: transactionIdOf(plan, line.order),
      total: totalOf(line.order) + (planted === 'AMOUNT_MISMATCH' ? 1 : 0),
    };
    if (planted === 'MISSING_AT_WECHAT') {
      yield {
        kind: 'payment',
        outTradeNo: strayOutTradeNoOf(plan, line.order),
        transactionId: transactionIdOf(plan, line.order + plan.lines),
        total: totalOf(line.order),
      };
    }
  }
}

/** An order of the plan as the store holds it: PAID, or PENDING for a planted NOT_PAID_HERE. */
export function orderOf(plan: BillPlan, outTradeNo: string): Order | undefined {
  const order = orderIndexOf(plan, outTradeNo);
  if (order === undefined || order >= plan.lines) return undefined;
  const stray = outTradeNo.startsWith('X');
  const planted = stray ? undefined : discrepancyAt(order);
  const total = totalOf(order) + (planted === 'AMOUNT_MISMATCH' ? 1 : 0);
  const at = paidAtOf(plan, order);
  const pending = planted === 'NOT_PAID_HERE';
  return {
    outTradeNo,
    status: pending ? 'PENDING' : 'PAID',
    request: {
      outTradeNo,
      description: bodyOf(order),
      amount: { total, currency: 'CNY' },
      tradeType: 'NATIVE',
      productId: 'sku',
      payerClientIp: '198.51.100.7',
      expiresAt: '2099-01-01T00:00:00.000Z',
    },
    requestHash: 'bench',
    createdAt: at,
    updatedAt: at,
    ...(pending
      ? { nextCheckAt: at }
      : {
          payment: {
            transactionId: transactionIdOf(plan, stray ? order + plan.lines : order),
            amountTotal: total,
            currency: 'CNY',
            paidAt: at,
          },
        }),
    history: [
      { at, from: null, to: 'CREATED', source: 'api' },
      { at, from: 'CREATED', to: 'PENDING', source: 'api' },
      ...(pending ? [] : [{ at, from: 'PENDING' as const, to: 'PAID' as const, source: 'notify' as const }]),
    ],
  };
}

/** A refund of the plan as the store holds it (SUCCESS; another amount where REFUND_MISMATCH is planted). */
export function refundOfPlan(plan: BillPlan, outTradeNo: string, outRefundNo: string): Refund | undefined {
  const order = orderIndexOf(plan, outTradeNo);
  if (order === undefined || outRefundNo !== outRefundNoOf(plan, order)) return undefined;
  const planted = discrepancyAt(order + 9);
  const at = paidAtOf(plan, order + 9);
  return {
    outRefundNo,
    outTradeNo,
    status: 'SUCCESS',
    amount: {
      refund: refundOf(order) + (planted === 'REFUND_MISMATCH' ? 1 : 0),
      total: totalOf(order),
      currency: 'CNY',
    },
    requestHash: 'bench',
    createdAt: at,
    updatedAt: at,
    refundId: refundIdOf(plan, order),
    transactionId: transactionIdOf(plan, order),
    acceptedAt: at,
    successTime: at,
    history: [
      { at, from: null, to: 'PROCESSING', source: 'api' },
      { at, from: 'PROCESSING', to: 'SUCCESS', source: 'notify' },
    ],
  };
}

/**
 * The order store: the planted NOT_PAID_HERE orders live in the in-memory store (the repair writes
 * them), every other order of the plan is answered from its number, so a million orders cost nothing.
 */
class PlanOrderStore extends InMemoryOrderStore {
  constructor(private readonly plan: BillPlan) {
    super();
  }

  override async get(outTradeNo: string): Promise<Order | undefined> {
    return (await super.get(outTradeNo)) ?? orderOf(this.plan, outTradeNo);
  }
}

class PlanRefundStore extends InMemoryRefundStore {
  constructor(
    orders: InMemoryOrderStore,
    private readonly plan: BillPlan,
  ) {
    super(orders);
  }

  override async getRefund(outTradeNo: string, outRefundNo: string): Promise<Refund | undefined> {
    return (await super.getRefund(outTradeNo, outRefundNo)) ?? refundOfPlan(this.plan, outTradeNo, outRefundNo);
  }
}

/** WeChat's query answer for a billed order: paid, as the bill says. */
function paidReport(plan: BillPlan, outTradeNo: string): TradeReport {
  const order = orderIndexOf(plan, outTradeNo);
  if (order === undefined) return { outTradeNo, state: 'NOT_FOUND', appid: MERCHANT.appid, mchid: MERCHANT.mchid };
  const total = totalOf(order);
  return {
    outTradeNo,
    state: 'SUCCESS',
    appid: MERCHANT.appid,
    mchid: MERCHANT.mchid,
    amount: { total, currency: 'CNY' },
    payment: {
      transactionId: transactionIdOf(plan, order),
      amountTotal: total,
      currency: 'CNY',
      paidAt: paidAtOf(plan, order),
    },
  };
}

// ---- Measuring ----------------------------------------------------------------------------------

export interface MemoryPeak {
  rssBytes: number;
  heapUsedBytes: number;
  /** RSS and heap when the phase began (what the process held already). */
  startRssBytes: number;
  startHeapUsedBytes: number;
}

/** Samples the process's memory every `intervalMs` until stopped; the peaks seen, the last sample included. */
export function sampleMemory(intervalMs = 20): { stop(): MemoryPeak } {
  const start = process.memoryUsage();
  const peak = { rss: start.rss, heap: start.heapUsed };
  const sample = () => {
    const now = process.memoryUsage();
    peak.rss = Math.max(peak.rss, now.rss);
    peak.heap = Math.max(peak.heap, now.heapUsed);
  };
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return {
        rssBytes: peak.rss,
        heapUsedBytes: peak.heap,
        startRssBytes: start.rss,
        startHeapUsedBytes: start.heapUsed,
      };
    },
  };
}

export interface PhaseResult {
  seconds: number;
  /** CPU seconds the process spent (user + system): what a shared, busy machine does not inflate. */
  cpuSeconds: number;
  linesPerSecond: number;
  memory: MemoryPeak;
}

export interface BillReconcileResult {
  lines: number;
  bytes: number;
  gzipBytes: number;
  generateSeconds: number;
  parse: PhaseResult;
  /**
   * Seconds the bench's own generator takes to list the day's settled records, inside (b): the part of
   * (b) that a real run spends on the settled index's queries instead.
   */
  listSettledSeconds: number;
  reconcile: PhaseResult & {
    counts: ReconciliationReport['counts'];
    byKind: Record<DiscrepancyKind, number>;
    repaired: number;
  };
  node: string;
}

/** Node's gc(), reached without --expose-gc on the command line (the bench runs under npm and tsx). */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function measured<T>(lines: number, work: () => Promise<T>): Promise<{ phase: PhaseResult; value: T }> {
  // A full collection first, so a phase's start (and peak) does not carry the garbage of the one before.
  collectGarbage();
  const sampler = sampleMemory();
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const cpuSeconds = (used.user + used.system) / 1e6;
  return { phase: { seconds, cpuSeconds, linesPerSecond: lines / seconds, memory: sampler.stop() }, value };
}

/** Differences between a report and what the plan calls for; empty when the run was right. */
export function reportErrors(report: ReconciliationReport, expected: ExpectedCounts): string[] {
  const errors: string[] = [];
  for (const key of ['wechat', 'here', 'matched', 'discrepancies'] as const) {
    if (report.counts[key] !== expected[key])
      errors.push(`counts.${key} ${report.counts[key]}, the plan calls for ${expected[key]}`);
  }
  if (expected.discrepancies <= MAX_REPORTED_DISCREPANCIES) {
    const seen = countByKind(report);
    for (const [kind, n] of Object.entries(expected.byKind) as Array<[DiscrepancyKind, number]>) {
      if (seen[kind] !== n) errors.push(`${seen[kind]} ${kind}, the plan calls for ${n}`);
    }
    const repaired = report.discrepancies.filter((d) => d.repaired).length;
    if (repaired !== expected.byKind.NOT_PAID_HERE)
      errors.push(`${repaired} repaired, the plan calls for ${expected.byKind.NOT_PAID_HERE} (each NOT_PAID_HERE)`);
  }
  return errors;
}

function countByKind(report: ReconciliationReport): Record<DiscrepancyKind, number> {
  const seen: Record<DiscrepancyKind, number> = {
    NOT_PAID_HERE: 0,
    AMOUNT_MISMATCH: 0,
    MISSING_AT_WECHAT: 0,
    REFUND_MISMATCH: 0,
  };
  for (const d of report.discrepancies) seen[d.kind] += 1;
  return seen;
}

export async function runBillReconcile(options: {
  lines: number;
  progress: (line: string) => void;
}): Promise<BillReconcileResult> {
  const plan: BillPlan = { lines: options.lines, billDate: BENCH_BILL_DATE };
  const dir = await mkdtemp(join(tmpdir(), 'bill-bench-'));
  try {
    const file = join(dir, `${compactDate(plan.billDate)}-ALL.csv.gz`);
    options.progress(`bill bench: writing a ${plan.lines.toLocaleString('en-US')}-line ALL bill (gzip)`);
    const generating = performance.now();
    const { bytes, gzipBytes, sha1 } = await writeBillFile(file, plan);
    const generateSeconds = (performance.now() - generating) / 1000;

    options.progress('bill bench: (a) readTradeBill over the file through gunzipBill and checkSha1');
    const parsed = await measured(plan.lines, async () => {
      let rows = 0;
      let fen = 0;
      for await (const row of readTradeBill(downloadedBill(file, sha1))) {
        rows += 1;
        fen += row.totalFen;
      }
      return { rows, fen };
    });
    if (parsed.value.rows !== plan.lines)
      throw new Error(`readTradeBill read ${parsed.value.rows} rows of a ${plan.lines}-line bill`);

    const listing = performance.now();
    let listed = 0;
    for (const record of settledRecordsOf(plan)) if (record.kind === 'payment') listed += 1;
    const listSettledSeconds = (performance.now() - listing) / 1000;
    if (listed === 0) throw new Error('the plan lists no settled payment');

    options.progress('bill bench: (b) ReconcileBill.run: parse, compare, repair, report');
    const orders = new PlanOrderStore(plan);
    const refunds = new PlanRefundStore(orders, plan);
    for (let block = 0; block * DISCREPANCY_EVERY < plan.lines; block += 1) {
      const i = block * DISCREPANCY_EVERY + 501;
      if (i < plan.lines && discrepancyAt(i) === 'NOT_PAID_HERE') {
        const pending = orderOf(plan, outTradeNoOf(plan, i));
        if (pending !== undefined) await orders.create(pending);
      }
    }
    const settled: SettledRecords = {
      listSettled: async function* (billDate) {
        if (billDate !== plan.billDate) return;
        yield* settledRecordsOf(plan);
      },
    };
    const reconcile = new ReconcileBill({
      bills: new WechatPayBillSource({
        apiVersion: 'v3',
        download: async () => ({ kind: 'bill', content: downloadedBill(file, sha1) }),
      }),
      settled,
      orders,
      refunds,
      provider: { query: async (outTradeNo) => paidReport(plan, outTradeNo) },
      tradeReports: new TradeReports({
        store: orders,
        clock: systemClock,
        merchant: MERCHANT,
        observer: silentObserver,
      }),
      syncRefund: async (outTradeNo, outRefundNo) => {
        throw new Error(`the bench plants no refund to sync (${outTradeNo} ${outRefundNo})`);
      },
      store: new InMemoryReconciliationStore(),
      clock: systemClock,
    });
    const run = await measured(plan.lines, () => reconcile.run(plan.billDate));
    const report = run.value;
    const errors = reportErrors(report, expectedCounts(plan.lines));
    if (errors.length > 0) throw new Error(`the reconciliation's report is wrong: ${errors.join('; ')}`);
    return {
      lines: plan.lines,
      bytes,
      gzipBytes,
      generateSeconds,
      parse: parsed.phase,
      listSettledSeconds,
      reconcile: {
        ...run.phase,
        counts: report.counts,
        byKind: countByKind(report),
        repaired: report.discrepancies.filter((d) => d.repaired).length,
      },
      node: process.version,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- Output -------------------------------------------------------------------------------------

const MB = 1_000_000;
const mb = (bytes: number) => Math.round(bytes / MB);
const int = (x: number) => Math.round(x).toLocaleString('en-US');

export function renderBillReconcile(r: BillReconcileResult): string {
  const phase = (name: string, p: PhaseResult) =>
    `  ${name.padEnd(42)} ${p.seconds.toFixed(2).padStart(7)} s (CPU ${p.cpuSeconds.toFixed(2)} s)  ` +
    `${int(p.linesPerSecond).padStart(9)} lines/s  ` +
    `peak RSS ${mb(p.memory.rssBytes)} MB (${mb(p.memory.startRssBytes)} at start), ` +
    `peak heap ${mb(p.memory.heapUsedBytes)} MB (${mb(p.memory.startHeapUsedBytes)} at start)`;
  const c = r.reconcile.counts;
  const kinds = Object.entries(r.reconcile.byKind)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return [
    `6. Bill reconciliation (${int(r.lines)}-line ALL bill, ${mb(r.bytes)} MB of text, ` +
      `${mb(r.gzipBytes)} MB gzipped, written in ${r.generateSeconds.toFixed(1)} s; Node ${r.node})`,
    phase('(a) readTradeBill (gunzip + SHA1 + parse)', r.parse),
    phase('(b) ReconcileBill.run (records in memory)', r.reconcile),
    `  of which listing the settled records from the bench's generator: ${r.listSettledSeconds.toFixed(2)} s`,
    `  report: ${int(c.wechat)} lines at WeChat, ${int(c.here)} here, ${int(c.matched)} matched, ` +
      `${c.discrepancies} discrepancies (${kinds}; ${r.reconcile.repaired} repaired), as planted`,
  ].join('\n');
}

/** The bench's own numbers in `--json` (snake_case, rounded). */
export function billReconcileJson(r: BillReconcileResult): Record<string, unknown> {
  const phase = (p: PhaseResult) => ({
    seconds: Number(p.seconds.toFixed(3)),
    cpu_seconds: Number(p.cpuSeconds.toFixed(3)),
    lines_per_second: Math.round(p.linesPerSecond),
    peak_rss_mb: mb(p.memory.rssBytes),
    start_rss_mb: mb(p.memory.startRssBytes),
    peak_heap_mb: mb(p.memory.heapUsedBytes),
    start_heap_mb: mb(p.memory.startHeapUsedBytes),
  });
  return {
    lines: r.lines,
    bill_bytes: r.bytes,
    gzip_bytes: r.gzipBytes,
    generate_seconds: Number(r.generateSeconds.toFixed(2)),
    list_settled_seconds: Number(r.listSettledSeconds.toFixed(2)),
    parse: phase(r.parse),
    reconcile: {
      ...phase(r.reconcile),
      counts: r.reconcile.counts,
      discrepancies_by_kind: r.reconcile.byKind,
      repaired: r.reconcile.repaired,
    },
    node: r.node,
  };
}

/** `--lines N` (default 1,000,000) and `--json`. */
export function parseBillBenchArgs(argv: readonly string[]): { lines: number; json: boolean } {
  let lines = DEFAULT_LINES;
  let json = false;
  for (let k = 0; k < argv.length; k += 1) {
    const arg = argv[k] as string;
    if (arg === '--json') json = true;
    else if (arg === '--lines' || arg.startsWith('--lines=')) {
      const value = arg === '--lines' ? argv[(k += 1)] : arg.slice('--lines='.length);
      lines = Number(value);
      if (!Number.isInteger(lines) || lines < 1) throw new Error(`--lines needs a whole number ≥ 1, got ${value}`);
    } else throw new Error(`unknown argument "${arg}"; usage: bill-reconcile.ts [--lines N] [--json]`);
  }
  return { lines, json };
}

async function main(): Promise<void> {
  const { lines, json } = parseBillBenchArgs(process.argv.slice(2));
  const result = await runBillReconcile({ lines, progress: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(`${json ? JSON.stringify(billReconcileJson(result)) : renderBillReconcile(result)}\n`);
}

runIfEntryPoint(import.meta.url, main);
