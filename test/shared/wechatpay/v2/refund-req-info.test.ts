import { describe, expect, it } from 'vitest';

import {
  decryptRefundReqInfo,
  readRefundReqInfo,
  RefundReqInfoError,
  refundReqInfoKey,
} from '#shared/wechatpay/v2/refund-req-info';
import { encryptRefundReqInfo, refundReqInfoVectors } from '#test/helpers/wechatpay-v2';

describe('published refund req_info vectors (test/helpers/vectors/v2-refund-reqinfo-aes-ecb.json)', () => {
  const verified = refundReqInfoVectors().filter((v) => v.verified === true);

  it('has a verified vector to check', () => {
    expect(verified.length).toBeGreaterThanOrEqual(1);
  });

  it.each(verified.map((v) => [v.id, v] as const))('%s: same key, same plaintext, and back again', (_id, v) => {
    const key = v.apiv2_key ?? '';
    expect(refundReqInfoKey(key).toString('ascii')).toBe(v.derived_aes_key_md5_hex_lower);
    expect(decryptRefundReqInfo(v.req_info_base64, key)).toBe(v.plaintext);
    expect(encryptRefundReqInfo(v.plaintext ?? '', key)).toBe(v.req_info_base64);
  });
});

describe('readRefundReqInfo', () => {
  const key = 'k'.repeat(32);
  const xml =
    '<root><out_trade_no><![CDATA[000123]]></out_trade_no><refund_fee><![CDATA[100]]></refund_fee>' +
    '<refund_status><![CDATA[SUCCESS]]></refund_status></root>';

  it('reads the fields of the decrypted document', () => {
    expect(readRefundReqInfo(encryptRefundReqInfo(xml, key), key)).toEqual({
      out_trade_no: '000123',
      refund_fee: '100',
      refund_status: 'SUCCESS',
    });
  });

  it('refuses another merchant’s key, a broken ciphertext, and a hostile document', () => {
    expect(() => readRefundReqInfo(encryptRefundReqInfo(xml, key), 'x'.repeat(32))).toThrow(RefundReqInfoError);
    expect(() => readRefundReqInfo('not base64 blocks', key)).toThrow(RefundReqInfoError);
    const xxe = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><root><a>&x;</a></root>';
    expect(() => readRefundReqInfo(encryptRefundReqInfo(xxe, key), key)).toThrow(/DOCTYPE/);
  });
});
