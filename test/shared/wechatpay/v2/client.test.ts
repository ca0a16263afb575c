import { afterEach, describe, expect, it } from 'vitest';

import { WechatPayValidationError } from '#shared/wechatpay/core/errors';
import { RETRY_BACKOFF, WechatPayV2Client } from '#shared/wechatpay/v2/client';
import type { UnifiedOrderRequest, WechatPayV2ClientOptions } from '#shared/wechatpay/v2/client';
import { signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import { toXml } from '#shared/wechatpay/v2/xml';
import type { CraftedAnswer, CraftedRequest, CraftedServer } from '#test/helpers/wechatpay-v2';
import { signedV2Xml, startCraftedServer } from '#test/helpers/wechatpay-v2';
import { wechatPayErrorOf } from '#test/helpers/wechatpay-error';

/**
 * The client over real HTTP against a loopback server answering crafted bytes: the faults the
 * simulator does not produce (bad signatures, garbage, slow answers, dropped connections).
 */

const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100', apiKey: '192006250b4c09247ec02edce69f6a2d' };

let server: CraftedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function answerFields(
  req: CraftedRequest,
  extra: Record<string, string | undefined>,
): Record<string, string | undefined> {
  return {
    return_code: 'SUCCESS',
    return_msg: 'OK',
    appid: req.fields.appid,
    mch_id: req.fields.mch_id,
    nonce_str: 'IITRi8Iabbblz1Jc',
    result_code: 'SUCCESS',
    ...extra,
  };
}

/** Signed like WeChat: in the request's sign type, with the merchant's key. */
function signed(req: CraftedRequest, extra: Record<string, string | undefined>, key = MERCHANT.apiKey): CraftedAnswer {
  const signType = req.fields.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';
  return { body: signedV2Xml(answerFields(req, extra), key, signType) };
}

async function clientFor(
  answer: (req: CraftedRequest, index: number) => CraftedAnswer | Promise<CraftedAnswer>,
  options: Partial<WechatPayV2ClientOptions> = {},
): Promise<{ client: WechatPayV2Client; sleeps: number[]; server: CraftedServer }> {
  server = await startCraftedServer(answer);
  const sleeps: number[] = [];
  const client = new WechatPayV2Client({
    baseUrl: server.url,
    ...MERCHANT,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { client, sleeps, server };
}

const JSAPI_ORDER: UnifiedOrderRequest = {
  body: 'JSAPI支付测试',
  out_trade_no: '000123',
  total_fee: 88,
  spbill_create_ip: '14.23.150.211',
  notify_url: 'https://merchant.example.com/notify/pay',
  trade_type: 'JSAPI',
  openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
  attach: '深圳分店',
  time_expire: '20261125123000',
};

describe('options', () => {
  const good: WechatPayV2ClientOptions = { baseUrl: 'https://api.mch.weixin.qq.com', ...MERCHANT };

  it('defaults to HMAC-SHA256 and keeps the key out of sight', () => {
    const client = new WechatPayV2Client(good);
    expect(client.signType).toBe('HMAC-SHA256');
    expect(client.appid).toBe(MERCHANT.appid);
    expect(JSON.stringify(client)).not.toContain(MERCHANT.apiKey);
    expect(Object.values(client)).not.toContain(MERCHANT.apiKey);
  });

  it.each<[string, Partial<WechatPayV2ClientOptions> & Record<string, unknown>]>([
    ['baseUrl', { baseUrl: 'not a url' }],
    ['baseUrl', { baseUrl: 'ftp://api.mch.weixin.qq.com' }],
    ['appid', { appid: '' }],
    ['mchid', { mchid: 'has space' }],
    ['apiKey', { apiKey: 'short' }],
    ['apiKey', { apiKey: `${MERCHANT.apiKey}x` }],
    ['signType', { signType: 'SHA1' as never }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['timeoutMs', { timeoutMs: 1.5 }],
    ['maxAttempts', { maxAttempts: 0 }],
    ['maxAttempts', { maxAttempts: 100 }],
    ['fetch', { fetch: 'nope' as never }],
    ['nonce', { nonce: 42 as never }],
    ['sleep', { sleep: {} as never }],
    ['typo', { typo: true }],
  ])('refuses a bad %s at construction', (field, bad) => {
    let err: unknown;
    try {
      new WechatPayV2Client({ ...good, ...bad } as WechatPayV2ClientOptions);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(WechatPayValidationError);
    expect((err as WechatPayValidationError).field).toBe(field);
    expect((err as Error).message).not.toContain(MERCHANT.apiKey);
  });
});

describe('unifiedOrder', () => {
  it('sends a signed request with WeChat’s field names and returns the prepay_id', async () => {
    const { client, server } = await clientFor(
      (req) => signed(req, { prepay_id: 'wx201410272009395522657a690389285100', trade_type: 'JSAPI' }),
      {
        nonce: () => 'fixednonce0123456789',
      },
    );
    const res = await client.unifiedOrder(JSAPI_ORDER);
    expect(res.prepay_id).toBe('wx201410272009395522657a690389285100');
    expect(res.trade_type).toBe('JSAPI');
    expect(res.raw.nonce_str).toBe('IITRi8Iabbblz1Jc');

    const [sent] = server.requests;
    expect(sent?.method).toBe('POST');
    expect(sent?.path).toBe('/pay/unifiedorder');
    expect(sent?.headers['content-type']).toMatch(/^text\/xml/);
    expect(sent?.body).toContain('<out_trade_no>000123</out_trade_no>');
    expect(sent?.body).toContain('<total_fee>88</total_fee>');
    expect(sent?.fields).toMatchObject({
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      nonce_str: 'fixednonce0123456789',
      sign_type: 'HMAC-SHA256',
      body: 'JSAPI支付测试',
      out_trade_no: '000123',
      total_fee: '88',
      spbill_create_ip: '14.23.150.211',
      notify_url: 'https://merchant.example.com/notify/pay',
      trade_type: 'JSAPI',
      openid: 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o',
      attach: '深圳分店',
      time_expire: '20261125123000',
    });
    expect(sent?.fields.sign).toMatch(/^[0-9A-F]{64}$/);
    expect(verifyV2(sent?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
    expect(Object.keys(sent?.fields ?? {})).not.toContain('product_id');
  });

  it('signs with MD5 when configured to, and accepts the MD5-signed answer', async () => {
    const { client, server } = await clientFor((req) => signed(req, { prepay_id: 'wx1', trade_type: 'APP' }), {
      signType: 'MD5',
    });
    await client.unifiedOrder({ ...JSAPI_ORDER, trade_type: 'APP', openid: undefined });
    expect(server.requests[0]?.fields.sign_type).toBe('MD5');
    expect(server.requests[0]?.fields.sign).toMatch(/^[0-9A-F]{32}$/);
    expect(verifyV2(server.requests[0]?.fields ?? {}, MERCHANT.apiKey)).toBe(true);
  });

  it('returns code_url for NATIVE and mweb_url for MWEB', async () => {
    const { client } = await clientFor((req) =>
      req.fields.trade_type === 'NATIVE'
        ? signed(req, { prepay_id: 'wxN', trade_type: 'NATIVE', code_url: 'weixin://wxpay/bizpayurl?pr=abc' })
        : signed(req, {
            prepay_id: 'wxM',
            trade_type: 'MWEB',
            mweb_url: 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=wxM',
          }),
    );
    const native = await client.unifiedOrder({
      ...JSAPI_ORDER,
      trade_type: 'NATIVE',
      openid: undefined,
      product_id: 'sku-1',
    });
    expect(native.code_url).toBe('weixin://wxpay/bizpayurl?pr=abc');
    const mweb = await client.unifiedOrder({
      ...JSAPI_ORDER,
      trade_type: 'MWEB',
      openid: undefined,
      scene_info: JSON.stringify({ h5_info: { type: 'Wap', wap_url: 'https://m.example.com', wap_name: 'shop' } }),
    });
    expect(mweb.mweb_url).toContain('prepay_id=wxM');
  });

  it('refuses a NATIVE answer without code_url', async () => {
    const { client } = await clientFor((req) => signed(req, { prepay_id: 'wxN', trade_type: 'NATIVE' }));
    const err = await wechatPayErrorOf(client.unifiedOrder({ ...JSAPI_ORDER, trade_type: 'NATIVE', product_id: 'p' }));
    expect(err.code).toBe('INVALID_RESPONSE');
  });

  it('refuses a signed answer naming another merchant', async () => {
    const { client } = await clientFor((req) =>
      signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI', mch_id: '1900000109' }),
    );
    const err = await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
    expect(err.code).toBe('INVALID_RESPONSE');
    expect(err.retryable).toBe(false);
  });
});

describe('request validation (before anything is sent)', () => {
  const cases: Array<[string, Partial<Record<keyof UnifiedOrderRequest, unknown>>]> = [
    ['out_trade_no', { out_trade_no: 'has space' }],
    ['out_trade_no', { out_trade_no: 'x'.repeat(33) }],
    ['out_trade_no', { out_trade_no: '' }],
    ['out_trade_no', { out_trade_no: '订单1' }],
    ['body', { body: '' }],
    ['body', { body: 'x'.repeat(129) }],
    ['body', { body: '中'.repeat(43) }],
    ['body', { body: 'tab\there' }],
    ['attach', { attach: 'x'.repeat(128) }],
    ['total_fee', { total_fee: 0 }],
    ['total_fee', { total_fee: -1 }],
    ['total_fee', { total_fee: 1.5 }],
    ['total_fee', { total_fee: '100' }],
    ['total_fee', { total_fee: 2 ** 53 }],
    ['spbill_create_ip', { spbill_create_ip: '300.1.1.1' }],
    ['spbill_create_ip', { spbill_create_ip: 'localhost' }],
    ['notify_url', { notify_url: 'https://merchant.example.com/notify?order=1' }],
    ['notify_url', { notify_url: 'https://merchant.example.com/notify#x' }],
    ['notify_url', { notify_url: 'ftp://merchant.example.com/notify' }],
    ['notify_url', { notify_url: `https://merchant.example.com/${'a'.repeat(256)}` }],
    ['trade_type', { trade_type: 'MICROPAY' }],
    ['openid', { openid: undefined }],
    ['openid', { openid: 'o'.repeat(129) }],
    ['time_expire', { time_expire: '2026-11-25 12:30:00' }],
    ['time_expire', { time_expire: '20261131123000' }],
    ['scene_info', { scene_info: 'not json' }],
    ['scene_info', { scene_info: '[1]' }],
  ];

  it.each(cases)(
    'refuses a bad %s with a WechatPayValidationError naming it, sending nothing',
    async (field, change) => {
      const { client, server } = await clientFor(() => ({ status: 500 }));
      const err = await client
        .unifiedOrder({ ...JSAPI_ORDER, ...change } as UnifiedOrderRequest)
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WechatPayValidationError);
      expect((err as WechatPayValidationError).field).toBe(field);
      expect(server.requests).toHaveLength(0);
    },
  );

  it('requires product_id for NATIVE and scene_info for MWEB', async () => {
    const { client } = await clientFor(() => ({ status: 500 }));
    const native = await client.unifiedOrder({ ...JSAPI_ORDER, trade_type: 'NATIVE' }).catch((e: unknown) => e);
    expect((native as WechatPayValidationError).field).toBe('product_id');
    const mweb = await client.unifiedOrder({ ...JSAPI_ORDER, trade_type: 'MWEB' }).catch((e: unknown) => e);
    expect((mweb as WechatPayValidationError).field).toBe('scene_info');
  });

  it('refuses unknown fields (a typo must not be silently dropped)', async () => {
    const { client } = await clientFor(() => ({ status: 500 }));
    const err = await client
      .unifiedOrder({ ...JSAPI_ORDER, outTradeNo: 'x' } as UnifiedOrderRequest)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WechatPayValidationError);
    expect((err as WechatPayValidationError).field).toBe('outTradeNo');
  });

  it('accepts the limits: 32-char out_trade_no, all allowed chars, 128-byte body, 127-byte attach, IPv6', async () => {
    const { client } = await clientFor((req) => signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }));
    const res = await client.unifiedOrder({
      ...JSAPI_ORDER,
      out_trade_no: 'Az09_-|*Az09_-|*Az09_-|*Az09_-|*',
      body: `${'中'.repeat(42)}ab`,
      attach: 'a'.repeat(127),
      spbill_create_ip: '2001:db8::1',
      notify_url: 'http://127.0.0.1:3000/notify/pay',
    });
    expect(res.prepay_id).toBe('wx1');
  });

  it('refuses a nonce generator that breaks WeChat’s nonce rule', async () => {
    const { client, server } = await clientFor(() => ({ status: 500 }), { nonce: () => 'n'.repeat(33) });
    await expect(client.closeOrder('000123')).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(server.requests).toHaveLength(0);
  });

  it('validates orderquery and closeorder arguments', async () => {
    const { client, server } = await clientFor(() => ({ status: 500 }));
    await expect(client.orderQuery({} as never)).rejects.toBeInstanceOf(WechatPayValidationError);
    await expect(client.orderQuery({ out_trade_no: '1', transaction_id: '2' } as never)).rejects.toBeInstanceOf(
      WechatPayValidationError,
    );
    await expect(client.orderQuery({ transaction_id: '12-34' })).rejects.toBeInstanceOf(WechatPayValidationError);
    await expect(client.closeOrder('bad no')).rejects.toBeInstanceOf(WechatPayValidationError);
    expect(server.requests).toHaveLength(0);
  });
});

describe('orderQuery', () => {
  const paid = {
    trade_state: 'SUCCESS',
    trade_state_desc: '支付成功',
    out_trade_no: '000123',
    transaction_id: '1004400740201409030005092168',
    total_fee: '2501',
    cash_fee: '2401',
    fee_type: 'CNY',
    time_end: '20261125120000',
    bank_type: 'CMC',
    openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
    trade_type: 'JSAPI',
    attach: '深圳分店',
  };

  it('returns a paid order’s facts with amounts as exact integers and ids as strings', async () => {
    const { client, server } = await clientFor((req) => signed(req, paid));
    const res = await client.orderQuery({ out_trade_no: '000123' });
    expect(server.requests[0]?.path).toBe('/pay/orderquery');
    expect(server.requests[0]?.fields.out_trade_no).toBe('000123');
    expect(server.requests[0]?.fields.transaction_id).toBeUndefined();
    expect(res).toMatchObject({
      found: true,
      trade_state: 'SUCCESS',
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      out_trade_no: '000123',
      transaction_id: '1004400740201409030005092168',
      total_fee: 2501,
      cash_fee: 2401,
      fee_type: 'CNY',
      time_end: '20261125120000',
      bank_type: 'CMC',
      openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
      trade_state_desc: '支付成功',
      attach: '深圳分店',
    });
  });

  it('queries by transaction_id', async () => {
    const { client, server } = await clientFor((req) => signed(req, paid));
    const res = await client.orderQuery({ transaction_id: '1004400740201409030005092168' });
    expect(server.requests[0]?.fields.transaction_id).toBe('1004400740201409030005092168');
    expect(server.requests[0]?.fields.out_trade_no).toBeUndefined();
    expect(res.found && res.out_trade_no).toBe('000123');
  });

  it('reports an unpaid order without payment fields', async () => {
    const { client } = await clientFor((req) =>
      signed(req, { trade_state: 'NOTPAY', trade_state_desc: '订单未支付', out_trade_no: '000123' }),
    );
    const res = await client.orderQuery({ out_trade_no: '000123' });
    expect(res).toMatchObject({ found: true, trade_state: 'NOTPAY', out_trade_no: '000123' });
    expect(res.found && res.transaction_id).toBeUndefined();
  });

  it('surfaces ORDERNOTEXIST as found: false, not as an error', async () => {
    const { client } = await clientFor((req) =>
      signed(req, { result_code: 'FAIL', err_code: 'ORDERNOTEXIST', err_code_des: 'order not exist' }),
    );
    const res = await client.orderQuery({ out_trade_no: '000123' });
    expect(res).toMatchObject({
      found: false,
      err_code: 'ORDERNOTEXIST',
      err_code_des: 'order not exist',
      appid: MERCHANT.appid,
    });
  });

  it.each<[string, Record<string, string>]>([
    ['a fractional total_fee', { ...paid, total_fee: '25.01' }],
    ['a negative total_fee', { ...paid, total_fee: '-1' }],
    ['a huge total_fee', { ...paid, total_fee: '99999999999999999999' }],
    ['a paid order without transaction_id', { ...paid, transaction_id: '' }],
    ['a paid order without time_end', { ...paid, time_end: '' }],
    ['an unknown trade_state', { ...paid, trade_state: 'MAYBE' }],
    ['an answer about another order', { ...paid, out_trade_no: '000124' }],
  ])('refuses %s as INVALID_RESPONSE', async (_name, fields) => {
    const { client } = await clientFor((req) => signed(req, fields));
    const err = await wechatPayErrorOf(client.orderQuery({ out_trade_no: '000123' }));
    expect(err.code).toBe('INVALID_RESPONSE');
  });
});

describe('closeOrder', () => {
  it('resolves when WeChat closes it', async () => {
    const { client, server } = await clientFor((req) => signed(req, {}));
    await expect(client.closeOrder('000123')).resolves.toBeUndefined();
    expect(server.requests[0]?.path).toBe('/pay/closeorder');
    expect(server.requests[0]?.fields.out_trade_no).toBe('000123');
  });

  it.each(['ORDERPAID', 'ORDERCLOSED'])('throws a final %s', async (code) => {
    const { client, server } = await clientFor((req) =>
      signed(req, { result_code: 'FAIL', err_code: code, err_code_des: 'no' }),
    );
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code, retryable: false, kind: 'business' });
    expect(server.requests).toHaveLength(1);
  });
});

describe('response signatures', () => {
  it('refuses an answer signed with another key', async () => {
    const { client } = await clientFor((req) => signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }, 'k'.repeat(32)));
    const err = await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
    expect(err).toMatchObject({ kind: 'signature', retryable: false });
  });

  it('refuses a tampered answer (prepay_id swapped after signing)', async () => {
    const { client } = await clientFor((req) => {
      const a = signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' });
      return { body: String(a.body).replace('wx1', 'wx2') };
    });
    expect((await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER))).kind).toBe('signature');
  });

  it('refuses an unsigned SUCCESS answer', async () => {
    const { client } = await clientFor((req) => ({
      body: toXml(answerFields(req, { prepay_id: 'wx1', trade_type: 'JSAPI' })),
    }));
    expect((await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER))).kind).toBe('signature');
  });

  it('refuses a forged ORDERNOTEXIST (it would hide a paid order)', async () => {
    const { client } = await clientFor((req) => ({
      body: toXml({ ...answerFields(req, { result_code: 'FAIL', err_code: 'ORDERNOTEXIST' }), sign: 'A'.repeat(32) }),
    }));
    expect((await wechatPayErrorOf(client.orderQuery({ out_trade_no: '000123' }))).kind).toBe('signature');
  });

  it('accepts an MD5-signed answer to an HMAC-SHA256 request (verified by the signature’s form)', async () => {
    const { client } = await clientFor((req) => ({
      body: signedV2Xml(answerFields(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }), MERCHANT.apiKey, 'MD5'),
    }));
    expect((await client.unifiedOrder(JSAPI_ORDER)).prepay_id).toBe('wx1');
  });

  it('does not retry a bad signature', async () => {
    const { client, server } = await clientFor((req) =>
      signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }, 'k'.repeat(32)),
    );
    await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
    expect(server.requests).toHaveLength(1);
  });
});

