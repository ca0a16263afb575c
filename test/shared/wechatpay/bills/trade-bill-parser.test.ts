import { describe, expect, it } from 'vitest';

import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import {
  ALL_BILL_COLUMNS,
  BILL_SUMMARY_COLUMNS,
  BillFormatError,
  formatTradeBill,
} from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { paymentRow, refundRow } from '#test/helpers/bill-rows';

const HEADER = ALL_BILL_COLUMNS.join(',');
const SUMMARY_HEADER = BILL_SUMMARY_COLUMNS.join(',');

/**
 * The ALL row of a public WXPay SDK doc comment, exactly as quoted in ../shared/notes/events-bills-sigv4.md
 * section B.1 ("Exact sample ALL row"): a published fact about WeChat's format, not made up here.
 */
const PUBLISHED_ROW =
  '`2021-10-24 21:31:47,`wxbc462ec740814766,`1515824841,`0,`,`4200001118202110248678272487,`201210240000023,' +
  '`oePyf52e7mpMJjSrTpbig7qiy0ZE,`MWEB,`SUCCESS,`OTHERS,`CNY,`0.01,`0.00,`0,`0,`0.00,`0.00,`,`,`测试商品,`,' +
  '`0.00000,`0.60%,`0.01,`0.00,`';

/** Its summary (one line of 0.01 yuan), in the layout of the note's summary sample. */
const PUBLISHED_SUMMARY = '`1,`0.01,`0.00,`0.00,`0.00000,`0.01,`0.00';

async function* chunksOf(...parts: (string | Uint8Array)[]): AsyncGenerator<string | Uint8Array> {
  for (const part of parts) yield part;
}

async function readAll(...parts: (string | Uint8Array)[]): Promise<TradeBillRow[]> {
  const rows: TradeBillRow[] = [];
  for await (const row of readTradeBill(chunksOf(...parts))) rows.push(row);
  return rows;
}

async function refusal(...parts: (string | Uint8Array)[]): Promise<BillFormatError> {
  const rows: TradeBillRow[] = [];
  try {
    for await (const row of readTradeBill(chunksOf(...parts))) rows.push(row);
  } catch (error) {
    expect(error).toBeInstanceOf(BillFormatError);
    return error as BillFormatError;
  }
  throw new Error(`the bill was accepted with ${rows.length} rows`);
}

function bill(lines: string[], eol = '\r\n'): string {
  return lines.join(eol) + eol;
}

describe('readTradeBill on the published sample', () => {
  it('reads the public ALL row: 0.01 yuan is 1 fen, fee 0.00000, rate 0.60%, refund fields 0/empty', async () => {
    const rows = await readAll(bill([HEADER, PUBLISHED_ROW, SUMMARY_HEADER, PUBLISHED_SUMMARY]));
    expect(rows).toEqual([
      {
        tradeTime: '2021-10-24 21:31:47',
        appid: 'wxbc462ec740814766',
        mchid: '1515824841',
        subMchid: '0',
        deviceInfo: '',
        transactionId: '4200001118202110248678272487',
        outTradeNo: '201210240000023',
        openid: 'oePyf52e7mpMJjSrTpbig7qiy0ZE',
        tradeType: 'MWEB',
        tradeState: 'SUCCESS',
        bankType: 'OTHERS',
        currency: 'CNY',
        settlementTotalFen: 1,
        couponFen: 0,
        refundId: '0',
        outRefundNo: '0',
        refundFen: 0,
        couponRefundFen: 0,
        refundType: '',
        refundStatus: undefined,
        body: '测试商品',
        attach: '',
        feeMilliFen: 0,
        rate: '0.60%',
        totalFen: 1,
        appliedRefundFen: 0,
        rateNote: '',
      },
    ]);
  });

  it('reads it with a BOM and LF line ends, and with CRLF and a trailing empty line', async () => {
    const lines = [HEADER, PUBLISHED_ROW, SUMMARY_HEADER, PUBLISHED_SUMMARY];
    const expected = await readAll(bill(lines));
    expect(await readAll(`\ufeff${bill(lines, '\n')}`)).toEqual(expected);
    expect(await readAll(`\ufeff${bill(lines)}\r\n`)).toEqual(expected);
    expect(await readAll(lines.join('\n'))).toEqual(expected);
  });
});

describe('free text in the middle', () => {
  it('keeps a product name holding a backtick and a ",`" pair whole; attach is the last middle field', async () => {
    const rows = [
      paymentRow({ body: 'Tom`s 咖啡, large', attach: 'cart=42' }),
      paymentRow({ outTradeNo: 'ORDER0002', body: 'a,`b,`c', attach: '' }),
      paymentRow({ outTradeNo: 'ORDER0003', body: '`,`', attach: 'x`y,z' }),
      paymentRow({ outTradeNo: 'ORDER0004', body: '', attach: '' }),
    ];
    const read = await readAll(formatTradeBill(rows));
    expect(read.map((r) => [r.body, r.attach])).toEqual([
      ['Tom`s 咖啡, large', 'cart=42'],
      ['a,`b,`c', ''],
      ['`,`', 'x`y,z'],
      ['', ''],
    ]);
    expect(read).toEqual(rows);
  });
});

