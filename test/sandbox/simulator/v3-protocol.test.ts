import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { HEADER_SERIAL, HEADER_SIGNATURE } from '#shared/wechatpay/v3/wechatpay-signature';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { controlPost, debugOrder, newOutTradeNo } from './support';
import {
  V3_MERCHANT,
  authorizationFor,
  callV3,
  platformOf,
  prepayBody,
  startV3Simulator,
  verifyAnswer,
} from './v3-support';
import type { RawAnswer } from './v3-support';

// WeChat's v3 rules as seen on the wire, request by request: every answer signed, errors as
// { code, message } with WeChat's status codes, the request rules enforced with PARAM_ERROR.

const NOTIFY_URL = 'https://merchant.example/notify/pay';
let sim: RunningSimulator;

beforeAll(async () => {
  sim = await startV3Simulator({ timeScale: 1000 });
});
afterEach(async () => {
  await fetch(`${sim.url}/sandbox/faults`, { method: 'DELETE' });
});
afterAll(async () => {
  await sim.close();
});

const prepay = (kind: string, body: Record<string, unknown>, opts: Parameters<typeof callV3>[4] = {}) =>
  callV3(sim, 'POST', `/v3/pay/transactions/${kind}`, body, opts);

async function expectSigned(answer: RawAnswer): Promise<void> {
  const check = await verifyAnswer(sim, answer.headers, answer.text);
  expect(check).toMatchObject({ ok: true });
  expect(answer.headers.get(HEADER_SERIAL)).toBe(platformOf(sim).publicKeyId);
}

async function expectError(answer: RawAnswer, status: number, code: string): Promise<Record<string, unknown>> {
  expect({ status: answer.status, code: answer.json?.code }).toEqual({ status, code });
  expect(answer.json?.message).toEqual(expect.any(String));
  await expectSigned(answer);
  return answer.json as Record<string, unknown>;
}

describe('answers', () => {
  it('are JSON, signed over timestamp\\nnonce\\nbody\\n with the platform key named in Wechatpay-Serial', async () => {
    const answer = await prepay('native', prepayBody(newOutTradeNo('P'), NOTIFY_URL));
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
    expect(answer.headers.get('request-id')).toMatch(/^\w{32}$/);
    expect(Object.keys(answer.json ?? {})).toEqual(['code_url']);
    await expectSigned(answer);
    // The signature covers the body: another body does not verify under the same headers.
    expect(await verifyAnswer(sim, answer.headers, `${answer.text} `)).toMatchObject({
      ok: false,
      failure: 'bad_signature',
    });
  });

  it('204 No Content (close) is signed too, over an empty body', async () => {
    const no = newOutTradeNo('P');
    expect((await prepay('app', prepayBody(no, NOTIFY_URL))).status).toBe(200);
    await new Promise((r) => setTimeout(r, 350));
    const closed = await callV3(sim, 'POST', `/v3/pay/transactions/out-trade-no/${no}/close`, {
      mchid: V3_MERCHANT.mchid,
    });
    expect(closed.status).toBe(204);
    expect(closed.text).toBe('');
    await expectSigned(closed);
  });

  it('jsapi and app answer prepay_id, native code_url, h5 h5_url', async () => {
    const jsapi = await prepay('jsapi', prepayBody(newOutTradeNo('P'), NOTIFY_URL, { payer: { openid: 'oOpenid1' } }));
    const app = await prepay('app', prepayBody(newOutTradeNo('P'), NOTIFY_URL));
    const h5 = await prepay(
      'h5',
      prepayBody(newOutTradeNo('P'), NOTIFY_URL, {
        scene_info: { payer_client_ip: '2001:db8::1', h5_info: { type: 'iOS' } },
      }),
    );
    expect([jsapi.json, app.json, h5.json].map((j) => Object.keys(j ?? {}))).toEqual([
      ['prepay_id'],
      ['prepay_id'],
      ['h5_url'],
    ]);
  });

  it('idempotency ignores key order: the same JSON content is the same order', async () => {
    const no = newOutTradeNo('P');
    const body = prepayBody(no, NOTIFY_URL);
    const first = await prepay('app', body);
    const reordered = Object.fromEntries(Object.entries(body).reverse());
    expect((await prepay('app', reordered)).json).toEqual(first.json);
    await expectError(await prepay('app', { ...body, attach: 'more' }), 403, 'OUT_TRADE_NO_USED');
  });
});

