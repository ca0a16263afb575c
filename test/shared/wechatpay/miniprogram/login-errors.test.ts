import { describe, expect, it } from 'vitest';
import { WechatPayError } from '#shared/wechatpay/core/errors';
import { LOGIN_ERRCODES, loginError } from '#shared/wechatpay/miniprogram/login-errors';

describe("loginError: code2Session's errcodes in the library's spelling", () => {
  it.each<[number, string, boolean]>([
    [40029, 'INVALID_CODE', false],
    [40163, 'CODE_USED', false],
    [45011, 'FREQUENCY_LIMITED', false],
    [40226, 'HIGH_RISK_USER', false],
    [-1, 'SYSTEM_BUSY', true],
    [40125, 'INVALID_APPSECRET', false],
    [40013, 'INVALID_APPID', false],
  ])('%d is %s, retryable %s', (errcode, code, retryable) => {
    const error = loginError(errcode, 'text, rid: 66c69111-4157f271-729ca238', 200);
    expect(error).toBeInstanceOf(WechatPayError);
    expect(error).toMatchObject({ code, retryable, kind: 'business', httpStatus: 200, rawCode: String(errcode) });
    expect(error.message).toBe(`jscode2session refused: ${errcode} text, rid: 66c69111-4157f271-729ca238`);
  });

  it('lists exactly those', () => {
    expect(Object.keys(LOGIN_ERRCODES).map(Number).sort()).toEqual(
      [-1, 40013, 40029, 40125, 40163, 40226, 45011].sort(),
    );
  });

  it('keeps the number of one it does not know: ERRCODE_<n>, not retryable', () => {
    expect(loginError(45009, 'reach max api daily quota limit', 200)).toMatchObject({
      code: 'ERRCODE_45009',
      retryable: false,
      rawCode: '45009',
    });
    expect(loginError(-2, '', 200).code).toBe('ERRCODE_-2');
  });

  it('says the errcode alone when WeChat gave no errmsg', () => {
    expect(loginError(40029, '', 200).message).toBe('jscode2session refused: 40029');
  });
});
