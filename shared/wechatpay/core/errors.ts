/**
 * The library's own errors, so that it depends on nothing of its callers: they translate these
 * into theirs. WechatPayError: a call to WeChat Pay failed, or what came back cannot be trusted or
 * read. WechatPayValidationError: the caller's input breaks one of WeChat's rules, so nothing was sent.
 */

/**
 * transport: no usable answer came (network, timeout, HTTP error status, unreadable body, an
 * unsigned error answer); business: WeChat answered, its signature verified, and it said no — the
 * only kind whose code is WeChat's word; signature: the answer is not proven to be WeChat's.
 */
export type WechatPayErrorKind = 'transport' | 'business' | 'signature';

/** What is known of the HTTP answer an error is about; both absent when no answer came. */
export interface AnswerFacts {
  httpStatus?: number;
  /** WeChat's id of the request (v3 `Request-ID` header), for a support ticket. */
  requestId?: string;
}

export interface WechatPayErrorDetails extends AnswerFacts {
  /** Whether asking again with the same request may succeed. */
  retryable: boolean;
  kind: WechatPayErrorKind;
  /** WeChat's code exactly as it sent it (v2 err_code, v3 `code`); `code` may spell it differently. */
  rawCode?: string;
  cause?: unknown;
}

export class WechatPayError extends Error {
  /** One vocabulary for both API versions: v2's err_code spelling, or our own codes (TIMEOUT, HTTP_503, …). */
  readonly code: string;
  readonly retryable: boolean;
  readonly kind: WechatPayErrorKind;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly rawCode: string | undefined;

  constructor(code: string, message: string, details: WechatPayErrorDetails) {
    super(message, { cause: details.cause });
    this.name = 'WechatPayError';
    this.code = code;
    this.retryable = details.retryable;
    this.kind = details.kind;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.rawCode = details.rawCode;
  }
}

export class WechatPayValidationError extends Error {
  readonly code = 'INVALID_REQUEST';
  /** The offending field as a dotted path, when one field is to blame. */
  readonly field: string | undefined;

  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WechatPayValidationError';
    this.field = field;
  }
}

/** Only the facts, whatever else the object describing the answer holds (its body, its headers). */
function answerFacts(answer: AnswerFacts): AnswerFacts {
  return { httpStatus: answer.httpStatus, requestId: answer.requestId };
}

type AnswerError = (message: string, answer?: AnswerFacts, cause?: unknown) => WechatPayError;

function finalError(code: string, kind: WechatPayErrorKind): AnswerError {
  return (message, answer = {}, cause) =>
    new WechatPayError(code, message, { retryable: false, kind, ...answerFacts(answer), cause });
}

/** The answer was signed wrongly or not at all: never trusted, never retried blindly. */
export const signatureError = finalError('INVALID_SIGNATURE', 'signature');

/** A verified answer that lacks what the API promises: asking again would get the same. */
export const invalidResponseError = finalError('INVALID_RESPONSE', 'business');