describe('formatTradeBill → readTradeBill', () => {
  it('reads back exactly the rows written: payments, refunds of every status, a revoked payment', async () => {
    const rows = [
      paymentRow(),
      paymentRow({ outTradeNo: 'ORDER0002', totalFen: 1, settlementTotalFen: 1, feeMilliFen: 6, tradeType: 'NATIVE' }),
      refundRow(),
      refundRow({
        outRefundNo: 'RF0002',
        refundStatus: 'PROCESSING',
        refundFen: 1,
        appliedRefundFen: 1,
        feeMilliFen: -6,
      }),
      refundRow({ outRefundNo: 'RF0003', refundStatus: 'CLOSED' }),
      refundRow({ outRefundNo: 'RF0004', refundStatus: 'ABNORMAL', couponRefundFen: 100, refundFen: 400 }),
      paymentRow({ outTradeNo: 'ORDER0003', tradeState: 'REVOKED', couponFen: 20, settlementTotalFen: 1979 }),
      paymentRow({ outTradeNo: 'ORDER0004', totalFen: 123_456_789_01, settlementTotalFen: 123_456_789_01 }),
    ];
    expect(await readAll(formatTradeBill(rows))).toEqual(rows);
  });

  it('reads an empty day (header, summary of zeros)', async () => {
    expect(await readAll(formatTradeBill([]))).toEqual([]);
  });
});

describe('chunk boundaries', () => {
  it('parses identically however the bytes are cut, including inside a multi-byte character', async () => {
    const rows = [
      paymentRow(),
      refundRow({ body: '退款:测试商品`,`二' }),
      paymentRow({ outTradeNo: 'ORDER0009', body: '𠮷野家' }),
    ];
    const bytes = Buffer.from(`\ufeff${formatTradeBill(rows)}`, 'utf8');
    const whole = await readAll(bytes);
    expect(whole).toEqual(rows);

    // Every cut into two, then random cuts of 1..7 bytes (seeded, so a failure repeats).
    for (let cut = 0; cut <= bytes.length; cut += 1) {
      expect(await readAll(bytes.subarray(0, cut), bytes.subarray(cut))).toEqual(rows);
    }
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let round = 0; round < 50; round += 1) {
      const parts: Uint8Array[] = [];
      for (let at = 0; at < bytes.length;) {
        const size = 1 + Math.floor(random() * 7);
        parts.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(await readAll(...parts)).toEqual(rows);
    }
  });

  it('keeps what it has of a line when the source reuses its buffer for the next chunk', async () => {
    const rows = [paymentRow(), refundRow()];
    const bytes = Buffer.from(formatTradeBill(rows), 'utf8');
    async function* reusing(): AsyncGenerator<Uint8Array> {
      const buffer = new Uint8Array(50);
      for (let at = 0; at < bytes.length; at += buffer.length) {
        const part = bytes.subarray(at, at + buffer.length);
        buffer.set(part);
        yield buffer.subarray(0, part.length);
      }
    }
    const read: TradeBillRow[] = [];
    for await (const row of readTradeBill(reusing())) read.push(row);
    expect(read).toEqual(rows);
  });

  it('counts "中" split across chunks as one character: the byte-at-a-time bill is the same bill', async () => {
    const text = formatTradeBill([paymentRow({ body: '中' })]);
    const bytes = Buffer.from(text, 'utf8');
    const oneByOne = [...bytes].map((b) => Uint8Array.of(b));
    expect((await readAll(...oneByOne))[0]?.body).toBe('中');
  });
});

