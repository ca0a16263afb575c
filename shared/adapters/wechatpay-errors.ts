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

// ---- Refunds ------------------------------------------------------------------------------------

/**
 * Codes (the library's spelling: v2's err_code, v3's mapped onto it, SYSTEM_ERROR → SYSTEMERROR,
 * NOT_ENOUGH → NOTENOUGH) after which the same refund request, with the same out_refund_no, is sent
 * again later. WeChat did not take the request, and says why is temporary: its own fault
 * (SYSTEMERROR, BIZERR_NEED_RETRY), the merchant's balance until topped up (NOTENOUGH, final for a
 * payer's balance in a payment but not here), its rate limits (FREQUENCY_LIMITED, and
 * INVALID_REQ_TOO_MUCH: blocked for about a minute), or a payment still settling (ORDER_NOT_READY).
 * Everything else WeChat says is final (REFUND_FEE_MISMATCH, INVALID_REQUEST, ERROR, TRADE_OVERDUE,
 * USER_ACCOUNT_ABNORMAL, …) unless the library found it retryable (a v3 answer with HTTP 5xx or
 * 429); transport failures keep the library's retryability.
 */
export const RETRYABLE_REFUND_CODES: ReadonlySet<string> = new Set([
  'SYSTEMERROR',
  'SYSTEM_ERROR',
  'BIZERR_NEED_RETRY',
  'NOTENOUGH',
  'NOT_ENOUGH',
  'FREQUENCY_LIMITED',
  'ORDER_NOT_READY',
  'INVALID_REQ_TOO_MUCH',
]);

/**
 * A library error from a refund call as the domain's: as toDomainError, with `retryable` as the
 * RefundProvider port defines it. Only a refusal WeChat signed (kind business) is re-read; a
 * transport failure stays retryable or not as the library judged it.
 */
export function toRefundDomainError(error: unknown): unknown {
  const domain = toDomainError(error);
  if (!(domain instanceof ProviderError) || domain.kind !== 'business') return domain;
  // Never less retryable than the library said: a v3 answer with HTTP 5xx or 429 is, whatever its code.
  const retryable =
    domain.retryable ||
    RETRYABLE_REFUND_CODES.has(domain.code) ||
    (domain.rawCode !== undefined && RETRYABLE_REFUND_CODES.has(domain.rawCode));
  if (retryable === domain.retryable) return domain;
  return new ProviderError(domain.code, domain.message, {
    retryable,
    kind: domain.kind,
    ...(domain.httpStatus === undefined ? {} : { httpStatus: domain.httpStatus }),
    ...(domain.requestId === undefined ? {} : { requestId: domain.requestId }),
    ...(domain.rawCode === undefined ? {} : { rawCode: domain.rawCode }),
    cause: error,
  });
}

/** Runs a refund call of the library; what it throws comes out as the domain's errors. */
export async function withRefundDomainErrors<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw toRefundDomainError(error);
  }
}
