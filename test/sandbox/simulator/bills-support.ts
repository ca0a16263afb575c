import { gunzipSync } from 'node:zlib';
import { ALL_BILL_COLUMNS, BILL_SUMMARY_COLUMNS } from '#shared/wechatpay/bills/trade-bill';
import { signV2 } from '#shared/wechatpay/v2/sign';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import { beijingDateOf } from '#sandbox/simulator/bill-dates';
import type { Clock } from '#sandbox/simulator/clock';
import { systemClock } from '#sandbox/simulator/clock';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT } from './support';

const DAY_MS = 86_400_000;

/**
 * The simulator's clock for bill tests: real time shifted so a test can make trades on a chosen
 * Beijing day and ask for that day's bill later (a bill day must not be cut by a real midnight).
 */
export class ShiftedClock implements Clock {
  private offset = 0;
  readonly setTimer = systemClock.setTimer;
  readonly clearTimer = systemClock.clearTimer;

  now(): number {
    return Date.now() + this.offset;
  }

  /** From now on the clock reads this Beijing wall time (`YYYY-MM-DD HH:mm:ss`), then runs on. */
  setBeijing(wall: string): void {
    this.offset = Date.parse(`${wall.replace(' ', 'T')}+08:00`) - Date.now();
  }

  /** Back to real time (for a client that signs and verifies on it). */
  reset(): void {
    this.offset = 0;
  }

  advance(ms: number): void {
    this.offset += ms;
  }

  /** Seconds for a v3 Authorization timestamp the simulator's clock accepts. */
  seconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/** The Beijing date `days` days before today (real time), `YYYY-MM-DD`. */
export function daysAgo(days: number): string {
  return beijingDateOf(Date.now() - days * DAY_MS);
}

/** The Beijing date after `date`. */
export function nextDate(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

export interface V2BillAnswer {
  status: number;
  contentType: string | null;
  /** The refusal's fields when the answer is XML (starts with `<`). */
  refusal: Record<string, string> | undefined;
  raw: string;
  /** The bill text (decompressed when gzip), when not a refusal. */
  text: string | undefined;
}

/** POST /pay/downloadbill signed like the merchant (or not: `sign: null`, or another key). */
export async function downloadBillV2(
  sim: RunningSimulator,
  params: Record<string, string | undefined>,
  opts: { key?: string; sign?: null } = {},
): Promise<V2BillAnswer> {
  const body: Record<string, string | undefined> = {
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: `b${Math.random().toString(36).slice(2, 12)}`,
    bill_type: 'ALL',
    tar_type: 'GZIP',
    ...params,
  };
  if (opts.sign !== null)
    body.sign = signV2(body, opts.key ?? MERCHANT.apiKey, body.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5');
  const res = await fetch(`${sim.url}/pay/downloadbill`, { method: 'POST', body: toXml(body) });
  const bytes = Buffer.from(await res.arrayBuffer());
  const raw = bytes.toString('utf8');
  if (raw.startsWith('<'))
    return {
      status: res.status,
      contentType: res.headers.get('content-type'),
      refusal: parseXml(raw),
      raw,
      text: undefined,
    };
  const text = body.tar_type === 'GZIP' ? gunzipSync(bytes).toString('utf8') : raw;
  return { status: res.status, contentType: res.headers.get('content-type'), refusal: undefined, raw, text };
}

export interface ReadBill {
  header: string;
  /** Each data line by column name, the backticks removed. */
  rows: Array<Record<(typeof ALL_BILL_COLUMNS)[number], string>>;
  summaryHeader: string;
  summary: Record<(typeof BILL_SUMMARY_COLUMNS)[number], string>;
}

/** A bill's text read by hand (test products have no comma in their names): header, rows, summary. */
export function readBill(text: string): ReadBill {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (!body.endsWith('\r\n')) throw new Error('the bill does not end with CRLF');
  const lines = body.slice(0, -2).split('\r\n');
  const fields = (line: string) => {
    if (!line.startsWith('`')) throw new Error(`not a bill line: ${line}`);
    return line.slice(1).split(',`');
  };
  const named = <K extends string>(names: readonly K[], values: string[]) => {
    if (values.length !== names.length) throw new Error(`${values.length} fields, expected ${names.length}`);
    return Object.fromEntries(names.map((name, i) => [name, values[i] as string])) as Record<K, string>;
  };
  return {
    header: lines[0] as string,
    rows: lines.slice(1, -2).map((line) => named(ALL_BILL_COLUMNS, fields(line))),
    summaryHeader: lines.at(-2) as string,
    summary: named(BILL_SUMMARY_COLUMNS, fields(lines.at(-1) as string)),
  };
}

export async function setBillFaults(
  sim: RunningSimulator,
  billDate: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${sim.url}/sandbox/bills/${billDate}/faults`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** GET /sandbox/bills/{bill_date}[?api=…]: the bill as text (or the JSON error). */
export async function sandboxBill(
  sim: RunningSimulator,
  billDate: string,
  api?: string,
): Promise<{ status: number; text: string }> {
  const res = await fetch(`${sim.url}/sandbox/bills/${billDate}${api === undefined ? '' : `?api=${api}`}`);
  return { status: res.status, text: await res.text() };
}
