import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signTypeOf, signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import type { SignType } from '#shared/wechatpay/v2/sign';
import { toWechatTime } from '#shared/wechatpay/v2/time';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, callV2, createOrder, pay, postXml, queryParams, sleep, unifiedOrderParams } from './support';

// A high time scale so the 2-hour prepay validity (720 ms here) and time_expire can be crossed in a test.
const TIME_SCALE = 10_000;
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE });
});
afterAll(async () => {
  await sim.close();
});

const unifiedOrder = (params: Record<string, string | undefined>, opts?: Parameters<typeof callV2>[3]) =>
  callV2(sim.url, '/pay/unifiedorder', params, opts);

describe('unifiedorder: every trade type, both sign types', () => {
  const cases: Array<[string, SignType | undefined]> = [];
  for (const tradeType of ['JSAPI', 'NATIVE', 'APP', 'MWEB']) {
    for (const signType of [undefined, 'MD5', 'HMAC-SHA256'] as const) cases.push([tradeType, signType]);
  }

  it.each(cases)('%s signed %s gets a prepay_id in a reply signed the same way', async (tradeType, signType) => {
    const params = unifiedOrderParams({ trade_type: tradeType, sign_type: signType });
    const { status, fields } = await unifiedOrder(params);
    expect(status).toBe(200);
    expect(fields.return_code).toBe('SUCCESS');
    expect(fields.result_code).toBe('SUCCESS');
    expect(fields.appid).toBe(MERCHANT.appid);
    expect(fields.mch_id).toBe(MERCHANT.mchid);
    expect(fields.trade_type).toBe(tradeType);
    expect(fields.prepay_id).toMatch(/^wx\d{14}[0-9a-f]{20}$/);
    expect(fields.nonce_str).toMatch(/^[A-Za-z0-9]{32}$/);
    // The reply is signed in the request's sign type (MD5 when none was given) and verifies.
    expect(signTypeOf(fields.sign ?? '')).toBe(signType ?? 'MD5');
    expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
    expect(verifyV2({ ...fields, prepay_id: `${fields.prepay_id}x` }, MERCHANT.apiKey)).toBe(false);

    if (tradeType === 'NATIVE') expect(fields.code_url).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=[A-Za-z0-9]+$/);
    else expect(fields.code_url).toBeUndefined();
    if (tradeType === 'MWEB') {
      const packageValue = /package=(\d+)$/.exec(fields.mweb_url ?? '')?.[1];
      expect(fields.mweb_url).toBe(
        `https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=${fields.prepay_id}&package=${packageValue}`,
      );
      expect(fields.mweb_url).toMatch(/package=\d{10}$/);
    } else {
      expect(fields.mweb_url).toBeUndefined();
    }
  });

  it('echoes device_info and keeps an out_trade_no with leading zeros byte for byte', async () => {
    const outTradeNo = `000${Date.now()}`;
    const { fields } = await unifiedOrder(unifiedOrderParams({ out_trade_no: outTradeNo, device_info: 'WEB' }));
    expect(fields.result_code).toBe('SUCCESS');
    expect(fields.device_info).toBe('WEB');
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(query.fields.out_trade_no).toBe(outTradeNo);
  });

  it('accepts every out_trade_no character WeChat allows and exactly 32 of them', async () => {
    const outTradeNo = `a-B_c|d*${Date.now()}`.padEnd(32, '9');
    expect(outTradeNo).toHaveLength(32);
    const { fields } = await unifiedOrder(unifiedOrderParams({ out_trade_no: outTradeNo }));
    expect(fields.result_code).toBe('SUCCESS');
  });

  it('accepts a body of exactly 128 bytes of UTF-8 (42 Chinese characters and 2 letters)', async () => {
    const body = '测'.repeat(42) + 'ab';
    expect(Buffer.byteLength(body)).toBe(128);
    const { fields } = await unifiedOrder(unifiedOrderParams({ body }));
    expect(fields.result_code).toBe('SUCCESS');
  });
});

