import { describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { classifyV3Error } from '#shared/wechatpay/v3/error-codes';

describe('v3 error answers in the library vocabulary (v2 spelling)', () => {
  it.each([
    [500, 'SYSTEM_ERROR', 'SYSTEMERROR', true, 'business'],
    [500, 'BANK_ERROR', 'BANKERROR', true, 'business'],
    [429, 'FREQUENCY_LIMITED', 'FREQUENCY_LIMITED', true, 'business'],
    [403, 'FREQUENCY_LIMITED', 'FREQUENCY_LIMITED', true, 'business'],
    [400, 'ORDER_CLOSED', 'ORDERCLOSED', false, 'business'],
    [400, 'ORDERPAID', 'ORDERPAID', false, 'business'],
    [403, 'ORDER_PAID', 'ORDERPAID', false, 'business'],
    [404, 'ORDER_NOT_EXIST', 'ORDERNOTEXIST', false, 'business'],
    [401, 'SIGN_ERROR', 'SIGNERROR', false, 'business'],
    [403, 'NO_AUTH', 'NOAUTH', false, 'business'],
    [403, 'NOT_ENOUGH', 'NOTENOUGH', false, 'business'],
    [400, 'MCH_NOT_EXISTS', 'MCHID_NOT_EXIST', false, 'business'],
    [400, 'APPID_MCHID_NOT_MATCH', 'APPID_MCHID_NOT_MATCH', false, 'business'],
    [403, 'OUT_TRADE_NO_USED', 'OUT_TRADE_NO_USED', false, 'business'],
    [400, 'PARAM_ERROR', 'PARAM_ERROR', false, 'business'],
    [400, 'INVALID_REQUEST', 'INVALID_REQUEST', false, 'business'],
    [403, 'TRADE_ERROR', 'TRADE_ERROR', false, 'business'],
    [503, 'SOMETHING_NEW', 'SOMETHING_NEW', true, 'business'],
    [502, undefined, 'HTTP_502', true, 'transport'],
    [408, undefined, 'HTTP_408', true, 'transport'],
    [400, undefined, 'HTTP_400', false, 'transport'],
  ] as const)('%i %s → %s (retryable %s)', (status, code, domainCode, retryable, kind) => {
    const error = classifyV3Error(status, code, 'details', { requestId: 'req-1' });
    expect(error).toBeInstanceOf(WechatPayError);
    expect(error.httpStatus).toBe(status);
    expect(error.requestId).toBe('req-1');
    expect(error.rawCode).toBe(code);
    expect(error.code).toBe(domainCode);
    expect(error.retryable).toBe(retryable);
    expect(error.kind).toBe(kind);
  });
});
