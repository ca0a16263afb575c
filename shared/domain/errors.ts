/** The one error base class: a machine-readable code, a message for humans, and the cause. */
export class AppError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Input from outside broke a rule; nothing was changed. */
export class ValidationError extends AppError {
  readonly field: string | undefined;

  constructor(message: string, field?: string, options?: { cause?: unknown }) {
    super('INVALID_REQUEST', message, options);
    this.field = field;
  }
}

/** The request is well formed but the order's state forbids it. */
export class ConflictError extends AppError {}

export class NotFoundError extends AppError {
  /** `code` names what is missing when the caller may act on it (SESSION_NOT_FOUND: log in again). */
  constructor(message: string, options?: { code?: string }) {
    super(options?.code ?? 'NOT_FOUND', message);
  }
}

/**
 * Why WeChat refused a mini program login code, in WeChat's own words: the code is unknown, expired
 * or for another mini program (INVALID_CODE, 40029), it was already exchanged (CODE_USED, 40163),
 * the mini program asks too often (RATE_LIMITED, 45011: later), or WeChat refuses the user
 * (HIGH_RISK_USER, 40226). Nothing was stored.
 */
export type LoginRefusal = 'INVALID_CODE' | 'CODE_USED' | 'RATE_LIMITED' | 'HIGH_RISK_USER';

export class LoginRefusedError extends AppError {
  /** WeChat's errcode, for the caller and a support ticket. */
  readonly wechatErrcode: number;

  constructor(code: LoginRefusal, message: string, wechatErrcode: number, options?: { cause?: unknown }) {
    super(code, message, options);
    this.wechatErrcode = wechatErrcode;
  }
}

/**
 * User data that cannot be accepted: it does not decrypt with the user's session key to JSON
 * (USER_DATA_UNDECRYPTABLE: another session's key, or altered), or it is for another mini program
 * (WATERMARK_MISMATCH). Malformed input is a ValidationError instead.
 */
export type UserDataRejection = 'USER_DATA_UNDECRYPTABLE' | 'WATERMARK_MISMATCH';

export class UserDataRejectedError extends AppError {
  constructor(code: UserDataRejection, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * The deployment is broken: a setting, the merchant's secret or one of its keys. The caller can do
 * nothing about it, so it is a 500 that names nothing; operators see it in the logs and through the
 * Lambda error alarm.
 */
export class ConfigurationError extends AppError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CONFIGURATION', message, options);
  }
}

/**
 * WeChat has not finished the day's bill yet (Bill Creating / STATEMENT_CREATING: it starts at 09:00
 * Beijing the next day). Nothing was compared; ask again later (`retryAfterSeconds`).
 */
export class BillNotReadyError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds = 3_600) {
    super('BILL_NOT_READY', message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export type ProviderErrorKind = 'transport' | 'business' | 'signature';

export interface ProviderErrorDetails {
  /** Whether asking again (with the same request) may succeed. */
  retryable: boolean;
  kind: ProviderErrorKind;
  /** The HTTP status WeChat answered with; absent when no answer came. */
  httpStatus?: number;
  /** WeChat's id of the request (v3 `Request-ID`), for a support ticket. */
  requestId?: string;
  /** WeChat's own code as it sent it (err_code, return_msg's code, v3 `code`), when `code` is ours. */
  rawCode?: string;
  cause?: unknown;
}

/**
 * The payment provider (WeChat Pay) failed. `retryable` says whether asking again may succeed:
 * transport errors and SYSTEMERROR-like answers are; ORDERPAID, NOAUTH and the like are not.
 */
export class ProviderError extends AppError {
  readonly retryable: boolean;
  readonly kind: ProviderErrorKind;
  readonly httpStatus: number | undefined;
  readonly requestId: string | undefined;
  readonly rawCode: string | undefined;

  constructor(code: string, message: string, details: ProviderErrorDetails) {
    super(code, message, { cause: details.cause });
    this.retryable = details.retryable;
    this.kind = details.kind;
    this.httpStatus = details.httpStatus;
    this.requestId = details.requestId;
    this.rawCode = details.rawCode;
  }
}

/**
 * WeChat's own API failed (api.weixin.qq.com: the mini program login), not WeChat Pay: the same
 * 502 and `retryable` as a WeChat Pay call's failure, told as WeChat's so the reader looks at the
 * right service.
 */
export class WechatApiError extends ProviderError {}

/**
 * A downloaded bill that is not WeChat's word: its SHA1 is not the hash WeChat announced (v3), or it
 * disagrees with its own summary or format (cut short, altered). Nothing of it was applied or stored.
 * Retryable: a download again may well be whole.
 */
export class BillRefusedError extends ProviderError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('BILL_REFUSED', message, { retryable: true, kind: 'signature', cause: options?.cause });
  }
}

/**
 * WeChat's own word refusing with one of `codes`: a ProviderError of kind business, which the
 * adapters raise only from an answer whose signature verified. The same code from anything else (an
 * unsigned error page, a proxy) is a failed exchange and must never move an order.
 */
export function isWechatRefusal(error: unknown, ...codes: string[]): error is ProviderError {
  return error instanceof ProviderError && error.kind === 'business' && codes.includes(error.code);
}

/**
 * The provider could not answer before the invocation's deadline: nothing is known, and nothing is
 * wrong with the request. Asked again with time (a new invocation), it may well succeed.
 */
export const OUT_OF_TIME = 'DEADLINE_EXCEEDED';

export function isOutOfTime(error: unknown): error is ProviderError {
  return error instanceof ProviderError && error.code === OUT_OF_TIME;
}
