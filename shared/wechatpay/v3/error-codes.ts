import { ProviderError } from '#shared/domain/errors';

/**
 * v3 error answers (`{ code, message, detail? }` with a 4xx/5xx status) in the domain's one
 * vocabulary, which is v2's err_code spelling wherever v2 has a code with the same meaning:
 *
 * | v3 code                  | domain code            | retryable |
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
 * (kind transport, as in v2). Our own codes, as in v2: TIMEOUT and NETWORK (no answer, retryable),
 * INVALID_SIGNATURE (answer not verified, final), INVALID_RESPONSE (verified but malformed, final).
 */
export const V3_TO_DOMAIN_CODE: Readonly<Record<string, string>> = {
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

const RETRYABLE_CODES = new Set(['SYSTEMERROR', 'BANKERROR', 'FREQUENCY_LIMITED']);

/** Our own codes for failures that are not WeChat's answer (the same strings as v2's). */
export const CLIENT_ERROR_CODES = {
  /** No complete answer within timeoutMs. */
  timeout: 'TIMEOUT',
  /** Network failure before a complete answer arrived. */
  network: 'NETWORK',
  /** The answer's signature, serial or timestamp did not verify. */
  signature: 'INVALID_SIGNATURE',
  /** A verified answer whose body does not have the documented shape. */
  response: 'INVALID_RESPONSE',
} as const;

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

export function classifyV3Error(status: number, code: string | undefined, message: string | undefined): ProviderError {
  if (code === undefined) {
    return new ProviderError(`HTTP_${status}`, `WeChat Pay answered HTTP ${status}`, {
      retryable: isRetryableStatus(status),
      kind: 'transport',
    });
  }
  const domainCode = V3_TO_DOMAIN_CODE[code] ?? code;
  return new ProviderError(domainCode, `WeChat Pay answered HTTP ${status} ${code}${message ? ` (${message})` : ''}`, {
    retryable: isRetryableStatus(status) || RETRYABLE_CODES.has(domainCode),
    kind: 'business',
  });
}
