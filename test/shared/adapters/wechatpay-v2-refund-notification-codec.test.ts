import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';

import { WechatPayV2RefundNotificationCodec } from '#shared/adapters/wechatpay-v2-refund-notification-codec';
import type { VerifiedRefundNotification } from '#shared/domain/refund-ports';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import { encryptRefundReqInfo, refundReqInfoVectors } from '#test/helpers/wechatpay-v2';

const KEY = '192006250b4c09247ec02edce69f6a2d';
const OTHER_KEY = 'ffffffffffffffffffffffffffffffff';
const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100' };
const codec = new WechatPayV2RefundNotificationCodec({ apiKey: KEY });

const raw = (body: string) => ({ headers: { 'content-type': 'text/xml', 'user-agent': 'Mozilla/4.0' }, body });

/** The decrypted <root> of a refund notification as WeChat writes it; override any field. */
function refundFields(overrides: Record<string, string | undefined> = {}): Record<string, string> {
  const fields: Record<string, string | undefined> = {
    out_refund_no: 'R-000123-1',
    out_trade_no: '000123',
    refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
    refund_fee: '600',
    refund_id: '50000303712026112501466990000',
    refund_recv_accout: '支付用户零钱',
    refund_request_source: 'API',
    refund_status: 'SUCCESS',
    settlement_refund_fee: '600',
    settlement_total_fee: '2501',
    success_time: '2026-11-25 12:00:30',
    total_fee: '2501',
    transaction_id: '4200000000202611250000000001',
    ...overrides,
  };
  return Object.fromEntries(Object.entries(fields).filter((e): e is [string, string] => e[1] !== undefined));
}

function reqInfoXml(fields: Record<string, string>): string {
  return toXml(fields)
    .replace(/^<xml>/, '<root>')
    .replace(/<\/xml>$/, '</root>');
}

/** A refund notification body as WeChat POSTs it: unsigned, the refund encrypted in req_info. */
function notificationBody(
  reqInfo: string,
  envelope: { appid: string; mchid: string } = MERCHANT,
  extra: Record<string, string> = {},
): string {
  return toXml({
    return_code: 'SUCCESS',
    appid: envelope.appid,
    mch_id: envelope.mchid,
    nonce_str: 'TeqClE3i0mvn3DrK',
    req_info: reqInfo,
    ...extra,
  });
}

function refundNotification(overrides: Record<string, string | undefined> = {}, key = KEY): string {
  return notificationBody(encryptRefundReqInfo(reqInfoXml(refundFields(overrides)), key));
}

/** Not proven WeChat's: refused with its code, and nothing of it read (no order number filed). */
/** `rotated`: whether a key we do not hold could account for the refusal (the rotation then tries others). */
function expectRejected(result: VerifiedRefundNotification, code: string, rotated?: 'rotated key may explain'): void {
  expect(result).toEqual({
    kind: 'rejected',
    code,
    reason: expect.any(String),
    ...(rotated === undefined ? {} : { rotatedKeyMayExplain: true }),
  });
}

