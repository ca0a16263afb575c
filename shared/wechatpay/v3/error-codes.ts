import type { AnswerFacts } from '../core/errors';
import { WechatPayError } from '../core/errors';
import { httpStatusError, isRetryableStatus } from '../core/http-status';

/**
 * v3 error answers (`{ code, message, detail? }` with a 4xx/5xx status) in the library's one
 * vocabulary, which is v2's err_code spelling wherever v2 has a code with the same meaning:
 *
 * | v3 code                  | our code               | retryable |
 * |--------------------------|------------------------|-----------|
 * | SYSTEM_ERROR             | SYSTEMERROR            | yes       |
 * | BANK_ERROR               | BANKERROR              | yes       |
 * | FREQUENCY_LIMITED        | FREQUENCY_LIMITED      | yes       |
 * | ORDER_CLOSED             | ORDERCLOSED            | no        |
 * | ORDERPAID, ORDER_PAID    | ORDERPAID              | no        |
 * | ORDER_NOT_EXIST          | ORDERNOTEXIST          | no        |
 * | SIGN_ERROR               | SIGNERROR              | no        |
 * | NO_AUTH                  | NOAUTH                 | no        |
 * | NOT_ENOUGH               | NOTENOUGH              | no        |
 * | MCH_NOT_EXISTS           | MCHID_NOT_EXIST        | no        |
 * | APPID_MCHID_NOT_MATCH, OUT_TRADE_NO_USED, PARAM_ERROR, INVALID_REQUEST, RULE_LIMIT,
 * | TRADE_ERROR, ACCOUNT_ERROR, any other code: unchanged, not retryable below HTTP 500 |
 *
 * v3's close documentation lists no code for "already paid"; the answer developers report is
 * spelled ORDERPAID (as in v2), and ORDER_PAID is accepted too. Any answer with HTTP status 5xx,
 * 408 or 429 is retryable whatever its code; an answer without a readable code is `HTTP_<status>`
 * (kind transport, as in v2). WeChat's code as sent is kept as `rawCode`.
 */
const IN_V2_SPELLING: Readonly<Record<string, string>> = {
  SYSTEM_ERROR: 'SYSTEMERROR',
  BANK_ERROR: 'BANKERROR',
  FREQUENCY_LIMITED: 'FREQUENCY_LIMITED',
  ORDER_CLOSED: 'ORDERCLOSED',
  ORDERPAID: 'ORDERPAID',
  ORDER_PAID: 'ORDERPAID',
  ORDER_NOT_EXIST: 'ORDERNOTEXIST',
  SIGN_ERROR: 'SIGNERROR',
  NO_AUTH: 'NOAUTH',
  NOT_ENOUGH: 'NOTENOUGH',
  MCH_NOT_EXISTS: 'MCHID_NOT_EXIST',
};

const RETRYABLE_CODES: ReadonlySet<string> = new Set(['SYSTEMERROR', 'BANKERROR', 'FREQUENCY_LIMITED']);

/**
 * Refunds (our spelling): after these the same refund, with the same out_refund_no, may be sent
 * again. SYSTEMERROR is WeChat's trouble ("retry with the same out_refund_no and parameters").
 * NOT_ENOUGH is final for a payment (the payer's balance) but not here: WeChat's 403 "refund
 * failed" means the merchant's available balance is short and nothing was taken; once it is topped
 * up the same request succeeds, and the money is still owed, so closing the refund would be wrong
 * (v2's NOTENOUGH alike). FREQUENCY_LIMITED (429) refused it at a rate limit for old orders: not
 * accepted, "lower the rate and retry with the original parameters". Everything else is final
 * unless its status is 5xx/408/429: INVALID_REQUEST (over the refundable amount, or the same
 * out_refund_no with other content), USER_ACCOUNT_ABNORMAL, NO_AUTH, RESOURCE_NOT_EXISTS, PARAM_ERROR, ….
 */
export const RETRYABLE_REFUND_CODES: ReadonlySet<string> = new Set(['SYSTEMERROR', 'NOTENOUGH', 'FREQUENCY_LIMITED']);

/**
 * Of those, the ones whose cause lasts beyond a client's few seconds of backoff: given back to the
 * caller, retryable, to be sent again on its own schedule rather than retried at once.
 */
export const LATER_REFUND_CODES: ReadonlySet<string> = new Set(['NOTENOUGH', 'FREQUENCY_LIMITED']);

export function classifyV3Error(
  status: number,
  code: string | undefined,
  message: string | undefined,
  answer: Omit<AnswerFacts, 'httpStatus'> = {},
  retryableCodes: ReadonlySet<string> = RETRYABLE_CODES,
): WechatPayError {
  if (code === undefined) return httpStatusError(status, answer);
  const ourCode = IN_V2_SPELLING[code] ?? code;
  return new WechatPayError(ourCode, `WeChat Pay answered HTTP ${status} ${code}${message ? ` (${message})` : ''}`, {
    retryable: isRetryableStatus(status) || retryableCodes.has(ourCode),
    kind: 'business',
    ...answer,
    httpStatus: status,
    rawCode: code,
  });
}