describe('unifiedorder: transport-level refusals (return_code FAIL, unsigned)', () => {
  it('a wrong signature is 签名错误', async () => {
    const { fields } = await unifiedOrder(unifiedOrderParams(), { key: 'a'.repeat(32) });
    expect(fields).toEqual({ return_code: 'FAIL', return_msg: '签名错误' });
  });

  it('a tampered field after signing is 签名错误', async () => {
    const params = unifiedOrderParams();
    const sign = signV2(params, MERCHANT.apiKey);
    const { fields } = await unifiedOrder({ ...params, total_fee: '1' }, { sign });
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg).toBe('签名错误');
  });

  it('an HMAC-SHA256 signature without sign_type is checked as MD5 and refused, like WeChat', async () => {
    const params = unifiedOrderParams();
    const { fields } = await unifiedOrder(params, { signType: 'HMAC-SHA256' });
    expect(fields.return_msg).toBe('签名错误');
  });

  it('a missing sign is refused', async () => {
    const { fields } = await unifiedOrder(unifiedOrderParams(), { sign: null });
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg).toContain('sign');
  });

  it('an unknown sign_type is refused', async () => {
    const { fields } = await unifiedOrder(unifiedOrderParams({ sign_type: 'SHA1' }));
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg).toContain('sign_type');
  });

  it('a mch_id WeChat does not know is refused', async () => {
    const { fields } = await unifiedOrder(unifiedOrderParams({ mch_id: '1900000109' }));
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg).toContain('mch_id');
    expect(fields.sign).toBeUndefined();
  });

  it('a body that is not XML, an empty body, a DOCTYPE and a GET are refused', async () => {
    const notXml = await postXml(sim.url, '/pay/unifiedorder', 'appid=1&mch_id=2');
    expect(notXml.fields.return_msg).toMatch(/^XML格式错误/);
    expect((await postXml(sim.url, '/pay/unifiedorder', '')).fields.return_msg).toMatch(/^post数据为空/);
    const xxe =
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><appid>&e;</appid></xml>';
    expect((await postXml(sim.url, '/pay/unifiedorder', xxe)).fields.return_msg).toMatch(/^XML格式错误/);
    const get = await fetch(`${sim.url}/pay/unifiedorder`);
    expect(get.status).toBe(200);
    expect(await get.text()).toContain('请使用post方法');
  });

  it('a body over 32 KiB is refused without reading it all', async () => {
    const big = `<xml><detail>${'x'.repeat(40_000)}</detail></xml>`;
    const { fields } = await postXml(sim.url, '/pay/unifiedorder', big);
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg).toMatch(/^XML格式错误/);
  });
});

describe('unifiedorder: business refusals (result_code FAIL, signed)', () => {
  async function expectError(params: Record<string, string | undefined>, errCode: string, desc?: RegExp) {
    const { fields } = await unifiedOrder(params);
    expect(fields.return_code).toBe('SUCCESS');
    expect(fields.result_code).toBe('FAIL');
    expect(fields.err_code).toBe(errCode);
    if (desc) expect(fields.err_code_des).toMatch(desc);
    expect(fields.prepay_id).toBeUndefined();
    expect(verifyV2(fields, MERCHANT.apiKey)).toBe(true);
    // Refused means nothing was created.
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: params.out_trade_no }));
    if (params.out_trade_no !== undefined && /^[0-9A-Za-z_\-|*]{1,32}$/.test(params.out_trade_no)) {
      expect(query.fields.err_code).toBe('ORDERNOTEXIST');
    }
    return fields;
  }

  it('an appid that is not the merchant’s is APPID_MCHID_NOT_MATCH', async () => {
    await expectError(unifiedOrderParams({ appid: 'wx0123456789abcdef' }), 'APPID_MCHID_NOT_MATCH');
  });

  it.each(['body', 'out_trade_no', 'total_fee', 'spbill_create_ip', 'notify_url', 'trade_type', 'nonce_str'])(
    'a missing %s is LACK_PARAMS naming it',
    async (field) => {
      await expectError(unifiedOrderParams({ [field]: undefined }), 'LACK_PARAMS', new RegExp(field));
    },
  );

  it('a body over 128 bytes is INVALID_REQUEST 参数长度有误', async () => {
    const body = '测'.repeat(42) + 'abc'; // 129 bytes, 45 characters
    await expectError(unifiedOrderParams({ body }), 'INVALID_REQUEST', /^body参数长度有误/);
  });

  it('an attach over 127 bytes is INVALID_REQUEST', async () => {
    await expectError(unifiedOrderParams({ attach: 'a'.repeat(128) }), 'INVALID_REQUEST', /^attach/);
  });

  it.each([
    ['a character outside [0-9A-Za-z_-|*]', 'order#1'],
    ['a space', 'order 1'],
    ['33 characters', '1'.repeat(33)],
    ['a Chinese character', '订单1'],
  ])('an out_trade_no with %s is INVALID_REQUEST', async (_what, outTradeNo) => {
    await expectError(unifiedOrderParams({ out_trade_no: outTradeNo }), 'INVALID_REQUEST', /^out_trade_no/);
  });

  it('JSAPI without openid is LACK_PARAMS', async () => {
    await expectError(unifiedOrderParams({ trade_type: 'JSAPI', openid: undefined }), 'LACK_PARAMS', /openid/);
  });

  it('NATIVE without product_id is LACK_PARAMS', async () => {
    await expectError(unifiedOrderParams({ trade_type: 'NATIVE', product_id: undefined }), 'LACK_PARAMS', /product_id/);
  });

  it('MWEB without scene_info is LACK_PARAMS; a scene_info that is not h5_info JSON is INVALID_REQUEST', async () => {
    await expectError(unifiedOrderParams({ trade_type: 'MWEB', scene_info: undefined }), 'LACK_PARAMS', /scene_info/);
    await expectError(
      unifiedOrderParams({ trade_type: 'MWEB', scene_info: 'not json' }),
      'INVALID_REQUEST',
      /^scene_info/,
    );
  });

  it.each([
    ['total_fee', '0'],
    ['total_fee', '12.50'],
    ['total_fee', '-1'],
    ['total_fee', '01'],
    ['total_fee', '99999999999'],
    ['trade_type', 'MICROPAY'],
    ['spbill_create_ip', '999.1.1.1'],
    ['notify_url', 'https://merchant.example/notify?order=1'],
    ['notify_url', 'ftp://merchant.example/notify'],
    ['notify_url', 'not a url'],
    ['fee_type', 'USD'],
    ['time_expire', '20240230120000'],
    ['time_start', '2024-01-01'],
    ['nonce_str', 'n'.repeat(33)],
    ['limit_pay', 'no_debit'],
  ])('%s = %j is INVALID_REQUEST', async (field, value) => {
    await expectError(unifiedOrderParams({ [field]: value }), 'INVALID_REQUEST', new RegExp(`^${field}`));
  });

  it('a time_expire less than a (scaled) minute ahead is INVALID_REQUEST', async () => {
    const past = toWechatTime(new Date(Date.now() - 5_000));
    await expectError(unifiedOrderParams({ time_expire: past }), 'INVALID_REQUEST', /time_expire/);
  });

  it('at real time, a time_expire 30 seconds ahead is too short', async () => {
    const realTime = await startSimulator({ merchant: MERCHANT, timeScale: 1 });
    try {
      const { fields } = await callV2(
        realTime.url,
        '/pay/unifiedorder',
        unifiedOrderParams({ time_expire: toWechatTime(new Date(Date.now() + 30_000)) }),
      );
      expect(fields.err_code).toBe('INVALID_REQUEST');
    } finally {
      await realTime.close();
    }
  });

  it('accepts an IPv6 spbill_create_ip and empty optional fields', async () => {
    const { fields } = await unifiedOrder(unifiedOrderParams({ spbill_create_ip: '2001:db8::1', attach: '' }));
    expect(fields.result_code).toBe('SUCCESS');
  });
});

