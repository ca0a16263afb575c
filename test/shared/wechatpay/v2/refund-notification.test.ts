import { createCipheriv, createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MAX_REFUND_NOTIFICATION_BYTES, parseV2RefundNotification } from '#shared/wechatpay/v2/refund-notification';
import { decryptRefundReqInfo, encryptRefundReqInfo } from '#shared/wechatpay/v2/refund-req-info';
import { refundNotificationBody } from '#shared/wechatpay/v2/testing/refund-notifications';
import { toXml } from '#shared/wechatpay/v2/xml';
import { loadVectors } from '#test/helpers/vectors';
import { refundReqInfoVectors } from '#test/helpers/wechatpay-v2';

const KEY = '192006250b4c09247ec02edce69f6a2d';
const PREVIOUS_KEY = 'a'.repeat(32);
const MERCHANT = { appid: 'wx2421b1c4370ec43b', mchid: '10000100' };

const ROOT = {
  out_refund_no: 'R4001312001201707262674894706_4',
  out_trade_no: '201707260201501501005710775',
  refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
  refund_fee: '15',
  refund_id: '50000203702017072601461713166',
  refund_recv_accout: '用户零钱',
  refund_request_source: 'API',
  refund_status: 'SUCCESS',
  settlement_refund_fee: '15',
  settlement_total_fee: '100',
  success_time: '2017-07-26 02:45:49',
  total_fee: '100',
  transaction_id: '4001312001201707262674894706',
};

function body(fields: Record<string, string | undefined> = ROOT, apiKey = KEY): string {
  return refundNotificationBody({ ...MERCHANT, apiKey, fields, nonce: '1ee38e38b04990449808688cf3a763b7' });
}

function envelope(reqInfo: string | undefined, extra: Record<string, string | undefined> = {}): string {
  return toXml({
    return_code: 'SUCCESS',
    appid: MERCHANT.appid,
    mch_id: MERCHANT.mchid,
    nonce_str: 'n',
    req_info: reqInfo,
    ...extra,
  });
}

describe('parseV2RefundNotification', () => {
  it('decrypts req_info and reads the refund: amounts as integers, ids as strings, the envelope’s merchant', () => {
    const result = parseV2RefundNotification(body(), [KEY]);
    expect(result).toEqual({
      ok: true,
      envelope: { appid: MERCHANT.appid, mch_id: MERCHANT.mchid },
      keyIndex: 0,
      fields: {
        out_trade_no: ROOT.out_trade_no,
        out_refund_no: ROOT.out_refund_no,
        refund_id: ROOT.refund_id,
        transaction_id: ROOT.transaction_id,
        total_fee: 100,
        refund_fee: 15,
        settlement_total_fee: 100,
        settlement_refund_fee: 15,
        refund_status: 'SUCCESS',
        success_time: '2017-07-26 02:45:49',
        refund_recv_accout: '用户零钱',
        refund_account: 'REFUND_SOURCE_UNSETTLED_FUNDS',
        refund_request_source: 'API',
        raw: ROOT,
      },
    });
  });

  it('tries each key in turn: the previous key still works during a rotation', () => {
    const result = parseV2RefundNotification(body(ROOT, PREVIOUS_KEY), [KEY, PREVIOUS_KEY]);
    expect(result).toMatchObject({ ok: true, keyIndex: 1, fields: { out_refund_no: ROOT.out_refund_no } });
  });

  it('reads CHANGE and REFUNDCLOSE results, without a success time', () => {
    for (const status of ['CHANGE', 'REFUNDCLOSE']) {
      const result = parseV2RefundNotification(body({ ...ROOT, refund_status: status, success_time: undefined }), [
        KEY,
      ]);
      expect(result).toMatchObject({ ok: true, fields: { refund_status: status } });
      expect(result.ok && result.fields.success_time).toBeUndefined();
    }
  });

  it('refuses as UNDECRYPTABLE another merchant’s key, a tampered or forged req_info, and having no key', () => {
    const cases = [
      parseV2RefundNotification(body(ROOT, 'b'.repeat(32)), [KEY, PREVIOUS_KEY]),
      parseV2RefundNotification(envelope(Buffer.from('A'.repeat(48)).toString('base64')), [KEY]),
      parseV2RefundNotification(envelope('bm90IGJsb2Nrcw=='), [KEY]),
      parseV2RefundNotification(body(), []),
    ];
    // Flip one ciphertext byte: ECB garbles that block, and the XML (or padding) no longer holds.
    const reqInfo = Buffer.from(encryptRefundReqInfo(toXml(ROOT, 'root'), KEY), 'base64');
    reqInfo[20] = (reqInfo[20] ?? 0) ^ 0x55;
    cases.push(parseV2RefundNotification(envelope(reqInfo.toString('base64')), [KEY]));
    // Encrypted under the raw 16-byte MD5 digest instead of its hex string (the peer SDKs' bug).
    const rawDigest = createHash('md5').update(KEY).digest();
    const wrong = createCipheriv('aes-128-ecb', rawDigest, null);
    const misKeyed = Buffer.concat([wrong.update(toXml(ROOT, 'root')), wrong.final()]).toString('base64');
    cases.push(parseV2RefundNotification(envelope(misKeyed), [KEY]));
    for (const result of cases) expect(result).toMatchObject({ ok: false, failure: 'UNDECRYPTABLE' });
    for (const result of cases) expect(JSON.stringify(result)).not.toContain(KEY);
  });

  it('refuses as UNREADABLE what is not a refund notification envelope, before decrypting anything', () => {
    const cases = [
      'not xml',
      '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><xml><req_info>&e;</req_info></xml>',
      envelope(undefined),
      envelope(encryptRefundReqInfo(toXml(ROOT, 'root'), KEY), { appid: undefined }),
      envelope(encryptRefundReqInfo(toXml(ROOT, 'root'), KEY), { mch_id: undefined }),
      toXml({ return_code: 'FAIL', return_msg: 'nope' }),
      '<xml><return_code>SUCCESS</return_code><appid><a>nested</a></appid></xml>',
    ];
    for (const text of cases)
      expect(parseV2RefundNotification(text, [KEY])).toMatchObject({ ok: false, failure: 'UNREADABLE' });
  });

  it('a decrypted req_info that lacks what a refund needs is WeChat’s own but no refund: INVALID_REFUND', () => {
    const broken: Array<Record<string, string | undefined>> = [
      { ...ROOT, out_refund_no: undefined },
      { ...ROOT, refund_id: undefined },
      { ...ROOT, transaction_id: undefined },
      { ...ROOT, refund_status: 'REFUNDED' },
      { ...ROOT, refund_fee: '1.5' },
      { ...ROOT, total_fee: undefined },
      { ...ROOT, settlement_refund_fee: '-1' },
    ];
    for (const fields of broken) {
      const result = parseV2RefundNotification(body(fields), [PREVIOUS_KEY, KEY]);
      // Decrypted under our key, so kept and alarmed on by the caller, filed under the order it names.
      expect(result).toEqual({
        ok: false,
        decrypted: true,
        failure: 'INVALID_REFUND',
        reason: expect.stringMatching(/^req_info /),
        envelope: { appid: MERCHANT.appid, mch_id: MERCHANT.mchid },
        keyIndex: 1,
        outTradeNo: ROOT.out_trade_no,
      });
    }
    expect(parseV2RefundNotification(body({ ...ROOT, out_trade_no: undefined }), [KEY])).toEqual({
      ok: false,
      decrypted: true,
      failure: 'INVALID_REFUND',
      reason: 'req_info lacks out_trade_no',
      envelope: { appid: MERCHANT.appid, mch_id: MERCHANT.mchid },
      keyIndex: 0,
    });
    const hostile = encryptRefundReqInfo('<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><root/>', KEY);
    expect(parseV2RefundNotification(envelope(hostile), [KEY])).toMatchObject({ ok: false });
  });

  it('refuses an oversized body as TOO_LARGE without parsing it', () => {
    const big = envelope('A'.repeat(MAX_REFUND_NOTIFICATION_BYTES));
    expect(parseV2RefundNotification(big, [KEY])).toMatchObject({ ok: false, failure: 'TOO_LARGE' });
    expect(parseV2RefundNotification(body(), [KEY], 100)).toMatchObject({ ok: false, failure: 'TOO_LARGE' });
  });
});