describe('failure classification and retries', () => {
  it('return_code FAIL (signature error) is final and not retried', async () => {
    const { client, server } = await clientFor(() => ({
      body: toXml({ return_code: 'FAIL', return_msg: '签名错误' }),
    }));
    const err = await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
    // Unsigned (WeChat signs only return_code SUCCESS answers): WeChat's word cannot be told from a forgery.
    expect(err).toMatchObject({ code: 'SIGNERROR', retryable: false, kind: 'transport' });
    expect(server.requests).toHaveLength(1);
  });

  it('return_code FAIL with a parameter message is final', async () => {
    const { client } = await clientFor(() => ({
      body: toXml({ return_code: 'FAIL', return_msg: '参数格式校验错误' }),
    }));
    const err = await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
    expect(err).toMatchObject({ code: 'RETURN_FAIL', retryable: false });
    expect(err.message).toContain('参数格式校验错误');
  });

  it.each(['OUT_TRADE_NO_USED', 'NOAUTH', 'ORDERPAID', 'APPID_MCHID_NOT_MATCH', 'SOMETHING_NEW'])(
    'result_code FAIL %s is final and sent once',
    async (code) => {
      const { client, server } = await clientFor((req) =>
        signed(req, { result_code: 'FAIL', err_code: code, err_code_des: 'd' }),
      );
      const err = await wechatPayErrorOf(client.unifiedOrder(JSAPI_ORDER));
      expect(err).toMatchObject({ code, retryable: false, kind: 'business' });
      expect(server.requests).toHaveLength(1);
    },
  );

  it('retries SYSTEMERROR with the same signed bytes, then succeeds', async () => {
    const { client, server, sleeps } = await clientFor((req, i) =>
      i < 2
        ? signed(req, { result_code: 'FAIL', err_code: 'SYSTEMERROR', err_code_des: '系统错误' })
        : signed(req, { prepay_id: 'wx1', trade_type: 'JSAPI' }),
    );
    expect((await client.unifiedOrder(JSAPI_ORDER)).prepay_id).toBe('wx1');
    expect(server.requests).toHaveLength(3);
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
    expect(sleeps).toHaveLength(2);
  });

  it('gives up after maxAttempts with the last retryable error', async () => {
    const { client, server, sleeps } = await clientFor(
      (req) => signed(req, { result_code: 'FAIL', err_code: 'SYSTEMERROR' }),
      {
        maxAttempts: 4,
      },
    );
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'SYSTEMERROR', retryable: true, kind: 'business' });
    expect(server.requests).toHaveLength(4);
    expect(sleeps).toHaveLength(3);
  });

  it('waits with full jitter: each wait within [0, min(cap, base·2^n))', async () => {
    const { client, sleeps } = await clientFor(() => ({ status: 503 }), { maxAttempts: 10 });
    await wechatPayErrorOf(client.closeOrder('000123'));
    expect(sleeps).toHaveLength(9);
    sleeps.forEach((ms, n) => {
      expect(Number.isInteger(ms)).toBe(true);
      expect(ms).toBeGreaterThanOrEqual(0);
      expect(ms).toBeLessThan(Math.min(RETRY_BACKOFF.capMs, 100 * 2 ** n));
    });
  });

  it('retries HTTP 5xx as transport errors', async () => {
    const { client, server } = await clientFor((req, i) =>
      i === 0 ? { status: 502, body: '<html>Bad Gateway</html>' } : signed(req, {}),
    );
    await client.closeOrder('000123');
    expect(server.requests).toHaveLength(2);
  });

  it('classifies a lasting HTTP 500 as a retryable transport error', async () => {
    const { client, server } = await clientFor(() => ({ status: 500 }));
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'HTTP_500', retryable: true, kind: 'transport' });
    expect(server.requests).toHaveLength(3);
  });

  it('does not retry HTTP 404', async () => {
    const { client, server } = await clientFor(() => ({ status: 404 }));
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'HTTP_404', retryable: false, kind: 'transport' });
    expect(server.requests).toHaveLength(1);
  });

  it('times out a slow answer, retries, and succeeds when WeChat answers in time', async () => {
    const { client, server } = await clientFor(
      (req, i) => (i === 0 ? { ...signed(req, {}), delayMs: 2000 } : signed(req, {})),
      {
        timeoutMs: 100,
      },
    );
    const started = performance.now();
    await client.closeOrder('000123');
    expect(performance.now() - started).toBeLessThan(1500);
    expect(server.requests).toHaveLength(2);
  });

  it('reports TIMEOUT when every attempt is too slow', async () => {
    const { client, server } = await clientFor((req) => ({ ...signed(req, {}), delayMs: 2000 }), {
      timeoutMs: 50,
      maxAttempts: 2,
    });
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'TIMEOUT', retryable: true, kind: 'transport' });
    expect(server.requests).toHaveLength(2);
  });

  it('treats a dropped connection as a retryable network error', async () => {
    const { client, server } = await clientFor((req, i) => (i === 0 ? { destroy: true } : signed(req, {})));
    await client.closeOrder('000123');
    expect(server.requests).toHaveLength(2);
  });

  it('treats a refused connection as a retryable network error', async () => {
    const { client, server } = await clientFor(() => ({ status: 500 }), { maxAttempts: 2 });
    await server.close();
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'NETWORK', retryable: true, kind: 'transport' });
  });

  it.each<[string, CraftedAnswer]>([
    ['HTML', { body: '<html><body>hello</body></html>' }],
    ['an empty body', { body: '' }],
    ['garbage bytes', { body: Buffer.from([0xff, 0xfe, 0x00, 0x41]) }],
    ['XML without return_code', { body: toXml({ foo: 'bar' }) }],
    [
      'an XXE attempt',
      { body: '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]><xml><return_code>&x;</return_code></xml>' },
    ],
  ])('treats %s as a retryable BAD_RESPONSE', async (_name, answer) => {
    const { client, server } = await clientFor(() => answer, { maxAttempts: 2 });
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'BAD_RESPONSE', retryable: true, kind: 'transport' });
    expect(server.requests).toHaveLength(2);
  });

  it('stops reading an oversized answer', async () => {
    const { client } = await clientFor(() => ({ body: `<xml><a>${'x'.repeat(200_000)}</a></xml>` }));
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    expect(err).toMatchObject({ code: 'RESPONSE_TOO_LARGE', retryable: false, kind: 'transport' });
  });

  it('uses the injected fetch', async () => {
    const urls: string[] = [];
    const { client } = await clientFor((req) => signed(req, {}), {
      fetch: (input, init) => {
        urls.push(String(input));
        return fetch(input, init);
      },
    });
    await client.closeOrder('000123');
    expect(urls).toEqual([`${server?.url}/pay/closeorder`]);
  });

  it('joins a base URL with a path prefix and a trailing slash', async () => {
    const { server: s } = await clientFor(() => ({ status: 500 }));
    const client = new WechatPayV2Client({ baseUrl: `${s.url}/sandboxnew/`, ...MERCHANT, maxAttempts: 1 });
    await wechatPayErrorOf(client.closeOrder('000123'));
    expect(s.requests[0]?.path).toBe('/sandboxnew/pay/closeorder');
  });
});

