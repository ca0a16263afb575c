import { describe, expect, it } from 'vitest';
import { toDomainError, withDomainErrors } from '#shared/adapters/wechatpay-errors';
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
