import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';

import type { BillDownload } from '#shared/wechatpay/bills/bill-download';
import type { TradeBillRow } from '#shared/wechatpay/bills/trade-bill';
import { BillFormatError } from '#shared/wechatpay/bills/trade-bill';
import { readTradeBill } from '#shared/wechatpay/bills/trade-bill-parser';
import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { WechatPayV2Client } from '#shared/wechatpay/v2/client';
import type { WechatPayV2ClientOptions } from '#shared/wechatpay/v2/client';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { toXml } from '#shared/wechatpay/v2/xml';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { startCraftedServer } from '#test/helpers/wechatpay-v2';
import { billBytes, downloadedBytes, gzippedBill, paymentRow } from '#test/helpers/bill-rows';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

/**
 * WechatPayV2Client.downloadBill over real HTTP against a loopback server answering as
 * pay/downloadbill does: the gzip file, or an unsigned XML failure.
 */

const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function clientFor(
  answer: (req: CraftedRequest, index: number) => CraftedAnswer | Promise<CraftedAnswer>,
  options: Partial<WechatPayV2ClientOptions> = {},
): Promise<{ client: WechatPayV2Client; server: CraftedServer; sleeps: number[] }> {
  const server = await startCraftedServer(answer);
  closers.push(() => server.close());
  const sleeps: number[] = [];
  const client = new WechatPayV2Client({
    baseUrl: server.url,
    ...MERCHANT,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, server, sleeps };
}

const ROW = paymentRow({ appid: MERCHANT.appid, mchid: MERCHANT.mchid, tradeType: 'NATIVE', body: '咖啡`,`大杯' });
const ROW_2: TradeBillRow = { ...ROW, outTradeNo: 'ORDER0002', transactionId: '4200000000202601050000000002' };
const BILL_TEXT = billBytes([ROW, ROW_2]).toString('utf8');
const GZIP_ANSWER: CraftedAnswer = {
  headers: { 'content-type': 'application/octet-stream' },
  body: gzippedBill([ROW, ROW_2]),
};

function failure(returnMsg: string): CraftedAnswer {
  return { body: toXml({ return_code: 'FAIL', return_msg: returnMsg, error_code: '20002' }) };
}

async function bytesOf(download: BillDownload): Promise<string> {
  return (await downloadedBytes(download)).toString('utf8');
}

async function drain(content: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const _chunk of content) {
    // read to the end
  }
}

