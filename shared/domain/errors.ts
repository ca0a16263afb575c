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
  constructor(message: string) {
    super('NOT_FOUND', message);
  }
}

/**
 * The payment provider (WeChat Pay) failed. `retryable` says whether asking again may succeed:
 * transport errors and SYSTEMERROR-like answers are; ORDERPAID, NOAUTH and the like are not.
 */
export class ProviderError extends AppError {
  readonly retryable: boolean;
  readonly kind: 'transport' | 'business' | 'signature';

  constructor(
    code: string,
    message: string,
    opts: { retryable: boolean; kind: 'transport' | 'business' | 'signature'; cause?: unknown },
  ) {
    super(code, message, { cause: opts.cause });
    this.retryable = opts.retryable;
    this.kind = opts.kind;
  }
}
