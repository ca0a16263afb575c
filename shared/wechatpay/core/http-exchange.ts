import { deadlineError } from './deadline';
import { WechatPayError } from './errors';

export interface HttpRequest {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  body?: string;
}

export interface ExchangeOptions {
  fetch: typeof fetch;
  /** Connecting, the answer's headers and reading its body all count against this one deadline. */
  timeoutMs: number;
  /** The timeout is what was left of the caller's deadline: running out of it is DEADLINE_EXCEEDED. */
  cutByDeadline?: boolean;
}

/**
 * One HTTP exchange with WeChat Pay: sends `request`, then lets `read` take what it needs from the
 * answer before the deadline. No answer in time is TIMEOUT, any other failure to get one is
 * NETWORK: transport failures that another attempt may cure. WechatPayErrors thrown by `read`
 * pass through unchanged.
 */
export async function exchange<T>(
  request: HttpRequest,
  options: ExchangeOptions,
  read: (response: Response) => Promise<T>,
): Promise<T> {
  const what = `${request.method} ${new URL(request.url).pathname}`;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const response = await options.fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body !== undefined ? { body: request.body } : {}),
      // WeChat Pay's APIs never redirect: one that does is not WeChat, and following it would carry a
      // signed request (a bill download's Authorization) to a host we did not choose. It fails as NETWORK.
      redirect: 'error',
      signal: controller.signal,
    });
    return await read(response);
  } catch (error) {
    if (timedOut && options.cutByDeadline) throw deadlineError(what, error);
    if (timedOut) {
      throw new WechatPayError('TIMEOUT', `${what}: no answer from WeChat Pay within ${options.timeoutMs} ms`, {
        retryable: true,
        kind: 'transport',
        cause: error,
      });
    }
    if (error instanceof WechatPayError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new WechatPayError('NETWORK', `${what}: could not reach WeChat Pay: ${reason}`, {
      retryable: true,
      kind: 'transport',
      cause: error,
    });
  } finally {
    clearTimeout(timer);
  }
}

/** Lets the connection go without reading an answer we will not use. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/**
 * The answer's body, or undefined as soon as it proves larger than `maxBytes` (by its
 * Content-Length or while reading): a body that size is not WeChat's, and the rest is never read.
 */
export async function readBodyUpTo(response: Response, maxBytes: number): Promise<Buffer | undefined> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discardBody(response);
    return undefined;
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