describe('request rules (400 PARAM_ERROR, naming the field)', () => {
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    ['a missing description', 'app', { description: undefined }, 'description'],
    [
      'a description over 127 bytes of UTF-8 (43 Chinese characters)',
      'app',
      { description: '商'.repeat(43) },
      'description',
    ],
    ['an out_trade_no shorter than 6', 'app', { out_trade_no: 'A1234' }, 'out_trade_no'],
    ['an out_trade_no with a space', 'app', { out_trade_no: 'ORDER 123456' }, 'out_trade_no'],
    ['a notify_url with a query string', 'app', { notify_url: 'https://m.example/notify?x=1' }, 'notify_url'],
    ['a notify_url that is not http(s)', 'app', { notify_url: 'ftp://m.example/notify' }, 'notify_url'],
    ['an amount of 0', 'app', { amount: { total: 0 } }, 'amount.total'],
    ['an amount with fractions of a fen', 'app', { amount: { total: 19.99 } }, 'amount.total'],
    ['an amount as a string', 'app', { amount: { total: '1999' } }, 'amount.total'],
    ['a currency other than CNY', 'app', { amount: { total: 1999, currency: 'USD' } }, 'amount.currency'],
    ['a time_expire with fractions', 'app', { time_expire: '2030-01-01T10:00:00.123+08:00' }, 'time_expire'],
    ['a time_expire without offset', 'app', { time_expire: '2030-01-01T10:00:00' }, 'time_expire'],
    ['an attach over 128 bytes', 'app', { attach: 'x'.repeat(129) }, 'attach'],
    ['jsapi without payer.openid', 'jsapi', { payer: {} }, 'payer.openid'],
    ['jsapi without payer', 'jsapi', {}, 'payer'],
    ['h5 without scene_info', 'h5', {}, 'scene_info'],
    ['h5 without h5_info', 'h5', { scene_info: { payer_client_ip: '203.0.113.7' } }, 'scene_info.h5_info'],
    [
      'h5 with an unknown h5_info.type',
      'h5',
      { scene_info: { payer_client_ip: '203.0.113.7', h5_info: { type: 'Desktop' } } },
      'scene_info.h5_info.type',
    ],
    [
      'a payer_client_ip that is no IP',
      'native',
      { scene_info: { payer_client_ip: 'localhost' } },
      'scene_info.payer_client_ip',
    ],
  ];

  it.each(cases)('refuses %s', async (_name, kind, overrides, field) => {
    const no = newOutTradeNo('R');
    const body = prepayBody(no, NOTIFY_URL, overrides);
    const json = await expectError(await prepay(kind, body), 400, 'PARAM_ERROR');
    expect(json.detail).toMatchObject({ location: 'body', field });
    expect(json.message).toContain(field.split('.').join('/'));
    // Nothing was created.
    const query = await callV3(
      sim,
      'GET',
      `/v3/pay/transactions/out-trade-no/${encodeURIComponent(String(body.out_trade_no))}?mchid=${V3_MERCHANT.mchid}`,
    );
    expect(query.status === 404 || query.status === 400).toBe(true);
  });

  it('accepts a description of exactly 127 bytes, a 6-character out_trade_no and an IPv6 payer', async () => {
    const no = `S${Date.now().toString(36).slice(-5)}`;
    const answer = await prepay(
      'native',
      prepayBody(no, NOTIFY_URL, {
        description: `${'商'.repeat(42)}x`,
        scene_info: { payer_client_ip: '2001:db8::7' },
      }),
    );
    expect(answer.status).toBe(200);
  });

  it('refuses a body that is not JSON, or not an object', async () => {
    await expectError(await prepay('app', {}, { rawBody: '{"appid":' }), 400, 'PARAM_ERROR');
    await expectError(await prepay('app', {}, { rawBody: '[1,2]' }), 400, 'PARAM_ERROR');
  });

  it('a time_expire less than a (scaled) minute ahead is INVALID_REQUEST', async () => {
    const soon = new Date(Date.now() - 5_000).toISOString().replace(/\.\d{3}Z$/, '+00:00');
    await expectError(
      await prepay('app', prepayBody(newOutTradeNo('R'), NOTIFY_URL, { time_expire: soon })),
      400,
      'INVALID_REQUEST',
    );
  });

  it('another mchid in the body is 403 NO_AUTH; an appid not the merchant’s is APPID_MCHID_NOT_MATCH', async () => {
    await expectError(
      await prepay('app', prepayBody(newOutTradeNo('R'), NOTIFY_URL, { mchid: '1900009999' })),
      403,
      'NO_AUTH',
    );
    await expectError(
      await prepay('app', prepayBody(newOutTradeNo('R'), NOTIFY_URL, { appid: 'wx0000000000000000' })),
      400,
      'APPID_MCHID_NOT_MATCH',
    );
    await expectError(
      await callV3(sim, 'GET', '/v3/pay/transactions/out-trade-no/ABCDEF1?mchid=1900009999'),
      403,
      'NO_AUTH',
    );
    await expectError(await callV3(sim, 'GET', '/v3/pay/transactions/out-trade-no/ABCDEF1'), 400, 'PARAM_ERROR');
    await expectError(
      await callV3(sim, 'POST', '/v3/pay/transactions/out-trade-no/ABCDEF1/close', {}),
      400,
      'PARAM_ERROR',
    );
  });
});