describe('signing of the request', () => {
  it('equals signV2 over every field sent except sign', async () => {
    const { client, server } = await clientFor((req) => signed(req, {}), { signType: 'MD5', nonce: () => 'abc' });
    await client.closeOrder('000123');
    const { sign, ...rest } = server.requests[0]?.fields ?? {};
    expect(sign).toBe(signV2(rest, MERCHANT.apiKey, 'MD5'));
    expect(rest).toEqual({
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      nonce_str: 'abc',
      sign_type: 'MD5',
      out_trade_no: '000123',
    });
  });
});

describe('the caller’s deadline', () => {
  it('cuts the attempt to the time left and ends the call: DEADLINE_EXCEEDED, not three 5 s attempts', async () => {
    const { client, server } = await clientFor(() => ({ body: toXml({ return_code: 'SUCCESS' }), delayMs: 5_000 }), {
      deadline: () => started + 1_200,
    });
    const started = Date.now();
    const err = await wechatPayErrorOf(client.closeOrder('000123'));
    const took = Date.now() - started;
    expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', retryable: true, kind: 'transport' });
    expect(took).toBeGreaterThanOrEqual(1_100);
    expect(took).toBeLessThan(2_000);
    expect(server.requests).toHaveLength(1);
  });

  it('sends nothing when less than minAttemptMs is left', async () => {
    const { client, server } = await clientFor(() => ({ body: toXml({ return_code: 'SUCCESS' }) }), {
      deadline: () => Date.now() + 500,
    });
    expect(await wechatPayErrorOf(client.orderQuery({ out_trade_no: '000123' }))).toMatchObject({
      code: 'DEADLINE_EXCEEDED',
    });
    expect(server.requests).toHaveLength(0);
  });
});