describe('unifiedorder: the same out_trade_no again', () => {
  it('with the same content (new nonce, other sign type) gives the same prepay_id', async () => {
    const params = unifiedOrderParams({ trade_type: 'NATIVE' });
    const first = await unifiedOrder(params);
    const second = await unifiedOrder({ ...params, nonce_str: 'another-nonce', sign_type: 'HMAC-SHA256' });
    expect(second.fields.result_code).toBe('SUCCESS');
    expect(second.fields.prepay_id).toBe(first.fields.prepay_id);
    expect(second.fields.code_url).toBe(first.fields.code_url);
    expect(signTypeOf(second.fields.sign ?? '')).toBe('HMAC-SHA256');
  });

  it('with other content is OUT_TRADE_NO_USED and the order keeps its first content', async () => {
    const params = unifiedOrderParams();
    await unifiedOrder(params);
    const other = await unifiedOrder({ ...params, total_fee: '1' });
    expect(other.fields.result_code).toBe('FAIL');
    expect(other.fields.err_code).toBe('OUT_TRADE_NO_USED');
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: params.out_trade_no }));
    expect(query.fields.total_fee).toBe('1999');
  });

  it('once paid is ORDERPAID, whatever the content', async () => {
    const { outTradeNo, params } = await createOrder(sim.url);
    expect((await pay(sim.url, outTradeNo)).status).toBe(200);
    expect((await unifiedOrder(params)).fields.err_code).toBe('ORDERPAID');
    expect((await unifiedOrder({ ...params, total_fee: '5' })).fields.err_code).toBe('ORDERPAID');
  });

  it('after the prepay_id has expired (2 hours, scaled) gives a fresh one, and payment needs it', async () => {
    const { outTradeNo, params, response } = await createOrder(sim.url);
    await sleep(7_200_000 / TIME_SCALE + 30);
    const refused = await pay(sim.url, outTradeNo);
    expect(refused.status).toBe(409);
    expect((refused.json.error as { code: string }).code).toBe('PREPAY_EXPIRED');
    const again = await unifiedOrder(params);
    expect(again.fields.result_code).toBe('SUCCESS');
    expect(again.fields.prepay_id).not.toBe(response.fields.prepay_id);
    expect((await pay(sim.url, outTradeNo)).status).toBe(200);
  });
});

describe('time_expire', () => {
  it('refuses payment once time_expire has passed, and the order stays NOTPAY', async () => {
    // The instant is the merchant's and is not scaled; a merchant under test picks a near one.
    const expiresAt = Math.ceil((Date.now() + 1_000) / 1000) * 1000;
    const { outTradeNo } = await createOrder(sim.url, { time_expire: toWechatTime(new Date(expiresAt)) });
    await sleep(expiresAt - Date.now() + 50);
    const refused = await pay(sim.url, outTradeNo);
    expect(refused.status).toBe(409);
    expect((refused.json.error as { code: string }).code).toBe('ORDER_EXPIRED');
    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(query.fields.trade_state).toBe('NOTPAY');
  });

  it('allows payment before it', async () => {
    const slow = await startSimulator({ merchant: MERCHANT, timeScale: 1 });
    try {
      const { outTradeNo } = await createOrder(slow.url, {
        time_expire: toWechatTime(new Date(Date.now() + 10 * 60_000)),
      });
      expect((await pay(slow.url, outTradeNo)).status).toBe(200);
    } finally {
      await slow.close();
    }
  });
});
