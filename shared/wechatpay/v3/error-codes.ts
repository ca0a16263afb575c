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

export function classifyV3Error(
  status: number,
  code: string | undefined,
  message: string | undefined,
  answer: Omit<AnswerFacts, 'httpStatus'> = {},
): WechatPayError {
  if (code === undefined) return httpStatusError(status, answer);
  const ourCode = IN_V2_SPELLING[code] ?? code;
  return new WechatPayError(ourCode, `WeChat Pay answered HTTP ${status} ${code}${message ? ` (${message})` : ''}`, {
    retryable: isRetryableStatus(status) || RETRYABLE_CODES.has(ourCode),
    kind: 'business',
    ...answer,
    httpStatus: status,
    rawCode: code,
  });
}
