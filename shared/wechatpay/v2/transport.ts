import { ProviderError } from '#shared/domain/errors';
import { transportError, httpStatusError } from './classification';

export interface PostXmlOptions {
  fetch: typeof fetch;
  timeoutMs: number;
  /** Bodies beyond this are not read to the end: WeChat's answers are a few hundred bytes. */
  maxResponseBytes: number;
}

/**
 * POSTs an XML document and returns the response text. Every failure to get a 2xx answer in time
 * is a ProviderError of kind 'transport'; the timeout covers connecting and reading the body.
 */
export async function postXml(url: string, body: string, options: PostXmlOptions): Promise<string> {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const response = await options.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/xml; charset=utf-8', accept: 'text/xml, application/xml' },
      body,
      signal: controller.signal,
    });
    if (response.status < 200 || response.status > 299) {
      await response.body?.cancel().catch(() => undefined);
      throw httpStatusError(response.status);
    }
    return await readCapped(response, options.maxResponseBytes);
  } catch (err) {
    if (timedOut) {
      throw transportError('TIMEOUT', `no answer from WeChat Pay within ${options.timeoutMs} ms`, {
        retryable: true,
        cause: err,
      });
    }
    if (err instanceof ProviderError) throw err;
    throw transportError('NETWORK', `could not reach WeChat Pay: ${err instanceof Error ? err.message : String(err)}`, {
      retryable: true,
      cause: err,
    });
  } finally {
    clearTimeout(timer);
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge(maxBytes);
  }
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
  } catch (err) {
    throw transportError('BAD_RESPONSE', "WeChat Pay's answer is not UTF-8", { retryable: true, cause: err });
  }
}

function tooLarge(maxBytes: number) {
  return transportError('RESPONSE_TOO_LARGE', `WeChat Pay's answer exceeds ${maxBytes} bytes`, { retryable: false });
}