describe('WechatPayV2RefundNotificationCodec: notifications that decrypt', () => {
  it('reads a SUCCESS refund: envelope appid/mch_id, decrypted fields, Beijing time as RFC 3339', async () => {
    expect(codec.apiVersion).toBe('v2');
    expect(await codec.verify(raw(refundNotification()))).toEqual({
      kind: 'refund',
      report: {
        outTradeNo: '000123',
        outRefundNo: 'R-000123-1',
        status: 'SUCCESS',
        // From the envelope, not from config: the domain decides whether they are ours.
        appid: MERCHANT.appid,
        mchid: MERCHANT.mchid,
        refundId: '50000303712026112501466990000',
        // The payment refunded: the domain matches it against the order's.
        transactionId: '4200000000202611250000000001',
        amount: { refund: 600, total: 2501 },
        successTime: '2026-11-25T12:00:30+08:00',
        userReceivedAccount: '支付用户零钱',
      },
    });
  });

  it.each([
    ['SUCCESS', 'SUCCESS'],
    ['REFUNDCLOSE', 'CLOSED'],
    ['CHANGE', 'ABNORMAL'],
    ['PROCESSING', 'PROCESSING'],
  ])('refund_status %s is %s', async (wechat, ours) => {
    const over = wechat === 'SUCCESS' ? { refund_status: wechat } : { refund_status: wechat, success_time: undefined };
    const result = await codec.verify(raw(refundNotification(over)));
    expect(result.kind).toBe('refund');
    if (result.kind === 'refund') {
      expect(result.report.status).toBe(ours);
      if (wechat !== 'SUCCESS') expect(result.report).not.toHaveProperty('successTime');
    }
  });

  it('keeps a 29-digit refund_id as the string it is, and amounts as integer fen', async () => {
    const result = await codec.verify(
      raw(refundNotification({ refund_id: '50300000000000000000000000123', refund_fee: '1', total_fee: '100000000' })),
    );
    expect(result.kind === 'refund' && result.report).toMatchObject({
      refundId: '50300000000000000000000000123',
      amount: { refund: 1, total: 100000000 },
    });
  });

  it('decodes the published req_info vector (easywechat) under its key', async () => {
    const vector = refundReqInfoVectors().find((v) => v.id === 'easywechat-aes-ecb');
    expect(vector?.apiv2_key).toBeDefined();
    const own = new WechatPayV2RefundNotificationCodec({ apiKey: vector?.apiv2_key ?? '' });
    expect(await own.verify(raw(notificationBody(vector?.req_info_base64 ?? '')))).toEqual({
      kind: 'refund',
      report: {
        outTradeNo: 'abc',
        outRefundNo: '123',
        status: 'SUCCESS',
        appid: MERCHANT.appid,
        mchid: MERCHANT.mchid,
        refundId: '50000303712017072701466990000',
        transactionId: '4005302001201707272838220000',
        amount: { refund: 1, total: 1 },
        successTime: '2017-07-27T00:33:09+08:00',
        userReceivedAccount: '用户零钱',
      },
    });
  });

  it('does not decrypt under a key it was not given (a replaced key gets a codec of its own)', async () => {
    const newOnly = new WechatPayV2RefundNotificationCodec({ apiKey: OTHER_KEY });
    expectRejected(await newOnly.verify(raw(refundNotification())), 'UNDECRYPTABLE', 'rotated key may explain');
  });

  it.each([
    ['out_refund_no', { out_refund_no: undefined }],
    ['transaction_id', { transaction_id: undefined }],
    ['refund_fee', { refund_fee: '6.00' }],
    ['refund_status', { refund_status: 'REFUNDED' }],
  ])(
    'a decrypted req_info with %s missing or malformed is WeChat’s but unusable (kept, alarmed), not unverified',
    async (_field, over) => {
      const result = await codec.verify(raw(refundNotification(over)));
      expect(result).toEqual({ kind: 'unusable', reason: expect.stringMatching(/^req_info /), outTradeNo: '000123' });
    },
  );

  it('a decrypted req_info without out_trade_no is unusable, filed under no order', async () => {
    const result = await codec.verify(raw(refundNotification({ out_trade_no: undefined, refund_id: undefined })));
    expect(result).toEqual({ kind: 'unusable', reason: expect.stringMatching(/^req_info lacks /) });
  });

  it('a decrypted refund whose success time is no time is WeChat’s but unusable, filed under its order', async () => {
    const result = await codec.verify(raw(refundNotification({ success_time: '2026-02-30 12:00:00' })));
    expect(result).toEqual({ kind: 'unusable', reason: expect.stringContaining('2026-02-30'), outTradeNo: '000123' });
  });
});