describe('the merchant signature (401 SIGN_ERROR)', () => {
  const body = () => prepayBody(newOutTradeNo('A'), NOTIFY_URL);

  it('is required', async () => {
    await expectError(await prepay('app', body(), { authorization: null }), 401, 'SIGN_ERROR');
  });

  it('must verify with the merchant’s public key, over this very body', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await expectError(await prepay('app', body(), { privateKey }), 401, 'SIGN_ERROR');
    const text = JSON.stringify(body());
    const authorization = authorizationFor('POST', '/v3/pay/transactions/app', text);
    await expectError(
      await prepay('app', {}, { rawBody: text.replace('1999', '1998'), authorization }),
      401,
      'SIGN_ERROR',
    );
    // the same header on its own body passes
    expect((await prepay('app', {}, { rawBody: text, authorization })).status).toBe(200);
  });

  it('must name the merchant certificate serial and be made within 5 minutes', async () => {
    await expectError(await prepay('app', body(), { serial: 'ABCDEF0123' }), 401, 'SIGN_ERROR');
    await expectError(
      await prepay('app', body(), { timestamp: Math.floor(Date.now() / 1000) - 301 }),
      401,
      'SIGN_ERROR',
    );
    await expectError(
      await prepay('app', body(), { timestamp: Math.floor(Date.now() / 1000) + 400 }),
      401,
      'SIGN_ERROR',
    );
    expect((await prepay('app', body(), { timestamp: Math.floor(Date.now() / 1000) - 240 })).status).toBe(200);
  });

  it('comes before the body is read as JSON', async () => {
    await expectError(await prepay('app', {}, { rawBody: 'not json', authorization: null }), 401, 'SIGN_ERROR');
  });
});

describe('paths', () => {
  it('an unknown order is 404 ORDER_NOT_EXIST; a malformed number is PARAM_ERROR', async () => {
    await expectError(
      await callV3(sim, 'GET', `/v3/pay/transactions/out-trade-no/NOPE123456?mchid=${V3_MERCHANT.mchid}`),
      404,
      'ORDER_NOT_EXIST',
    );
    await expectError(
      await callV3(sim, 'GET', `/v3/pay/transactions/id/4200000000202401010000000000?mchid=${V3_MERCHANT.mchid}`),
      404,
      'ORDER_NOT_EXIST',
    );
    await expectError(
      await callV3(sim, 'GET', `/v3/pay/transactions/out-trade-no/${'x'.repeat(33)}?mchid=${V3_MERCHANT.mchid}`),
      400,
      'PARAM_ERROR',
    );
    await expectError(
      await callV3(sim, 'POST', '/v3/pay/transactions/out-trade-no/NOPE123456/close', { mchid: V3_MERCHANT.mchid }),
      404,
      'ORDER_NOT_EXIST',
    );
  });

  it('a wrong method is 405, signed', async () => {
    await expectError(await callV3(sim, 'GET', '/v3/pay/transactions/native'), 405, 'METHOD_NOT_ALLOWED');
    await expectError(await callV3(sim, 'PUT', '/v3/certificates', {}), 405, 'METHOD_NOT_ALLOWED');
  });

  it('the v2 paths still answer beside the v3 ones', async () => {
    const res = await fetch(`${sim.url}/pay/orderquery`, { method: 'POST', body: '<xml></xml>' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('return_code');
  });
});

describe('API faults, v3-shaped', () => {
  it('systemerror: 500 SYSTEM_ERROR as signed JSON, and nothing happens', async () => {
    const no = newOutTradeNo('F');
    await controlPost(sim.url, '/sandbox/faults', { api: 'systemerror', out_trade_no: no, times: 1 });
    await expectError(await prepay('app', prepayBody(no, NOTIFY_URL)), 500, 'SYSTEM_ERROR');
    await expectError(
      await callV3(sim, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${V3_MERCHANT.mchid}`),
      404,
      'ORDER_NOT_EXIST',
    );
  });

  it('http500: a bare 500, neither JSON nor signed, and nothing happens', async () => {
    const no = newOutTradeNo('F');
    await controlPost(sim.url, '/sandbox/faults', { api: 'http500', out_trade_no: no, times: 1 });
    const answer = await prepay('app', prepayBody(no, NOTIFY_URL));
    expect(answer.status).toBe(500);
    expect(answer.json).toBeUndefined();
    expect(answer.headers.get(HEADER_SIGNATURE)).toBeNull();
    const journal = await debugOrder(sim.url, no);
    expect(journal.requests).toEqual([
      expect.objectContaining({ httpStatus: 500, fault: 'http500', path: 'POST /v3/pay/transactions/app' }),
    ]);
    await expectError(
      await callV3(sim, 'GET', `/v3/pay/transactions/out-trade-no/${no}?mchid=${V3_MERCHANT.mchid}`),
      404,
      'ORDER_NOT_EXIST',
    );
  });
});
