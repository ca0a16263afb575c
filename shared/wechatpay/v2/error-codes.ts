import type { AnswerFacts } from '../core/errors';
import { WechatPayError } from '../core/errors';

/**
 * How WeChat Pay v2 failures are classified. `retryable` means: asking again with the same
 * parameters may succeed (WeChat's own advice for these codes is "retry with the same parameters"
 * or "query again later"). Every other err_code is final, known or not: ORDERPAID, ORDERCLOSED,
 * ORDERREVERSED, ORDERNOTEXIST, OUT_TRADE_NO_USED, INVALID_REQUEST, NOAUTH, NOTENOUGH,
 * APPID_NOT_EXIST, MCHID_NOT_EXIST, APPID_MCHID_NOT_MATCH, LACK_PARAMS, SIGNERROR, XML_FORMAT_ERROR,
 * REQUIRE_POST_METHOD, POST_DATA_EMPTY, NOT_UTF8, INVALID_TRANSACTIONID, PARAM_ERROR, TRADE_ERROR,
 * TRADE_STATE_ERROR, BUYER_MISMATCH, AUTHCODEEXPIRE, AUTH_CODE_ERROR, AUTH_CODE_INVALID, NOTSUPORTCARD.
 *
 * Our own codes besides the shared ones (core/errors.ts, core/http-status.ts): BAD_RESPONSE (an
 * answer that is not WeChat's envelope, retryable) and RESPONSE_TOO_LARGE (final).
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

/** result_code FAIL: a business answer, retryable only for the temporary causes above. */
export function businessError(
  errCode: string | undefined,
  errCodeDes: string | undefined,
  answer: AnswerFacts = {},
): WechatPayError {
  const sent = errCode !== undefined && errCode.trim() !== '' ? errCode : undefined;
  const code = sent ?? 'UNKNOWN_ERROR';
  return new WechatPayError(code, `WeChat Pay refused: ${code}${errCodeDes ? ` (${errCodeDes})` : ''}`, {
    retryable: RETRYABLE_ERR_CODES.has(code),
    kind: 'business',
    ...answer,
    ...(sent !== undefined ? { rawCode: sent } : {}),
  });
}

/**
 * return_code FAIL: WeChat did not accept the call itself (bad sign, bad parameter format, wrong
 * merchant). Only "system busy" is temporary. These replies carry no err_code; the code is derived
 * from return_msg where it is recognisable. WeChat does not sign them, so they are transport
 * failures: nothing is ever decided on one (only a verified result_code answer is WeChat's word).
 */
export function returnFailError(returnMsg: string | undefined, answer: AnswerFacts = {}): WechatPayError {
  const msg = returnMsg ?? '';
  let code = 'RETURN_FAIL';
  let retryable = false;
  if (/签名|sign/i.test(msg)) code = 'SIGNERROR';
  else if (/系统繁忙|系统错误|system ?(error|busy)|稍后再试/i.test(msg)) {
    code = 'SYSTEMERROR';
    retryable = true;
  } else if (/xml/i.test(msg)) code = 'XML_FORMAT_ERROR';
  return new WechatPayError(code, `WeChat Pay rejected the call: ${msg || 'return_code FAIL'}`, {
    retryable,
    kind: 'transport',
    ...answer,
  });
}

/** An answer arrived but is not WeChat's envelope (garbage, truncated, not UTF-8): another try may do better. */
export function badResponseError(message: string, answer: AnswerFacts, cause?: unknown): WechatPayError {
  return new WechatPayError('BAD_RESPONSE', message, { retryable: true, kind: 'transport', ...answer, cause });
}

export function responseTooLargeError(maxBytes: number, answer: AnswerFacts): WechatPayError {
  return new WechatPayError('RESPONSE_TOO_LARGE', `WeChat Pay's answer exceeds ${maxBytes} bytes`, {
    retryable: false,
    kind: 'transport',
    ...answer,
  });
}