describe('WechatPayV2RefundNotificationCodec: req_info that is not ours', () => {
  it('refuses a forged req_info (random AES blocks) as UNDECRYPTABLE, reading nothing', async () => {
    const forged = notificationBody(randomBytes(16 * 20).toString('base64'));
    expectRejected(await codec.verify(raw(forged)), 'UNDECRYPTABLE', 'rotated key may explain');
  });

  it('refuses a req_info encrypted under another merchant’s key as UNDECRYPTABLE', async () => {
    expectRejected(
      await codec.verify(raw(refundNotification({}, OTHER_KEY))),
      'UNDECRYPTABLE',
      'rotated key may explain',
    );
  });

  it('refuses a req_info encrypted under the raw MD5 digest (the classic SDK mistake) as UNDECRYPTABLE', async () => {
    // What wechatpy #266 / WxJava #738 got wrong, from the sender's side: the key hashed, not hex-encoded.
    const { createCipheriv, createHash } = await import('node:crypto');
    const rawDigest = createHash('md5').update(KEY).digest();
    const cipher = createCipheriv('aes-256-ecb', Buffer.concat([rawDigest, rawDigest]), null);
    const reqInfo = Buffer.concat([cipher.update(reqInfoXml(refundFields()), 'utf8'), cipher.final()]).toString(
      'base64',
    );
    expectRejected(await codec.verify(raw(notificationBody(reqInfo))), 'UNDECRYPTABLE', 'rotated key may explain');
  });

  it.each([
    ['its last block', (blocks: number) => blocks - 1],
    ['a block in the middle (ECB keeps the padding valid)', (blocks: number) => Math.floor(blocks / 2)],
    ['its first block', () => 0],
  ])('refuses a genuine req_info with a byte flipped in %s as UNDECRYPTABLE', async (_where, blockOf) => {
    const genuine = Buffer.from(encryptRefundReqInfo(reqInfoXml(refundFields()), KEY), 'base64');
    const block = blockOf(genuine.length / 16);
    genuine[block * 16 + 3] = (genuine[block * 16 + 3] ?? 0) ^ 0x5a;
    expectRejected(
      await codec.verify(raw(notificationBody(genuine.toString('base64')))),
      'UNDECRYPTABLE',
      'rotated key may explain',
    );
  });

  it('refuses req_info that is not whole AES blocks, or missing, as undecryptable or unreadable', async () => {
    expectRejected(await codec.verify(raw(notificationBody('AAAA'))), 'UNDECRYPTABLE', 'rotated key may explain');
    const withoutReqInfo = toXml({ return_code: 'SUCCESS', appid: MERCHANT.appid, mch_id: MERCHANT.mchid });
    const result = await codec.verify(raw(withoutReqInfo));
    expect(result.kind).toBe('rejected');
    if (result.kind === 'rejected') expect(['UNREADABLE', 'UNDECRYPTABLE']).toContain(result.code);
  });

  it('files nothing under what an undecryptable notification claims in its envelope', async () => {
    const claims = notificationBody(randomBytes(64).toString('base64'), MERCHANT, {
      out_trade_no: '000123',
      out_refund_no: 'R-000123-1',
    });
    const result = await codec.verify(raw(claims));
    expectRejected(result, 'UNDECRYPTABLE', 'rotated key may explain');
    expect(result).not.toHaveProperty('outTradeNo');
  });

  it('refuses a body that is not XML as UNREADABLE and a huge one as TOO_LARGE', async () => {
    expectRejected(await codec.verify(raw('{"req_info":"x"}')), 'UNREADABLE');
    const huge = notificationBody(encryptRefundReqInfo(reqInfoXml(refundFields()), KEY), MERCHANT, {
      padding: 'x'.repeat(200 * 1024),
    });
    expectRejected(await codec.verify(raw(huge)), 'TOO_LARGE');
  });
});

describe('WechatPayV2RefundNotificationCodec: the rest of the endpoint', () => {
  it('refuses at start-up a key that is not the 32-character APIv2 key', () => {
    expect(() => new WechatPayV2RefundNotificationCodec({ apiKey: 'short' })).toThrow(TypeError);
  });

  it('replies as WeChat v2 expects: 200 text/xml, SUCCESS or FAIL with a clean message', () => {
    const ok = codec.reply(true, 'ignored');
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('text/xml');
    expect(parseXml(ok.body)).toEqual({ return_code: 'SUCCESS', return_msg: 'OK' });
    const fail = codec.reply(false, 'not processed\u0000');
    expect(fail.statusCode).toBe(200);
    expect(parseXml(fail.body)).toEqual({ return_code: 'FAIL', return_msg: 'not processed' });
  });

  it('keeps only the content type for audit (v2 refund notifications carry no signature header)', () => {
    expect(codec.auditHeaders(raw('x'))).toEqual({ 'content-type': 'text/xml' });
    expect(codec.auditHeaders({ headers: {}, body: 'x' })).toBeUndefined();
  });
});
