import type { AnswerFacts } from './errors';
import { WechatPayError } from './errors';

/** 5xx, 408 and 429 say "not now": worth another try. Any other 4xx will be answered the same way again. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 408 || status === 429;
}

/** An HTTP error status with no answer we can read a code from. */
export function httpStatusError(status: number, answer: Omit<AnswerFacts, 'httpStatus'> = {}): WechatPayError {
  return new WechatPayError(`HTTP_${status}`, `WeChat Pay answered HTTP ${status}`, {
    retryable: isRetryableStatus(status),
    kind: 'transport',
    ...answer,
    httpStatus: status,
  });
}

/**
 * An error answer whose signature did not verify (none, or not WeChat's): whatever code its body
 * names is not WeChat's word, so it is only a failed exchange, and another attempt may reach WeChat.
 */
export function unverifiedAnswerError(status: number, answer: Omit<AnswerFacts, 'httpStatus'> = {}): WechatPayError {
  return new WechatPayError(`HTTP_${status}`, `WeChat Pay answered HTTP ${status} without a valid signature`, {
    retryable: true,
    kind: 'transport',
    ...answer,
    httpStatus: status,
  });
}
