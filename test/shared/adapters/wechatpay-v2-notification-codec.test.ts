import { describe, expect, it } from 'vitest';

import { WechatPayV2NotificationCodec } from '#shared/adapters/wechatpay-v2-notification-codec';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';

const KEY = '192006250b4c09247ec02edce69f6a2d';
const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100' };
const codec = new WechatPayV2NotificationCodec({ apiKey: KEY });

const raw = (body: string) => ({ headers: { 'content-type': 'text/xml' }, body });

describe('WechatPayV2NotificationCodec.verify', () => {
  it('turns a paid notification into a SUCCESS report with the payment facts and WeChat’s merchant ids', async () => {
    const body = signedV2Notification(
      paidNotificationFields({ appid: 'wxOTHER', mchid: '1900000109' }, '000123', {
        total_fee: '2501',
        cash_fee: '2401',
        transaction_id: '1004400740201409030005092168',
        bank_type: 'CMC',
        openid: 'oPayer',
      }),
      KEY,
    );
    expect(codec.apiVersion).toBe('v2');
    expect(await codec.verify(raw(body))).toEqual({
      kind: 'trade',
      report: {
        outTradeNo: '000123',
        state: 'SUCCESS',
        // Filled from the notification, not from config: the domain decides whether they are ours.
        appid: 'wxOTHER',
        mchid: '1900000109',
        amount: { total: 2501, currency: 'CNY' },
        payment: {
          transactionId: '1004400740201409030005092168',
          amountTotal: 2501,
          currency: 'CNY',
          paidAt: '20261125120000',
          bankType: 'CMC',
          payerOpenid: 'oPayer',
        },
      },
    });
  });

  it('accepts an MD5 signature for an HMAC-SHA256 merchant', async () => {
    const body = signedV2Notification(paidNotificationFields(MERCHANT, '000123'), KEY, 'MD5');
    expect((await codec.verify(raw(body))).kind).toBe('trade');
  });

  it('treats a missing fee_type as CNY', async () => {
    const body = signedV2Notification(paidNotificationFields(MERCHANT, '000123', { fee_type: undefined }), KEY);
    const result = await codec.verify(raw(body));
    expect(result.kind === 'trade' && result.report.amount).toEqual({ total: 100, currency: 'CNY' });
  });

  it('turns result_code FAIL into PAYERROR with WeChat’s reason and no payment', async () => {
    const body = signedV2Notification(
      paidNotificationFields(MERCHANT, '000123', {
        result_code: 'FAIL',
        err_code: 'NOTENOUGH',
        err_code_des: '余额不足',
        transaction_id: undefined,
        time_end: undefined,
      }),
      KEY,
    );
    expect(await codec.verify(raw(body))).toEqual({
      kind: 'trade',
      report: {
        outTradeNo: '000123',
        state: 'PAYERROR',
        appid: MERCHANT.appid,
        mchid: MERCHANT.mchid,
        amount: { total: 100, currency: 'CNY' },
        description: '余额不足',
      },
    });
  });

  it.each<[string, () => string, RegExp, string | undefined]>([
    [
      'a tampered amount',
      () =>
        signedV2Notification(paidNotificationFields(MERCHANT, '000123'), KEY).replace(
          '<total_fee>100</total_fee>',
          '<total_fee>1</total_fee>',
        ),
      /signature/,
      '000123',
    ],
    [
      'another key',
      () => signedV2Notification(paidNotificationFields(MERCHANT, '000123'), 'k'.repeat(32)),
      /signature/,
      '000123',
    ],
    [
      'return_code FAIL',
      () => signedV2Notification({ return_code: 'FAIL', return_msg: 'x', out_trade_no: '000123' }, KEY),
      /return_code FAIL/,
      '000123',
    ],
    [
      'a foreign currency',
      () => signedV2Notification(paidNotificationFields(MERCHANT, '000123', { fee_type: 'USD' }), KEY),
      /fee_type USD/,
      '000123',
    ],
    [
      'XXE',
      () =>
        '<!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>' +
        '<xml><out_trade_no>000123</out_trade_no><a>&x;</a></xml>',
      /unreadable/,
      undefined,
    ],
    [
      'an oversized body',
      () => `<xml><out_trade_no>000123</out_trade_no><a>${'A'.repeat(40_000)}</a></xml>`,
      /unreadable/,
      undefined,
    ],
    ['garbage', () => '\u0000\u0001 }{', /unreadable/, undefined],
    ['an empty body', () => '', /unreadable/, undefined],
  ])('refuses %s', async (name, build, reason, outTradeNo) => {
    const result = await codec.verify(raw(build()));
    // Correctly signed (WeChat's own words, kept and alarmed on) or not proven WeChat's (a forgery's traces).
    const signed = name === 'return_code FAIL' || name === 'a foreign currency';
    expect(result.kind).toBe(signed ? 'unusable' : 'rejected');
    if (result.kind === 'trade') return;
    expect(result.reason).toMatch(reason);
    expect(result.outTradeNo).toBe(outTradeNo);
  });

  it('honours its size cap', async () => {
    const small = new WechatPayV2NotificationCodec({ apiKey: KEY, maxBytes: 200 });
    const body = signedV2Notification(paidNotificationFields(MERCHANT, '000123'), KEY);
    expect((await small.verify(raw(body))).kind).toBe('rejected');
  });

  it('refuses to be built without a proper APIv2 key', () => {
    expect(() => new WechatPayV2NotificationCodec({ apiKey: '' })).toThrow();
    expect(() => new WechatPayV2NotificationCodec({ apiKey: 'short' })).toThrow();
  });
});

