import { describe, expect, it } from 'vitest';

import { MAX_NOTIFICATION_BYTES, notificationReply, parseV2Notification } from '#shared/wechatpay/v2/notification';
import { signV2 } from '#shared/wechatpay/v2/sign';
import { parseXml, toXml } from '#shared/wechatpay/v2/xml';
import { loadVectors } from '#test/helpers/vectors';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';

const KEY = '192006250b4c09247ec02edce69f6a2d';
const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100' };

function paid(overrides: Record<string, string | undefined> = {}): string {
  return signedV2Notification(paidNotificationFields(MERCHANT, '000123', overrides), KEY);
}

function rejected(body: string): { reason: string; outTradeNo?: string } {
  const result = parseV2Notification(body, KEY);
  if (result.ok) throw new Error('expected a rejection');
  const { ok: _ok, ...rest } = result;
  return rest;
}

describe('parseV2Notification: accepted', () => {
  it('reads a paid notification into typed fields, keeping ids as strings', () => {
    const result = parseV2Notification(
      paid({ out_trade_no: '000123', transaction_id: '1004400740201409030005092168' }),
      KEY,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notification).toMatchObject({
      result_code: 'SUCCESS',
      appid: MERCHANT.appid,
      mch_id: MERCHANT.mchid,
      out_trade_no: '000123',
      transaction_id: '1004400740201409030005092168',
      total_fee: 100,
      cash_fee: 100,
      fee_type: 'CNY',
      time_end: '20261125120000',
      bank_type: 'CFT',
      openid: 'oUpF8uMEb4qRXf22hE3X68TekukE',
      trade_type: 'JSAPI',
      sign_type: 'HMAC-SHA256',
    });
    expect(result.notification.raw.is_subscribe).toBe('N');
  });

  it('verifies an MD5-signed notification for a merchant set up for HMAC-SHA256 (by the sign’s form)', () => {
    const body = signedV2Notification(paidNotificationFields(MERCHANT, '000123'), KEY, 'MD5');
    const result = parseV2Notification(body, KEY);
    expect(result.ok && result.notification.sign_type).toBe('MD5');
  });

  it('reads a pretty-printed notification with coupon fields and Chinese attach', () => {
    // The official example's layout and fields, signed with our key (its own key is not public).
    const { payloads } = loadVectors<{ payloads: Array<{ id: string; body: unknown }> }>('notify-payloads.json');
    const official = payloads.find((p) => p.id === 'v2-pay-notify-official')?.body as string;
    const fields = parseXml(official);
    const sign = signV2(fields, KEY, 'MD5');
    const body = official.replace(/<sign><!\[CDATA\[[0-9A-F]+\]\]><\/sign>/, `<sign><![CDATA[${sign}]]></sign>`);
    const result = parseV2Notification(body, KEY);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notification.attach).toBe('支付测试');
    expect(result.notification.transaction_id).toBe('1004400740201409030005092168');
    expect(result.notification.raw.coupon_fee_0).toBe('100');
  });

  it('accepts a result_code FAIL notification with its error, without payment facts', () => {
    const result = parseV2Notification(
      paid({
        result_code: 'FAIL',
        err_code: 'NOTENOUGH',
        err_code_des: '余额不足',
        transaction_id: undefined,
        time_end: undefined,
      }),
      KEY,
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.notification).toMatchObject({
      result_code: 'FAIL',
      err_code: 'NOTENOUGH',
      err_code_des: '余额不足',
    });
    expect(result.notification.transaction_id).toBeUndefined();
  });
});