describe('published vectors through parseV2RefundNotification', () => {
  const vectors = refundReqInfoVectors();

  it('the verified req_info vector (easywechat) reads as its plaintext says', () => {
    const v = vectors.find((x) => x.id === 'easywechat-aes-ecb');
    expect(v?.verified).toBe(true);
    const key = v?.apiv2_key ?? '';
    expect(decryptRefundReqInfo(v?.req_info_base64 ?? '', key)).toBe(v?.plaintext);
    const result = parseV2RefundNotification(envelope(v?.req_info_base64), [PREVIOUS_KEY, key]);
    expect(result).toMatchObject({
      ok: true,
      keyIndex: 1,
      fields: {
        out_refund_no: '123',
        out_trade_no: 'abc',
        refund_id: '50000303712017072701466990000',
        transaction_id: '4005302001201707272838220000',
        refund_fee: 1,
        total_fee: 1,
        refund_status: 'SUCCESS',
        success_time: '2017-07-27 00:33:09',
        refund_recv_accout: '用户零钱',
      },
    });
  });

  it('the unverifiable WxJava req_info (its key is not public) is UNDECRYPTABLE under any key we hold', () => {
    const v = vectors.find((x) => x.id === 'wxjava-req-info-unverifiable');
    expect(v).toBeDefined();
    const keys = [KEY, ...vectors.flatMap((x) => (x.apiv2_key ? [x.apiv2_key] : []))];
    expect(parseV2RefundNotification(envelope(v?.req_info_base64), keys)).toMatchObject({
      ok: false,
      failure: 'UNDECRYPTABLE',
    });
    // WxJava's whole published envelope (appid and mch_id masked as ****) fails the same way.
    const payloads = loadVectors<{ payloads: Array<{ id: string; body?: string }> }>('notify-payloads.json').payloads;
    const published = payloads.find((p) => p.id === 'v2-refund-notify-envelope')?.body ?? '';
    expect(parseV2RefundNotification(published, keys)).toMatchObject({ ok: false, failure: 'UNDECRYPTABLE' });
  });
});
