import { createHash, generateKeyPairSync } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readWechatpaySignature, verifyWechatpaySignature } from '#shared/wechatpay/v3/wechatpay-signature';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { ShiftedClock, daysAgo, nextDate, readBill, sandboxBill, setBillFaults } from './bills-support';
import { complete, httpsCall, newOutRefundNo } from './refund-support';
import { newOutTradeNo, pay } from './support';
import { V3_MERCHANT, authorizationFor, callV3, platformKeys, prepayBody, startV3Simulator } from './v3-support';
import type { RawAnswer } from './v3-support';

const BOM = '\uFEFF';

describe('v3 GET /v3/bill/tradebill and the download URL', () => {
  const clock = new ShiftedClock();
  let sim: RunningSimulator;
  const day = daysAgo(4);
  const made: Record<string, string> = {};

  /** A v3 call signed at the simulator's time. */
  const call = (
    method: 'GET' | 'POST',
    pathAndQuery: string,
    body?: unknown,
    opts: Parameters<typeof callV3>[4] = {},
  ) => callV3(sim, method, pathAndQuery, body, { timestamp: clock.seconds(), ...opts });

  /** WeChat's signature on an answer, checked at the simulator's time. */
  const signedByWechat = async (answer: RawAnswer) =>
    (
      await verifyWechatpaySignature(
        { signature: readWechatpaySignature(answer.headers), body: answer.text },
        platformKeys(sim),
        { now: new Date(clock.now()) },
      )
    ).ok;

  const tradeBill = (billDate: string, extra = '&bill_type=ALL&tar_type=GZIP') =>
    call('GET', `/v3/bill/tradebill?bill_date=${billDate}${extra}`);

  /** Downloads a download_url as the merchant: Authorization over its path and query. */
  async function download(downloadUrl: string, opts: { authorization?: string | null } = {}) {
    const url = new URL(downloadUrl);
    const pathAndQuery = `${url.pathname}${url.search}`;
    const headers: Record<string, string> = {};
    const authorization =
      opts.authorization === undefined
        ? authorizationFor('GET', pathAndQuery, '', { timestamp: clock.seconds() })
        : opts.authorization;
    if (authorization !== null) headers.Authorization = authorization;
    const res = await fetch(downloadUrl, { headers });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  }

  async function prepayAndPay(total: number, prefix: string): Promise<{ outTradeNo: string; transactionId: string }> {
    const outTradeNo = newOutTradeNo(prefix);
    const created = await call(
      'POST',
      '/v3/pay/transactions/native',
      prepayBody(outTradeNo, 'http://127.0.0.1:9/n', { amount: { total, currency: 'CNY' } }),
    );
    if (created.status !== 200) throw new Error(`prepay failed: ${created.text}`);
    const paid = await pay(sim.url, outTradeNo);
    return { outTradeNo, transactionId: paid.json.transaction_id as string };
  }

  beforeAll(async () => {
    sim = await startV3Simulator({ clock });
    clock.setBeijing(`${day} 11:00:00`);
    made.paid = (await prepayAndPay(1500, 'V3BP')).outTradeNo;
    const unpaid = newOutTradeNo('V3BU');
    await call('POST', '/v3/pay/transactions/native', prepayBody(unpaid, 'http://127.0.0.1:9/n'));
    const closed = newOutTradeNo('V3BC');
    await call('POST', '/v3/pay/transactions/native', prepayBody(closed, 'http://127.0.0.1:9/n'));
    clock.advance(6 * 60_000);
    const close = await call('POST', `/v3/pay/transactions/out-trade-no/${closed}/close`, {
      mchid: V3_MERCHANT.mchid,
    });
    expect(close.status).toBe(204);
    made.refunded = (await prepayAndPay(1000, 'V3BR')).outTradeNo;
    made.refund = newOutRefundNo('V3BRF');
    const refund = await call('POST', '/v3/refund/domestic/refunds', {
      out_trade_no: made.refunded,
      out_refund_no: made.refund,
      amount: { refund: 400, total: 1000, currency: 'CNY' },
    });
    expect(refund.status).toBe(200);
    await complete(sim, made.refund, 'SUCCESS');
    clock.setBeijing(`${daysAgo(0)} 12:00:00`);
  });

  afterAll(async () => {
    await sim.close();
  });

  it('answers a signed SHA1 and download URL; the file (gzip, unsigned) hashes to it and holds the day', async () => {
    const answer = await tradeBill(day);
    expect(answer.status).toBe(200);
    expect(await signedByWechat(answer)).toBe(true);
    expect(answer.json).toEqual({
      hash_type: 'SHA1',
      hash_value: expect.stringMatching(/^[0-9a-f]{40}$/),
      download_url: expect.stringMatching(new RegExp(`^${sim.url}/v3/billdownload/file\\?token=[0-9a-f]+$`)),
    });
    const file = await download(answer.json?.download_url as string);
    expect(file.status).toBe(200);
    expect([...file.headers.keys()].filter((name) => name.startsWith('wechatpay-'))).toEqual([]);
    const content = gunzipSync(file.bytes);
    expect(createHash('sha1').update(content).digest('hex')).toBe(answer.json?.hash_value);

    const text = content.toString('utf8');
    expect(text.startsWith(BOM)).toBe(true);
    // The same bill as v2's (and the sandbox's), behind the byte order mark.
    expect(text.slice(1)).toBe((await sandboxBill(sim, day)).text);
    const bill = readBill(text);
    expect(bill.rows.map((r) => [r.商户订单号, r.交易状态, r.订单金额, r.申请退款金额, r.退款状态])).toEqual([
      [made.paid, 'SUCCESS', '15.00', '0.00', ''],
      [made.refunded, 'SUCCESS', '10.00', '0.00', ''],
      [made.refunded, 'REFUND', '0.00', '4.00', 'SUCCESS'],
    ]);
    expect(bill.summary).toMatchObject({ 总交易单数: '3', 订单总金额: '25.00', 申请退款总金额: '4.00' });
  });

  it('serves plain text without tar_type, and a download URL on the origin the caller used (HTTPS)', async () => {
    const plain = await tradeBill(day, '');
    const file = await download(plain.json?.download_url as string);
    expect(file.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(createHash('sha1').update(file.bytes).digest('hex')).toBe(plain.json?.hash_value);

    const pathAndQuery = `/v3/bill/tradebill?bill_date=${day}`;
    const overTls = await httpsCall(`${sim.httpsUrl}${pathAndQuery}`, {
      headers: { Authorization: authorizationFor('GET', pathAndQuery, '', { timestamp: clock.seconds() }) },
      ca: sim.tls.caCertPem,
    });
    expect(overTls.status).toBe(200);
    const url = (JSON.parse(overTls.text) as { download_url: string }).download_url;
    expect(url.startsWith(`${sim.httpsUrl}/v3/billdownload/file?token=`)).toBe(true);
  });

  it('answers 400 NO_STATEMENT_EXIST for a day without trades (signed)', async () => {
    const answer = await tradeBill(daysAgo(40));
    expect(answer.status).toBe(400);
    expect(answer.json?.code).toBe('NO_STATEMENT_EXIST');
    expect(await signedByWechat(answer)).toBe(true);
  });

  it('answers 400 PARAM_ERROR for malformed, future and expired dates and other bill types', async () => {
    for (const query of [
      `bill_date=${day.replace(/-/g, '')}`,
      'bill_date=2024-02-30',
      `bill_date=${nextDate(daysAgo(0))}`,
      `bill_date=${daysAgo(93)}`,
      'bill_type=ALL',
      `bill_date=${day}&bill_type=SUCCESS`,
      `bill_date=${day}&tar_type=ZIP`,
    ]) {
      const answer = await call('GET', `/v3/bill/tradebill?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.json?.code, query).toBe('PARAM_ERROR');
    }
    expect((await tradeBill(daysAgo(0))).json?.code).toBe('NO_STATEMENT_EXIST');
  });

  it('refuses an unsigned or wrongly signed tradebill request (401 SIGN_ERROR)', async () => {
    const path = `/v3/bill/tradebill?bill_date=${day}`;
    expect((await call('GET', path, undefined, { authorization: null })).status).toBe(401);
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const wrong = await call('GET', path, undefined, { privateKey: otherKey });
    expect(wrong.status).toBe(401);
    expect(wrong.json?.code).toBe('SIGN_ERROR');
  });

  it('refuses a download without the Authorization, wrongly signed, or signed for another URL', async () => {
    const url = (await tradeBill(day)).json?.download_url as string;
    const unsigned = await download(url, { authorization: null });
    expect(unsigned.status).toBe(401);
    expect(JSON.parse(unsigned.bytes.toString('utf8'))).toMatchObject({ code: 'SIGN_ERROR' });
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const path = `${new URL(url).pathname}${new URL(url).search}`;
    const forged = await download(url, {
      authorization: authorizationFor('GET', path, '', { privateKey: otherKey, timestamp: clock.seconds() }),
    });
    expect(forged.status).toBe(401);
    const elsewhere = await download(url, {
      authorization: authorizationFor('GET', '/v3/billdownload/file?token=other', '', { timestamp: clock.seconds() }),
    });
    expect(elsewhere.status).toBe(401);
    // Still valid for the merchant.
    expect((await download(url)).status).toBe(200);
  });

  it('keeps a download URL 30 seconds; an unknown token is refused', async () => {
    const url = (await tradeBill(day)).json?.download_url as string;
    clock.advance(29_000);
    expect((await download(url)).status).toBe(200);
    clock.advance(2_000);
    const late = await download(url);
    expect(late.status).toBe(400);
    expect(JSON.parse(late.bytes.toString('utf8'))).toMatchObject({ code: 'INVALID_REQUEST' });
    const unknown = await download(`${sim.url}/v3/billdownload/file?token=${'0'.repeat(48)}`);
    expect(unknown.status).toBe(400);
  });

  it('creating: 400 STATEMENT_CREATING; tamper: the file misses hash_value, its summary agrees', async () => {
    await setBillFaults(sim, day, { creating: true });
    const creating = await tradeBill(day);
    expect(creating.status).toBe(400);
    expect(creating.json?.code).toBe('STATEMENT_CREATING');
    expect(await signedByWechat(creating)).toBe(true);

    await setBillFaults(sim, day, {});
    const honestAnswer = await tradeBill(day);
    const honest = readBill(
      gunzipSync((await download(honestAnswer.json?.download_url as string)).bytes).toString('utf8'),
    );

    await setBillFaults(sim, day, { tamper: true });
    const answer = await tradeBill(day);
    expect(answer.status).toBe(200);
    // hash_value is the honest file's: the tamper is made after it.
    expect(answer.json?.hash_value).toBe(honestAnswer.json?.hash_value);
    const content = gunzipSync((await download(answer.json?.download_url as string)).bytes);
    expect(createHash('sha1').update(content).digest('hex')).not.toBe(answer.json?.hash_value);
    // One digit of the first line's 微信订单号, a field the summary does not add up: amounts and summary
    // are the honest ones, so the SHA1 alone can tell.
    const bill = readBill(content.toString('utf8'));
    const first = honest.rows[0] as (typeof honest.rows)[number];
    const changed = bill.rows[0]?.微信订单号 as string;
    expect(changed).not.toBe(first.微信订单号);
    expect(changed).toHaveLength(first.微信订单号.length);
    expect(changed.slice(0, -1)).toBe(first.微信订单号.slice(0, -1));
    expect(bill.rows).toEqual([{ ...first, 微信订单号: changed }, ...honest.rows.slice(1)]);
    expect(bill.summary).toEqual(honest.summary);
    expect(bill.summary.订单总金额).toBe('25.00');
    expect((await sandboxBill(sim, day, 'v3')).text).toBe(content.toString('utf8').slice(BOM.length));

    await setBillFaults(sim, day, {});
    const again = await tradeBill(day);
    const file = gunzipSync((await download(again.json?.download_url as string)).bytes);
    expect(createHash('sha1').update(file).digest('hex')).toBe(again.json?.hash_value);
  });

  it('unknown_payment: billed, and the v3 query reports it paid', async () => {
    const date = daysAgo(8);
    const set = await setBillFaults(sim, date, { unknown_payment: { total: 999 } });
    const unknown = set.json.unknown_payment as { out_trade_no: string; transaction_id: string };
    const answer = await tradeBill(date);
    const content = gunzipSync((await download(answer.json?.download_url as string)).bytes).toString('utf8');
    expect(readBill(content).rows).toEqual([
      expect.objectContaining({ 商户订单号: unknown.out_trade_no, 交易状态: 'SUCCESS', 订单金额: '9.99' }),
    ]);
    const query = await call(
      'GET',
      `/v3/pay/transactions/out-trade-no/${unknown.out_trade_no}?mchid=${V3_MERCHANT.mchid}`,
    );
    expect(query.json).toMatchObject({
      trade_state: 'SUCCESS',
      transaction_id: unknown.transaction_id,
      amount: { total: 999 },
    });
  });
});
