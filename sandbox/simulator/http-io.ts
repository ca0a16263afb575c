import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type * as z from 'zod';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body larger than ${limit} bytes`);
    this.name = 'BodyTooLargeError';
  }
}

/** The request body as UTF-8, refusing more than `maxBytes` (the rest is not read into memory). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new BodyTooLargeError(maxBytes);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendText(res: ServerResponse, status: number, body: string, contentType: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body).toString() });
  res.end(body);
}

/** A body with headers of the caller's choosing (v3's signed answers); content-length is added. */
export function sendWithHeaders(
  res: ServerResponse,
  status: number,
  body: string,
  headers: Record<string, string>,
): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body).toString() });
  res.end(body);
}

/** Bytes (a bill, gzipped or not) with the caller's headers; content-length is added. */
export function sendBytes(res: ServerResponse, status: number, body: Buffer, headers: Record<string, string>): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...headers, 'content-length': body.length.toString() });
  res.end(body);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  sendText(res, status, JSON.stringify(value), 'application/json; charset=utf-8');
}

/** The control API's error shape, the same as the product's public API: `{ error: { code, message, field? } }`. */
export function sendJsonError(
  res: ServerResponse,
  status: number,
  code: string,
  message: string,
  field?: string,
): void {
  sendJson(res, status, { error: { code, message, ...(field === undefined ? {} : { field }) } });
}

/** The control API's requests are small JSON objects. */
const MAX_JSON_BYTES = 16 * 1024;

/** Whether the request says its body is JSON (`application/json`, parameters such as charset allowed). */
function declaresJson(req: IncomingMessage): boolean {
  const mediaType = req.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

/**
 * The control API's JSON body checked by `schema`; undefined once the refusal (415, 413, or 400
 * naming the field) has been sent.
 *
 * The body must be declared `application/json`: any web page the developer visits can send a
 * text/plain or form POST to a loopback port without asking (a "simple" cross-site request), but a
 * JSON one needs a CORS preflight, which the simulator never grants. So a page elsewhere cannot pay
 * an order or switch faults on.
 */
export async function readJson<T>(
  req: IncomingMessage,
  res: ServerResponse,
  schema: z.ZodType<T>,
): Promise<T | undefined> {
  if (!declaresJson(req)) {
    req.resume();
    sendJsonError(res, 415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be sent with content-type: application/json');
    return undefined;
  }
  let text: string;
  try {
    text = await readBody(req, MAX_JSON_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    sendJsonError(res, 413, 'PAYLOAD_TOO_LARGE', err.message);
    return undefined;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    sendJsonError(res, 400, 'INVALID_REQUEST', 'the body must be JSON');
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || undefined;
    sendJsonError(
      res,
      400,
      'INVALID_REQUEST',
      field === undefined ? (issue?.message ?? 'invalid body') : `${field}: ${issue?.message ?? 'invalid'}`,
      field,
    );
    return undefined;
  }
  return parsed.data;
}

const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/**
 * The scheme and authority the caller reached the simulator at (`https://127.0.0.1:3100`), for URLs
 * it hands back: a merchant checks that a download URL is on its own base URL's origin. A missing or
 * odd Host header gives the socket's own address.
 */
export function requestOrigin(req: IncomingMessage): string {
  const scheme = (req.socket as Partial<TLSSocket>).encrypted === true ? 'https' : 'http';
  const host = req.headers.host;
  if (host !== undefined && HOST_HEADER.test(host)) return `${scheme}://${host}`;
  const address = req.socket.localAddress ?? '127.0.0.1';
  const authority = address.includes(':') ? `[${address}]` : address;
  return `${scheme}://${authority}:${req.socket.localPort ?? 0}`;
}