describe('downloadBill', () => {
  it('sends a signed request for the day’s ALL bill, gzipped, and streams the decompressed bill', async () => {
    const { client, server } = await clientFor(() => GZIP_ANSWER, { signType: 'MD5' });
    const download = await client.downloadBill('2026-01-05');
    expect(await bytesOf(download)).toBe(BILL_TEXT);

    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/pay/downloadbill');
    expect(sent?.fields).toMatchObject({
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      bill_date: '20260105',
      bill_type: 'ALL',
      tar_type: 'GZIP',
      sign_type: 'MD5',
    });
    expect(sent?.fields.nonce_str).toMatch(/^\w{1,32}$/);
    expect(verifyV2(sent?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
  });

  it('hands over content that readTradeBill reads, the backtick product name whole', async () => {
    const { client } = await clientFor(() => GZIP_ANSWER);
    const download = await client.downloadBill('2026-01-05');
    if (download.kind !== 'bill') throw new Error('expected a bill');
    const rows: TradeBillRow[] = [];
    for await (const row of readTradeBill(download.content)) rows.push(row);
    expect(rows.map((r) => [r.outTradeNo, r.body, r.totalFen])).toEqual([
      ['ORDER0001', '咖啡`,`大杯', 1999],
      ['ORDER0002', '咖啡`,`大杯', 1999],
    ]);
  });

  it('refuses, by its summary, a bill altered on the way (v2 bills carry no hash)', async () => {
    const altered = BILL_TEXT.replace(',`19.99,`0.00,`0,', ',`1.99,`0.00,`0,');
    expect(altered).not.toBe(BILL_TEXT);
    const { client } = await clientFor(() => ({ body: gzipSync(Buffer.from(altered, 'utf8')) }));
    const download = await client.downloadBill('2026-01-05');
    if (download.kind !== 'bill') throw new Error('expected a bill');
    const read = async (): Promise<void> => {
      for await (const _row of readTradeBill(download.content)) {
        // read to the end
      }
    };
    await expect(read()).rejects.toBeInstanceOf(BillFormatError);
  });

  it.each([
    ['No Bill Exist', 'no_bill'],
    ['NO Bill Exist', 'no_bill'],
    ['Bill Creating', 'creating'],
  ])('reads "%s" as %s, asking once', async (returnMsg, kind) => {
    const { client, server } = await clientFor(() => failure(returnMsg));
    expect(await client.downloadBill('2026-01-05')).toEqual({ kind });
    expect(server.requests).toHaveLength(1);
  });

  it('throws other failures as the client’s other calls do: invalid bill_date is final', async () => {
    const { client, server } = await clientFor(() => failure('invalid bill_date'));
    const error = await wechatPayErrorOf(client.downloadBill('2026-01-05'));
    expect(error.code).toBe('RETURN_FAIL');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('invalid bill_date');
    expect(server.requests).toHaveLength(1);
  });

  it('retries a system error, then answers the bill', async () => {
    const { client, server, sleeps } = await clientFor((_req, index) =>
      index === 0 ? failure('system error') : GZIP_ANSWER,
    );
    expect(await bytesOf(await client.downloadBill('2026-01-05'))).toBe(BILL_TEXT);
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
    // The same signed request again: WeChat sees one request.
    expect(server.requests[1]?.body).toBe(server.requests[0]?.body);
  });

  it('retries HTTP 503 and gives up after maxAttempts', async () => {
    const { client, server } = await clientFor(() => ({ status: 503, body: 'busy' }), { maxAttempts: 2 });
    const error = await wechatPayErrorOf(client.downloadBill('2026-01-05'));
    expect(error.code).toBe('HTTP_503');
    expect(server.requests).toHaveLength(2);
  });

  it('refuses an answer that is neither gzip nor XML, and XML that is not a failure', async () => {
    const plain = await clientFor(() => ({ body: BILL_TEXT }), { maxAttempts: 1 });
    expect((await wechatPayErrorOf(plain.client.downloadBill('2026-01-05'))).code).toBe('BAD_RESPONSE');
    const success = await clientFor(() => ({ body: toXml({ return_code: 'SUCCESS' }) }), { maxAttempts: 1 });
    expect((await wechatPayErrorOf(success.client.downloadBill('2026-01-05'))).code).toBe('BAD_RESPONSE');
  });

  it.each(['2026-1-5', '20260105', '2026-02-30', ''])('refuses the bill date %j before sending', async (date) => {
    const { client, server } = await clientFor(() => GZIP_ANSWER);
    await expect(client.downloadBill(date)).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a gzip bomb while streaming, once the decompressed size passes maxBillBytes', async () => {
    const { client } = await clientFor(() => ({ body: gzipSync(Buffer.alloc(32 * 1024 * 1024)) }), {
      maxBillBytes: 1024 * 1024,
    });
    const download = await client.downloadBill('2026-01-05');
    if (download.kind !== 'bill') throw new Error('expected a bill');
    const error = await wechatPayErrorOf(drain(download.content));
    expect(error.code).toBe('RESPONSE_TOO_LARGE');
  });

  it('times out an answer whose first bytes do not come', async () => {
    const { client } = await clientFor(() => ({ ...GZIP_ANSWER, delayMs: 1_000 }), {
      timeoutMs: 100,
      maxAttempts: 1,
    });
    expect((await wechatPayErrorOf(client.downloadBill('2026-01-05'))).code).toBe('TIMEOUT');
  });
});

describe('downloadBill streaming', () => {
  /** A server that sends the gzip file in `parts` parts, `pauseMs` apart. */
  async function pausingServer(gzip: Buffer, parts: number, pauseMs: number): Promise<string> {
    const timers = new Set<NodeJS.Timeout>();
    const size = Math.ceil(gzip.length / parts);
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(gzip.length) });
        const send = (part: number): void => {
          const piece = gzip.subarray(part * size, (part + 1) * size);
          if (part === parts - 1) {
            res.end(piece);
            return;
          }
          res.write(piece);
          const timer = setTimeout(() => send(part + 1), pauseMs);
          timers.add(timer);
        };
        send(0);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const timer of timers) clearTimeout(timer);
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    );
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  const gzip = gzippedBill([ROW, ROW_2]);

  it('fails with TIMEOUT while iterating when the body stalls longer than the timeout', async () => {
    const baseUrl = await pausingServer(gzip, 2, 2_000);
    const client = new WechatPayV2Client({ baseUrl, ...MERCHANT, timeoutMs: 200 });
    const download = await client.downloadBill('2026-01-05');
    if (download.kind !== 'bill') throw new Error('expected a bill');
    const error = await wechatPayErrorOf(drain(download.content));
    expect(error.code).toBe('TIMEOUT');
    expect(error.retryable).toBe(true);
  });

  it('lets the body take longer in all than the timeout, as long as bytes keep coming', async () => {
    const baseUrl = await pausingServer(gzip, 4, 150);
    const client = new WechatPayV2Client({ baseUrl, ...MERCHANT, timeoutMs: 250 });
    const started = Date.now();
    const download = await client.downloadBill('2026-01-05');
    // A slow consumer too: its own time between reads is not the network's.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await bytesOf(download)).toBe(BILL_TEXT);
    expect(Date.now() - started).toBeGreaterThan(400);
  });
});
