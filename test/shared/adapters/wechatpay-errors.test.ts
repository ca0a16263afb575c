import { describe, expect, it } from 'vitest';
import {
  toDomainError,
  toRefundDomainError,
  withDomainErrors,
  withRefundDomainErrors,
} from '#shared/adapters/wechatpay-errors';
import { ProviderError, ValidationError } from '#shared/domain/errors';
import { WechatPayError, WechatPayValidationError } from '#shared/wechatpay/core/errors';

describe('toDomainError', () => {
  it('keeps code, retryability, kind and what WeChat answered', () => {
    const library = new WechatPayError('SYSTEMERROR', 'WeChat Pay answered HTTP 500 SYSTEM_ERROR', {
      retryable: true,
      kind: 'business',
      httpStatus: 500,
      requestId: '08F4A7C1-0001',
      rawCode: 'SYSTEM_ERROR',
    });
    const domain = toDomainError(library);
    expect(domain).toBeInstanceOf(ProviderError);
    expect(domain).toMatchObject({
      code: 'SYSTEMERROR',
      message: library.message,
      retryable: true,
      kind: 'business',
      httpStatus: 500,
      requestId: '08F4A7C1-0001',
      rawCode: 'SYSTEM_ERROR',
    });
    expect((domain as ProviderError).cause).toBe(library);
  });

  it('turns a refused input into a ValidationError naming the field', () => {
    const domain = toDomainError(new WechatPayValidationError('prepay: outTradeNo: must be …', 'outTradeNo'));
    expect(domain).toBeInstanceOf(ValidationError);
    expect(domain).toMatchObject({ code: 'INVALID_REQUEST', field: 'outTradeNo' });
  });

  it('passes anything else through unchanged', () => {
    const other = new RangeError('nonce must be 1-32 of 0-9 A-Z a-z _ -');
    expect(toDomainError(other)).toBe(other);
  });
});

describe('withDomainErrors', () => {
  it('returns the result, or throws the translated error', async () => {
    await expect(withDomainErrors(async () => 42)).resolves.toBe(42);
    const refused = new WechatPayError('ORDERPAID', 'paid', { retryable: false, kind: 'business' });
    await expect(
      withDomainErrors(async () => {
        throw refused;
      }),
    ).rejects.toMatchObject({ constructor: ProviderError, code: 'ORDERPAID', retryable: false });
  });
});

describe('toRefundDomainError', () => {
  /** A refusal as the library gives it: WeChat's signed answer, retryable as the library judged payments. */
  const refusal = (code: string, libraryRetryable: boolean, rawCode = code, httpStatus?: number) =>
    new WechatPayError(code, `WeChat Pay refused: ${code}`, {
      retryable: libraryRetryable,
      kind: 'business',
      rawCode,
      ...(httpStatus === undefined ? {} : { httpStatus }),
    });

  it.each([
    // v2 err_code, as the v2 client spells them
    ['SYSTEMERROR', 'SYSTEMERROR'],
    ['BIZERR_NEED_RETRY', 'BIZERR_NEED_RETRY'],
    ['NOTENOUGH', 'NOTENOUGH'],
    ['FREQUENCY_LIMITED', 'FREQUENCY_LIMITED'],
    ['ORDER_NOT_READY', 'ORDER_NOT_READY'],
    ['INVALID_REQ_TOO_MUCH', 'INVALID_REQ_TOO_MUCH'],
    // v3 codes: the library spells them as v2 and keeps WeChat's in rawCode
    ['SYSTEMERROR', 'SYSTEM_ERROR'],
    ['NOTENOUGH', 'NOT_ENOUGH'],
  ])('%s (sent as %s) is retryable: the same out_refund_no goes again later', (code, rawCode) => {
    for (const libraryRetryable of [true, false]) {
      const domain = toRefundDomainError(refusal(code, libraryRetryable, rawCode));
      expect(domain).toBeInstanceOf(ProviderError);
      expect(domain).toMatchObject({ code, rawCode, retryable: true, kind: 'business' });
    }
  });

  it('a v3 code the library did not rename is read by its raw spelling too', () => {
    expect(toRefundDomainError(refusal('NOT_ENOUGH', false, 'NOT_ENOUGH', 403))).toMatchObject({
      code: 'NOT_ENOUGH',
      retryable: true,
      httpStatus: 403,
    });
  });

  it.each([
    'REFUND_FEE_MISMATCH',
    'INVALID_REQUEST',
    'ERROR',
    'TRADE_OVERDUE',
    'USER_ACCOUNT_ABNORMAL',
    'PARAM_ERROR',
    'ORDERNOTEXIST',
    'INVALID_TRANSACTIONID',
    'NOAUTH',
    'SOMETHING_NEW',
  ])('%s is WeChat’s final refusal', (code) => {
    expect(toRefundDomainError(refusal(code, false))).toMatchObject({ code, retryable: false, kind: 'business' });
  });

  it('never makes final what the library found retryable (a v3 answer with HTTP 500)', () => {
    expect(toRefundDomainError(refusal('INVALID_REQUEST', true, 'INVALID_REQUEST', 500))).toMatchObject({
      retryable: true,
    });
  });

  it('keeps the facts of the answer and the library error as the cause', () => {
    const library = new WechatPayError('NOTENOUGH', 'WeChat Pay answered HTTP 403 NOT_ENOUGH', {
      retryable: false,
      kind: 'business',
      httpStatus: 403,
      requestId: 'req-1',
      rawCode: 'NOT_ENOUGH',
    });
    const domain = toRefundDomainError(library) as ProviderError;
    expect(domain).toMatchObject({
      code: 'NOTENOUGH',
      message: library.message,
      httpStatus: 403,
      requestId: 'req-1',
      rawCode: 'NOT_ENOUGH',
      retryable: true,
    });
    expect(domain.cause).toBe(library);
  });

  it('leaves transport failures as the library judged them: an unsigned SYSTEMERROR page is not WeChat’s word', () => {
    const timeout = new WechatPayError('TIMEOUT', 'no answer in 5000 ms', { retryable: true, kind: 'transport' });
    expect(toRefundDomainError(timeout)).toMatchObject({ code: 'TIMEOUT', retryable: true, kind: 'transport' });
    const tooLarge = new WechatPayError('RESPONSE_TOO_LARGE', 'too large', { retryable: false, kind: 'transport' });
    expect(toRefundDomainError(tooLarge)).toMatchObject({ retryable: false, kind: 'transport' });
  });

  it('translates refused input and passes anything else through, like toDomainError', async () => {
    expect(toRefundDomainError(new WechatPayValidationError('bad', 'refund_fee'))).toBeInstanceOf(ValidationError);
    const other = new RangeError('x');
    expect(toRefundDomainError(other)).toBe(other);
    await expect(
      withRefundDomainErrors(async () => {
        throw refusal('BIZERR_NEED_RETRY', false);
      }),
    ).rejects.toMatchObject({ constructor: ProviderError, retryable: true });
    await expect(withRefundDomainErrors(async () => 'ok')).resolves.toBe('ok');
  });
});
