import { describe, expect, it } from 'vitest';

import { WechatPayError } from '#shared/wechatpay/core/errors';
import {
  RETRYABLE_ERR_CODES,
  RETRYABLE_REFUND_ERR_CODES,
  businessError,
  returnFailError,
} from '#shared/wechatpay/v2/error-codes';

describe('err_code classification', () => {
  it.each(['SYSTEMERROR', 'BANKERROR', 'USERPAYING', 'BIZERR_NEED_RETRY', 'FREQUENCY_LIMITED'])(
    '%s is retryable',
    (code) => {
      expect(businessError(code, 'd')).toMatchObject({ code, retryable: true, kind: 'business' });
    },
  );

  it.each([
    'ORDERPAID',
    'ORDERCLOSED',
    'OUT_TRADE_NO_USED',
    'INVALID_REQUEST',
    'NOAUTH',
    'NOTENOUGH',
    'APPID_MCHID_NOT_MATCH',
    'MCHID_NOT_EXIST',
    'APPID_NOT_EXIST',
    'LACK_PARAMS',
    'SIGNERROR',
    'XML_FORMAT_ERROR',
    'REQUIRE_POST_METHOD',
    'POST_DATA_EMPTY',
    'NOT_UTF8',
    'INVALID_TRANSACTIONID',
    'PARAM_ERROR',
    'ORDERNOTEXIST',
  ])('%s is final', (code) => {
    expect(businessError(code, undefined)).toMatchObject({ code, retryable: false, kind: 'business' });
  });

  it('every retryable code is classified retryable', () => {
    for (const code of RETRYABLE_ERR_CODES) expect(businessError(code, undefined).retryable).toBe(true);
  });

  it('treats an unknown or missing err_code as final', () => {
    expect(businessError('BRAND_NEW', undefined)).toMatchObject({ code: 'BRAND_NEW', retryable: false });
    expect(businessError(undefined, undefined)).toMatchObject({ code: 'UNKNOWN_ERROR', retryable: false });
  });

  it('is a WechatPayError carrying WeChat’s description and its code as sent', () => {
    const err = businessError('NOTENOUGH', '余额不足', { httpStatus: 200 });
    expect(err).toBeInstanceOf(WechatPayError);
    expect(err.message).toContain('余额不足');
    expect(err).toMatchObject({ rawCode: 'NOTENOUGH', httpStatus: 200 });
    expect(businessError(undefined, undefined).rawCode).toBeUndefined();
  });
});

describe('return_code FAIL classification', () => {
  it.each<[string | undefined, string, boolean]>([
    ['签名错误', 'SIGNERROR', false],
    ['sign error', 'SIGNERROR', false],
    ['XML格式错误', 'XML_FORMAT_ERROR', false],
    ['参数格式校验错误', 'RETURN_FAIL', false],
    ['mch_id参数格式错误', 'RETURN_FAIL', false],
    ['系统繁忙,请稍后再试.', 'SYSTEMERROR', true],
    [undefined, 'RETURN_FAIL', false],
  ])('%s → %s (retryable %s)', (msg, code, retryable) => {
    expect(returnFailError(msg)).toMatchObject({ code, retryable, kind: 'transport' });
  });
});

describe('refund classification', () => {
  it('reads an empty balance in return_msg as NOTENOUGH, retryable, and leaves other messages as they were', () => {
    expect(returnFailError('基本账户余额不足，请充值后重新发起')).toMatchObject({ code: 'NOTENOUGH', retryable: true });
    expect(returnFailError('invalid refund_fee')).toMatchObject({ code: 'RETURN_FAIL', retryable: false });
  });

  it('makes NOTENOUGH retryable for a refund only; a payment’s stays final', () => {
    expect(businessError('NOTENOUGH', '余额不足')).toMatchObject({ retryable: false });
    expect(businessError('NOTENOUGH', '余额不足', {}, RETRYABLE_REFUND_ERR_CODES)).toMatchObject({ retryable: true });
    for (const code of ['REFUND_FEE_MISMATCH', 'INVALID_REQUEST', 'ERROR', 'TRADE_OVERDUE', 'REFUNDNOTEXIST'])
      expect(businessError(code, undefined, {}, RETRYABLE_REFUND_ERR_CODES).retryable).toBe(false);
  });
});
