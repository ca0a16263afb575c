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
 * Refund calls read a few of these otherwise (RETRYABLE_REFUND_ERR_CODES below: NOTENOUGH there is
 * the merchant's balance, not the payer's).
 *
 * Our own codes besides the shared ones (core/errors.ts, core/http-status.ts): BAD_RESPONSE (an
 * answer that is not WeChat's envelope, retryable), RESPONSE_TOO_LARGE (final) and CERT_REFUSED
 * (the client certificate turned down before the API saw the request, final).
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

/**
 * Refunds (secapi/pay/refund, pay/refundquery) read some codes otherwise: after each of these the
 * same request, with the same out_refund_no, may be sent again. SYSTEMERROR and BIZERR_NEED_RETRY
 * are WeChat's own trouble (retry now; the refund may even have been taken, and the same
 * out_refund_no cannot refund twice). The rest are "later": NOTENOUGH is the merchant's balance
 * until topped up (final for a payer's balance in a payment, not here: the money is still owed),
 * FREQUENCY_LIMITED and INVALID_REQ_TOO_MUCH are rate limits (blocked for about a minute), and
 * ORDER_NOT_READY is a payment still settling. Everything else is final: REFUND_FEE_MISMATCH,
 * INVALID_REQUEST, ERROR, TRADE_OVERDUE, USER_ACCOUNT_ABNORMAL, CERT_ERROR, REFUNDNOTEXIST, ….
 */
export const RETRYABLE_REFUND_ERR_CODES: ReadonlySet<string> = new Set([
  'SYSTEMERROR',
  'BIZERR_NEED_RETRY',
  'NOTENOUGH',
  'FREQUENCY_LIMITED',
  'INVALID_REQ_TOO_MUCH',
  'ORDER_NOT_READY',
]);

/**
 * Of those, the ones the client itself retries at once. The others would only be refused again
 * within the client's few seconds of backoff, so they go back to the caller, retryable, to be sent
 * again on its own (longer) schedule.
 */
export const RETRY_NOW_REFUND_ERR_CODES: ReadonlySet<string> = new Set(['SYSTEMERROR', 'BIZERR_NEED_RETRY']);

/** result_code FAIL: a business answer, retryable only for the temporary causes given (by default those above). */
export function businessError(
  errCode: string | undefined,
  errCodeDes: string | undefined,
  answer: AnswerFacts = {},
  retryableCodes: ReadonlySet<string> = RETRYABLE_ERR_CODES,
): WechatPayError {
  const sent = errCode !== undefined && errCode.trim() !== '' ? errCode : undefined;
  const code = sent ?? 'UNKNOWN_ERROR';
  return new WechatPayError(code, `WeChat Pay refused: ${code}${errCodeDes ? ` (${errCodeDes})` : ''}`, {
    retryable: retryableCodes.has(code),
    kind: 'business',
    ...answer,
    ...(sent !== undefined ? { rawCode: sent } : {}),
  });
}

/**
 * return_code FAIL: WeChat did not accept the call itself (bad sign, bad parameter format, wrong
 * merchant). Only "system busy" and, for a refund, an empty balance (基本账户余额不足, which WeChat
 * sends either this way or as err_code NOTENOUGH) are temporary. These replies carry no err_code; the code is derived
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
  } else if (/余额不足/.test(msg)) {
    code = 'NOTENOUGH';
    retryable = true;
  } else if (/xml/i.test(msg)) code = 'XML_FORMAT_ERROR';
  return new WechatPayError(code, `WeChat Pay rejected the call: ${msg || 'return_code FAIL'}`, {
    retryable,
    kind: 'transport',
    ...answer,
  });
}

/**
 * WeChat's front end turned the client certificate down before the API saw the request: the HTML
 * 400 of its nginx ("No required SSL certificate was sent", "The SSL certificate error"), or a TLS
 * alert at the handshake. Only the certificate's owner can fix that, so it is final: retrying
 * sends the same certificate.
 */
export const CERT_REFUSED = 'CERT_REFUSED';

export function certificateRefusedError(detail: string, answer: AnswerFacts = {}, cause?: unknown): WechatPayError {
  return new WechatPayError(CERT_REFUSED, `WeChat Pay refused the API client certificate: ${detail}`, {
    retryable: false,
    kind: 'transport',
    ...answer,
    cause,
  });
}

/** OpenSSL's reasons for a TLS alert by which a server refuses a client certificate. */
const CERTIFICATE_ALERT = new RegExp(
  '^ERR_SSL_(?:TLSV13_ALERT_CERTIFICATE_REQUIRED|TLSV1_ALERT_(?:UNKNOWN_CA|ACCESS_DENIED)' +
    '|SSLV3_ALERT_(?:BAD_CERTIFICATE|UNSUPPORTED_CERTIFICATE|CERTIFICATE_\\w+))$',
);

/**
 * A failed exchange whose cause is such an alert, as CERT_REFUSED; any other error as it is. A
 * server that just drops the connection over a certificate (Node's own TLS server does, under
 * TLS 1.3) cannot be told from a network fault, and stays NETWORK.
 */
export function certificateAlertAsRefusal(error: unknown): unknown {
  if (!(error instanceof WechatPayError) || error.code !== 'NETWORK') return error;
  for (let cause: unknown = error.cause; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && CERTIFICATE_ALERT.test(code))
      return certificateRefusedError(`the TLS handshake failed (${code})`, {}, error);
  }
  return error;
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