describe('parseV2Notification: rejected, never thrown', () => {
  it('refuses a tampered amount, naming the order', () => {
    const body = paid().replace('<total_fee>100</total_fee>', '<total_fee>1</total_fee>');
    expect(rejected(body)).toEqual({
      failure: 'bad_signature',
      reason: 'notification signature does not verify',
      outTradeNo: '000123',
    });
  });

  it('refuses another key’s signature', () => {
    const body = signedV2Notification(paidNotificationFields(MERCHANT, '000123'), 'k'.repeat(32));
    expect(rejected(body).reason).toMatch(/signature/);
  });

  it('refuses a missing sign', () => {
    expect(rejected(toXml(paidNotificationFields(MERCHANT, '000123'))).reason).toBe('notification is not signed');
  });

  it('refuses a sign of neither form', () => {
    expect(rejected(toXml({ ...paidNotificationFields(MERCHANT, '000123'), sign: 'ABC' })).reason).toMatch(/neither/);
  });

  it('refuses return_code FAIL', () => {
    const body = signedV2Notification({ return_code: 'FAIL', return_msg: '签名失败', out_trade_no: '000123' }, KEY);
    expect(rejected(body)).toEqual({ reason: 'return_code FAIL: 签名失败', outTradeNo: '000123', signed: true });
  });

  it.each<[string, Record<string, string | undefined>, RegExp]>([
    ['no result_code', { result_code: undefined }, /result_code missing/],
    ['an odd result_code', { result_code: 'MAYBE' }, /result_code MAYBE/],
    ['no appid', { appid: undefined }, /lacks appid/],
    ['no mch_id', { mch_id: undefined }, /lacks mch_id/],
    ['no out_trade_no', { out_trade_no: undefined }, /lacks out_trade_no/],
    ['a paid one without transaction_id', { transaction_id: undefined }, /transaction_id/],
    ['a paid one without total_fee', { total_fee: undefined }, /total_fee/],
    ['a paid one with a bad time_end', { time_end: '2026-11-25' }, /time_end/],
    ['a fractional total_fee', { total_fee: '1.00' }, /total_fee is not an integer/],
    ['a negative cash_fee', { cash_fee: '-1' }, /cash_fee is not an integer/],
  ])('refuses %s even when signed', (_name, change, reason) => {
    expect(rejected(paid(change)).reason).toMatch(reason);
  });

  it('does not file a rejection under a malformed out_trade_no', () => {
    const body = signedV2Notification(paidNotificationFields(MERCHANT, 'not valid!'), 'k'.repeat(32));
    expect(rejected(body).outTradeNo).toBeUndefined();
  });

  it.each([
    ['an empty body', ''],
    ['garbage', '\u0000\u0001 not xml at all }{'],
    ['JSON', '{"out_trade_no":"000123","result_code":"SUCCESS"}'],
    [
      'XXE',
      '<!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
        '<xml><out_trade_no>000123</out_trade_no><attach>&xxe;</attach></xml>',
    ],
    ['a repeated total_fee', paid().replace('</xml>', '<total_fee>1</total_fee></xml>')],
    [
      'an oversized body',
      `<xml><out_trade_no>000123</out_trade_no><attach>${'A'.repeat(MAX_NOTIFICATION_BYTES)}</attach></xml>`,
    ],
  ])('refuses %s as unreadable, with no order named', (_name, body) => {
    const r = rejected(body);
    expect(r.reason).toMatch(/^unreadable notification/);
    expect(r.outTradeNo).toBeUndefined();
  });

  it('honours a smaller size cap', () => {
    expect(parseV2Notification(paid(), KEY, 100).ok).toBe(false);
  });
});

describe('notificationReply', () => {
  it('is WeChat’s exact SUCCESS reply', () => {
    expect(notificationReply(true, 'ignored')).toBe(
      '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>',
    );
  });

  it('is FAIL with the message', () => {
    expect(notificationReply(false, 'storage unavailable')).toBe(
      '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[storage unavailable]]></return_msg></xml>',
    );
  });

  it('keeps a hostile message well-formed, short and free of control characters', () => {
    const reply = notificationReply(false, `a]]><x>\u0000${'y'.repeat(500)}`);
    const fields = parseXml(reply);
    expect(fields.return_code).toBe('FAIL');
    expect(fields.return_msg?.startsWith('a]]><x>')).toBe(true);
    expect(fields.return_msg?.length).toBeLessThanOrEqual(128);
    expect(parseXml(notificationReply(false, '')).return_msg).toBe('FAIL');
  });
});
