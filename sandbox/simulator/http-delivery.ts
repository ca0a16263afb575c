import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** WeChat's servers do not read a merchant's novel; a reply larger than this is cut off. */
const MAX_REPLY_BYTES = 64 * 1024;

export interface DeliveryResult {
  /** Absent when no HTTP answer came (refused, reset, timed out). */
  httpStatus?: number;
  reply?: string;
  durationMs: number;
  timedOut: boolean;
  error?: string;
}

/**
 * One POST to a merchant's endpoint, with the whole reply due within `timeoutMs` (WeChat counts a
 * slow reply as a failure). A fresh connection each time, as from one of WeChat's many servers.
 * Never rejects: every outcome is a result to record.
 */
export function postOnce(
  url: string,
  body: string,
  headers: Record<string, string>,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<DeliveryResult> {
  const started = performance.now();
  const elapsed = (): number => Math.round((performance.now() - started) * 10) / 10;
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<DeliveryResult, 'durationMs'>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve({ ...result, durationMs: elapsed() });
    };
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      resolve({ durationMs: 0, timedOut: false, error: `invalid notify_url ${url}` });
      return;
    }
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(target, {
      method: 'POST',
      agent: false,
      headers: { ...headers, 'content-length': Buffer.byteLength(body).toString(), connection: 'close' },
    });
    const timer = setTimeout(() => {
      finish({ timedOut: true, error: `no complete reply within ${timeoutMs} ms` });
      req.destroy();
    }, timeoutMs);
    const onAbort = (): void => {
      finish({ timedOut: false, error: 'simulator closing' });
      req.destroy();
    };
    signal.addEventListener('abort', onAbort);
    req.on('error', (err) => finish({ timedOut: false, error: err.message }));
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size >= MAX_REPLY_BYTES) return;
        size += chunk.length;
        chunks.push(chunk);
      });
      res.on('error', (err) => finish({ httpStatus: res.statusCode, timedOut: false, error: err.message }));
      res.on('end', () => {
        const reply = Buffer.concat(chunks).subarray(0, MAX_REPLY_BYTES).toString('utf8');
        finish({ httpStatus: res.statusCode, reply, timedOut: false });
      });
    });
    if (signal.aborted) onAbort();
    else req.end(body);
  });
}
