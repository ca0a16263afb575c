import type { IncomingMessage } from 'node:http';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { rootCertificates } from 'node:tls';

/**
 * A fetch over node:https for what Node's own fetch cannot do without undici's Agent (not a
 * dependency of ours): present a client certificate (WeChat's /secapi/ paths want the merchant's
 * apiclient certificate) and trust one more CA besides the public ones (the local simulator's).
 *
 * It answers with a real web Response whose body streams as it arrives, honours AbortSignal
 * (before the request, while waiting, and while the body is read), and sends the method, headers
 * and body given. It does not follow redirects (WeChat's API never sends one; a redirect is
 * answered as it came) nor decompress (nothing asks for compression). http: URLs go out as plain
 * HTTP without the TLS options, so one fetch serves a base URL of either scheme.
 */

export interface TlsOptions {
  /** Trusted in addition to Node's public roots (never instead of them). */
  caPem?: string;
  /** The client certificate as a PEM pair… */
  certPem?: string;
  keyPem?: string;
  /** …or as PKCS#12 (WeChat's apiclient_cert.p12, whose password is the mchid). */
  p12?: Buffer;
  passphrase?: string;
}

/** Statuses whose Response must have no body (the Response constructor refuses one). */
const NULL_BODY_STATUSES = new Set([101, 103, 204, 205, 304]);

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = message.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i];
    const value = raw[i + 1];
    if (name === undefined || value === undefined) continue;
    try {
      headers.append(name, value);
    } catch {
      // A header a web Headers cannot hold (bytes outside Latin-1) is left out, not fatal.
    }
  }
  return headers;
}

export function tlsFetch(tls: TlsOptions): typeof fetch {
  const agent = new Agent({
    keepAlive: true,
    ...(tls.caPem !== undefined ? { ca: [...rootCertificates, tls.caPem] } : {}),
    ...(tls.certPem !== undefined ? { cert: tls.certPem } : {}),
    ...(tls.keyPem !== undefined ? { key: tls.keyPem } : {}),
    ...(tls.p12 !== undefined ? { pfx: tls.p12 } : {}),
    ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}),
  });

  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    // The Request constructor normalises what fetch accepts (a string, a URL, a Request, init overrides).
    const req = new Request(input, init);
    const { signal } = req;
    if (signal.aborted) throw abortReason(signal);
    const url = new URL(req.url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new TypeError(`tlsFetch: unsupported protocol ${url.protocol}`);
    const body = req.body === null ? undefined : Buffer.from(await req.arrayBuffer());
    if (signal.aborted) throw abortReason(signal);

    const headers: Record<string, string> = {};
    req.headers.forEach((value, name) => {
      headers[name] = value;
    });
    if (body !== undefined) headers['content-length'] = String(body.length);

    return new Promise<Response>((resolve, reject) => {
      const options = { method: req.method, headers };
      const outgoing = url.protocol === 'https:' ? httpsRequest(url, { ...options, agent }) : httpRequest(url, options);
      let incoming: IncomingMessage | undefined;
      // Before the answer, aborting fails the request; after it, the body stream ends with the reason.
      const onAbort = (): void => {
        const reason = abortReason(signal) as Error;
        incoming?.destroy(reason);
        outgoing.destroy(reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal.removeEventListener('abort', onAbort);

      outgoing.on('error', (error) => {
        done();
        if (signal.aborted) reject(abortReason(signal));
        else reject(new TypeError(`fetch failed: ${error.message}`, { cause: error }));
      });
      outgoing.on('response', (message) => {
        incoming = message;
        const status = message.statusCode ?? 0;
        if (status < 200 || status > 599) {
          message.destroy();
          done();
          reject(new TypeError(`fetch failed: unsupported HTTP status ${status}`));
          return;
        }
        message.on('close', done);
        const stream = NULL_BODY_STATUSES.has(status) || req.method === 'HEAD' ? null : Readable.toWeb(message);
        if (stream === null) message.resume();
        resolve(
          new Response(stream as ReadableStream<Uint8Array> | null, {
            status,
            statusText: message.statusMessage ?? '',
            headers: headersOf(message),
          }),
        );
      });
      outgoing.end(body);
    });
  };
}