describe('WechatPayV2NotificationCodec.reply', () => {
  it('answers WeChat’s exact SUCCESS XML with 200 text/xml', () => {
    expect(codec.reply(true, 'stored')).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/xml' },
      body: '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
    });
  });

  it('answers FAIL with the message so WeChat retries', () => {
    expect(codec.reply(false, 'storage unavailable')).toEqual({
      statusCode: 200,
      headers: { 'content-type': 'text/xml' },
      body:
        '<xml><return_code><![CDATA[FAIL]]></return_code>' +
        '<return_msg><![CDATA[storage unavailable]]></return_msg></xml>',
    });
  });
});

describe('WechatPayV2NotificationCodec: how a refusal is coded', () => {
  const paid = () => signedV2Notification(paidNotificationFields(MERCHANT, '000123'), KEY);

  it.each<[string, () => string, string, boolean]>([
    ['an unsigned notification', () => paid().replace(/<sign>.*?<\/sign>/, ''), 'UNSIGNED', false],
    [
      'a sign in neither MD5 nor HMAC-SHA256 form',
      () => paid().replace(/<sign>.*?<\/sign>/, '<sign>abc</sign>'),
      'BAD_SIGNATURE',
      false,
    ],
    [
      'a sign under another key',
      () => signedV2Notification(paidNotificationFields(MERCHANT, '000123'), 'k'.repeat(32)),
      'BAD_SIGNATURE',
      true,
    ],
    ['garbage', () => '\u0000\u0001 }{', 'UNREADABLE', false],
  ])('%s: %s', async (_name, build, code, rotatedKeyMayExplain) => {
    const result = await codec.verify(raw(build()));
    expect(result).toMatchObject({ kind: 'rejected', code });
    expect(result.kind !== 'trade' && result.rotatedKeyMayExplain === true).toBe(rotatedKeyMayExplain);
  });

  it('cannot be steered by what the sender wrote, which the reason may quote', async () => {
    const tags = `<xml>${['signature', 'probe', 'unknown_serial', 'larger'].map((t) => `<${t}>`).join('')}`;
    const result = await codec.verify(raw(tags));
    expect(result).toMatchObject({
      kind: 'rejected',
      code: 'UNREADABLE',
      reason: expect.stringContaining('signature'),
    });
  });
});
