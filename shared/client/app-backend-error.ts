/**
 * What a call to the app-backend API ended in when it did not succeed: the backend's own error answer
 * (`{ error: { code, message, field? } }`), API Gateway's (`{ message }`: a refused signature, a
 * throttle, a function that failed), no answer at all, or an answer that is not what the API promises.
 */
export class AppBackendError extends Error {
  override readonly name = 'AppBackendError';
  /** The HTTP status; 0 when no answer came (network failure or timeout). */
  readonly status: number;
  /**
   * The backend's code (`NOT_FOUND`, `ORDERPAID`, WeChat's code on a 502, …); for an answer that is not
   * the backend's own: `HTTP_<status>` (API Gateway's 403 is `HTTP_403`), `NETWORK`, `TIMEOUT` or
   * `INVALID_RESPONSE`.
   */
  readonly code: string;
  /** The request field at fault, on a 400. */
  readonly field: string | undefined;
  /** Whether the same call may succeed later, when the answer says (WeChat's failures on a 502 do). */
  readonly retryable: boolean | undefined;
  /** The answer's Retry-After in seconds (a bill not ready yet, a login quota). */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: {
    status: number;
    code: string;
    message: string;
    field?: string | undefined;
    retryable?: boolean | undefined;
    retryAfterSeconds?: number | undefined;
    cause?: unknown;
  }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.status = init.status;
    this.code = init.code;
    this.field = init.field;
    this.retryable = init.retryable;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}