describe('summary', () => {
  const rows = [paymentRow(), refundRow()];
  const lines = formatTradeBill(rows).split('\r\n');
  // header, 2 rows, summary header, summary, ''
  const summaryAt = 5;

  it('refuses a bill without its summary (cut short after the rows, or after the summary header)', async () => {
    const noSummary = await refusal(bill(lines.slice(0, 3)));
    expect(noSummary.message).toMatch(/without its summary/);
    expect(noSummary.line).toBe(3);
    const noValues = await refusal(bill(lines.slice(0, 4)));
    expect(noValues.message).toMatch(/without its summary/);
  });

  it('refuses a summary whose count disagrees, naming the column and line', async () => {
    const changed = [...lines];
    changed[summaryAt - 1] = (changed[summaryAt - 1] ?? '').replace(/^`2,/, '`3,');
    const err = await refusal(changed.join('\r\n'));
    expect(err.line).toBe(summaryAt);
    expect(err.message).toContain('总交易单数 says 3, the lines add up to 2');
  });

  it('refuses a bill with one amount changed and the summary left as it was', async () => {
    const changed = [...lines];
    changed[1] = (changed[1] ?? '').replace(',`19.99,`0.00,`', ',`19.98,`0.00,`');
    expect(changed[1]).not.toBe(lines[1]);
    const err = await refusal(changed.join('\r\n'));
    expect(err.line).toBe(summaryAt);
    expect(err.message).toContain('应结订单总金额 says 1999, the lines add up to 1998');
  });

  it('refuses a summary with a changed fee total', async () => {
    const changed = [...lines];
    changed[summaryAt - 1] = (changed[summaryAt - 1] ?? '').replace('`0.08994', '`0.08995');
    expect(changed[summaryAt - 1]).not.toBe(lines[summaryAt - 1]);
    const err = await refusal(changed.join('\r\n'));
    expect(err.message).toContain('手续费总金额');
  });

  it('refuses text after the summary and a second summary', async () => {
    expect((await refusal(bill([...lines.slice(0, 5), 'more']))).line).toBe(6);
    expect((await refusal(bill([...lines.slice(0, 5), lines[4] ?? '']))).line).toBe(6);
  });
});

describe('lines that are not WeChat’s', () => {
  const good = paymentRow();
  const line = formatTradeBill([good]).split('\r\n')[1] ?? '';

  it.each<[string, string, RegExp]>([
    ['a float-looking amount', line.replace(',`19.99,', ',`1.999e1,'), /应结订单金额: not an amount/],
    ['three decimals', line.replace(',`19.99,', ',`19.990,'), /应结订单金额/],
    ['an unknown trade state', line.replace('`SUCCESS,', '`PAID,'), /交易状态 "PAID" is unknown/],
    [
      'an unknown refund status',
      formatTradeBill([refundRow()]).split('\r\n')[1]?.replace('`ORIGINAL,`SUCCESS,', '`ORIGINAL,`DONE,') ?? '',
      /退款状态 "DONE"/,
    ],
    ['a bad fee', line.replace('`0.11994,', '`0.1199x,'), /手续费: not a fee/],
    ['a bad time', line.replace('`2026-01-05 10:00:00,', '`2026/01/05 10:00,'), /交易时间/],
    ['too few fields', line.split(',`').slice(0, 20).join(',`'), /27 fields expected/],
  ])('refuses %s with its line number', async (_what, bad, message) => {
    const err = await refusal(bill([HEADER, line, bad, SUMMARY_HEADER, '`2,`0.00,`0.00,`0.00,`0.00000,`0.00,`0.00']));
    expect(err.message).toMatch(message);
    expect(err.line).toBe(3);
  });

  it('refuses another header, an empty bill, a line of another kind, and bytes that are not UTF-8', async () => {
    expect((await refusal(bill(['交易时间,公众账号ID', line]))).line).toBe(1);
    expect((await refusal('')).message).toMatch(/empty/);
    expect((await refusal(bill([HEADER, 'hello']))).line).toBe(2);
    const bad = Buffer.concat([Buffer.from(`${HEADER}\r\n${line.slice(0, 30)}`), Buffer.of(0xff), Buffer.from('\r\n')]);
    const err = await refusal(bad);
    expect(err.message).toMatch(/UTF-8/);
    expect(err.line).toBe(2);
  });

  it('refuses a line over the cap without gathering it whole', async () => {
    const long = `\`${'x'.repeat(2000)}`;
    const options = { maxLineBytes: 1024 };
    async function* source(): AsyncGenerator<string> {
      yield `${HEADER}\r\n`;
      // An endless line: the reader must stop on its own.
      for (;;) yield long;
    }
    const rows: TradeBillRow[] = [];
    const err = await (async () => {
      try {
        for await (const row of readTradeBill(source(), options)) rows.push(row);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(BillFormatError);
    expect((err as BillFormatError).line).toBe(2);
    expect((err as BillFormatError).message).toMatch(/longer than 1024 bytes/);
  });
});

describe('streaming', () => {
  it('yields rows before the bill has ended, and throws at the end when the summary disagrees', async () => {
    const lines = formatTradeBill([paymentRow(), paymentRow({ outTradeNo: 'ORDER0002' })]).split('\r\n');
    let released: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      released = resolve;
    });
    async function* source(): AsyncGenerator<string> {
      yield `${lines[0]}\r\n${lines[1]}\r\n`;
      await gate;
      yield `${lines[2]}\r\n${lines[3]}\r\n\`2,\`0.00,\`0.00,\`0.00,\`0.00000,\`0.00,\`0.00\r\n`;
    }
    const iterator = readTradeBill(source())[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.done).toBe(false);
    expect(first.value).toMatchObject({ outTradeNo: 'ORDER0001' });
    released();
    expect((await iterator.next()).value).toMatchObject({ outTradeNo: 'ORDER0002' });
    await expect(iterator.next()).rejects.toBeInstanceOf(BillFormatError);
  });
});
