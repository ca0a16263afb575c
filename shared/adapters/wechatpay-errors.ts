import { OUT_OF_TIME, ProviderError, ValidationError } from '../domain/errors';
import { DEADLINE_EXCEEDED } from '../wechatpay/core/deadline';
import { WechatPayError, WechatPayValidationError } from '../wechatpay/core/errors';

/**
 * The WeChat Pay library's errors as the domain's: the same code, retryability and kind, with
 * WeChat's HTTP status, request id and raw code carried along. Anything else passes unchanged.
 */
export function toDomainError(error: unknown): unknown {
  if (error instanceof WechatPayError) {
    return new ProviderError(error.code === DEADLINE_EXCEEDED ? OUT_OF_TIME : error.code, error.message, {
      retryable: error.retryable,
      kind: error.kind,
      httpStatus: error.httpStatus,
      requestId: error.requestId,
      rawCode: error.rawCode,
      cause: error,
    });
  }
  if (error instanceof WechatPayValidationError) {
    return new ValidationError(error.message, error.field, { cause: error });
  }
  return error;
}

/** Runs a library call; what it throws comes out as the domain's errors. */
export async function withDomainErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toDomainError(error);
  }
}
