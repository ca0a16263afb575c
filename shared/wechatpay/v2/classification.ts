import { ProviderError } from '#shared/domain/errors';

/**
 * How WeChat Pay v2 failures are classified. `retryable` means: asking again with the same
 * parameters may succeed (WeChat's own advice for these codes is "retry with the same parameters"
 * or "query again later"). Everything else is final: retrying cannot change the answer.
 */

/** err_code values whose cause is temporary. */
export const RETRYABLE_ERR_CODES: ReadonlySet<string> = new Set([
  'SYSTEMERROR',
  'BANKERROR',
  'USERPAYING',
  'BIZERR_NEED_RETRY',
  'FREQUENCY_LIMITED',
  'FREQ_LIMIT',
]);

/** err_code values that will not change on retry. Unknown codes are treated the same way. */
export const FINAL_ERR_CODES: ReadonlySet<string> = new Set([
  'ORDERPAID',
  'ORDERCLOSED',
  'ORDERREVERSED',
  'ORDERNOTEXIST',
  'OUT_TRADE_NO_USED',
  'INVALID_REQUEST',
  'NOAUTH',
  'NOTENOUGH',
  'APPID_NOT_EXIST',
  'MCHID_NOT_EXIST',
  'APPID_MCHID_NOT_MATCH',
  'LACK_PARAMS',
  'SIGNERROR',
  'XML_FORMAT_ERROR',
  'REQUIRE_POST_METHOD',
  'POST_DATA_EMPTY',
  'NOT_UTF8',
  'INVALID_TRANSACTIONID',
  'PARAM_ERROR',
  'TRADE_ERROR',
  'TRADE_STATE_ERROR',
  'BUYER_MISMATCH',
  'AUTHCODEEXPIRE',
  'AUTH_CODE_ERROR',
  'AUTH_CODE_INVALID',
  'NOTSUPORTCARD',
]);

export function isRetryableErrCode(errCode: string): boolean {
  return RETRYABLE_ERR_CODES.has(errCode);
}

/** result_code FAIL: a business answer, retryable only for the temporary causes above. */
export function businessError(errCode: string | undefined, errCodeDes: string | undefined): ProviderError {
  const code = errCode && errCode.trim() !== '' ? errCode : 'UNKNOWN_ERROR';
  return new ProviderError(code, `WeChat Pay refused: ${code}${errCodeDes ? ` (${errCodeDes})` : ''}`, {
    retryable: isRetryableErrCode(code),
    kind: 'business',
  });
}

/**
 * return_code FAIL: WeChat did not accept the call itself (bad sign, bad parameter format, wrong
 * merchant). Only "system busy" is temporary. These replies carry no err_code; the code is derived
 * from return_msg where it is recognisable.
 */
export function returnFailError(returnMsg: string | undefined): ProviderError {
  const msg = returnMsg ?? '';
  let code = 'RETURN_FAIL';
  let retryable = false;
  if (/签名|sign/i.test(msg)) code = 'SIGNERROR';
  else if (/系统繁忙|系统错误|system ?(error|busy)|稍后再试/i.test(msg)) {
    code = 'SYSTEMERROR';
    retryable = true;
  } else if (/xml/i.test(msg)) code = 'XML_FORMAT_ERROR';
  return new ProviderError(code, `WeChat Pay rejected the call: ${msg || 'return_code FAIL'}`, {
    retryable,
    kind: 'business',
  });
}

/** The call did not get an answer: network error, timeout, HTTP error status, unreadable body. */
export function transportError(
  code: string,
  message: string,
  opts: { retryable: boolean; cause?: unknown },
): ProviderError {
  return new ProviderError(code, message, { retryable: opts.retryable, kind: 'transport', cause: opts.cause });
}

/** HTTP status other than 2xx: 5xx, 408 and 429 are worth another try; other 4xx are not. */
export function httpStatusError(status: number): ProviderError {
  const retryable = status >= 500 || status === 408 || status === 429;
  return transportError(`HTTP_${status}`, `WeChat Pay answered HTTP ${status}`, { retryable });
}

/** The answer was signed wrongly or not at all: never trusted, never retried blindly. */
export function signatureError(message: string): ProviderError {
  return new ProviderError('INVALID_SIGNATURE', message, { retryable: false, kind: 'signature' });
}

/** A correctly signed answer that lacks what the API promises. */
export function invalidResponseError(message: string): ProviderError {
  return new ProviderError('INVALID_RESPONSE', message, { retryable: false, kind: 'business' });
}
