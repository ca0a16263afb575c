import { webhookHeaders } from './signature';

/** How long a receiver has to answer, as EventBridge API destinations allow. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 5000;
/** How much of a receiver's answer is read (then thrown away) before the rest is cancelled. */
export const MAX_WEBHOOK_RESPONSE_BYTES = 4096;

/** status: the receiver answered, not with a 2xx; timeout: no answer in time; connection: no answer at all. */
export type WebhookFailure = 'status' | 'timeout' | 'connection';

/** The outcome of one attempt; `ms` is how long it took, sending to the last byte read, in milliseconds. */
export type WebhookAttempt =
  | { delivered: true; status: number; ms: number }
  | { delivered: false; status?: number; failure: WebhookFailure; detail: string; ms: number };

export interface DeliverWebhookInput {
  /** The receiver: http(s), without credentials. */
  url: string;
  /** The HMAC key: the decoded bytes of the `whsec_` secret (parseWebhookSecret). */
  key: Buffer;
  /** `webhook-id`: the same on every attempt of one message. */
  id: string;
  /** Sent byte for byte as signed: the JSON text of the message. */
  body: string;
  /** The whole attempt, connecting to reading the answer. Default DEFAULT_WEBHOOK_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Gives `webhook-timestamp`, the time of THIS attempt. */
  now?: () => Date;
  fetch?: typeof fetch;
}

/**
 * One Standard Webhooks attempt: POST the body with the three signed headers and report what
 * happened. Any 2xx is delivered; anything else is a failure for the caller to retry with the same
 * id. A redirect is not followed (the spec counts a 3xx as a failure: the URL should be fixed
 * instead). The receiver's faults are reported, never thrown; what the caller got wrong (a URL that
 * is not http(s), a bad timeout, an id the scheme cannot carry) throws.
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<WebhookAttempt> {
  const url = receiverUrl(input.url);
  const timeoutMs = input.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError('webhook timeoutMs must be a positive whole number of milliseconds');
  }
  const now = input.now ?? (() => new Date());
  const timestamp = Math.floor(now().getTime() / 1000);
  const headers = {
    'content-type': 'application/json',
    ...webhookHeaders({ key: input.key, id: input.id, timestamp, body: input.body }),
  };
  const send = input.fetch ?? globalThis.fetch;
  // One signal for the whole attempt: it also ends the reading of an answer that trickles in.
  const signal = AbortSignal.timeout(timeoutMs);
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 100) / 100;

  let response: Response;
  try {
    response = await send(url, { method: 'POST', headers, body: input.body, redirect: 'manual', signal });
  } catch (error) {
    if (signal.aborted) {
      return { delivered: false, failure: 'timeout', detail: `no answer within ${timeoutMs} ms`, ms: elapsed() };
    }
    return { delivered: false, failure: 'connection', detail: describe(error), ms: elapsed() };
  }
  await drain(response);
  const ms = elapsed();
  const { status } = response;
  if (status >= 200 && status <= 299) return { delivered: true, status, ms };
  return { delivered: false, status, failure: 'status', detail: `the receiver answered HTTP ${status}`, ms };
}

function receiverUrl(text: string): URL {
  const url = new URL(text); // a TypeError for a text that is no URL: the configuration's fault
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError('a webhook URL must be http or https');
  }
  if (url.username !== '' || url.password !== '') {
    throw new TypeError('a webhook URL must not carry credentials');
  }
  return url;
}

/**
 * Reads a little of the answer so that a short one leaves the connection reusable, and cancels the
 * rest: the body means nothing to us, and a receiver must not hold us with an endless one.
 */
async function drain(response: Response): Promise<void> {
  const body = response.body;
  if (body === null) return;
  const reader = body.getReader();
  let bytes = 0;
  try {
    while (bytes < MAX_WEBHOOK_RESPONSE_BYTES) {
      const chunk = await reader.read();
      if (chunk.done) return;
      bytes += chunk.value.byteLength;
    }
  } catch {
    // Timed out or cut off while reading: the status already said what happened.
  }
  await reader.cancel().catch(() => undefined);
}

/** The transport's reason, e.g. `fetch failed: connect ECONNREFUSED 127.0.0.1:9 (ECONNREFUSED)`. */
function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  if (!(cause instanceof Error)) return error.message;
  const code = (cause as { code?: unknown }).code;
  return `${error.message}: ${cause.message}${typeof code === 'string' ? ` (${code})` : ''}`;
}
