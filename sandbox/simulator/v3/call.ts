import type { RouteParams } from '../router';

/** One v3 request once read: what the operations look at. */
export interface V3Call {
  method: string;
  /** Path and query string exactly as sent (what the merchant signed). */
  url: string;
  params: RouteParams;
  query: URLSearchParams;
  /** The raw body; '' for GET. */
  body: string;
  /** Where the caller reached the simulator (`http://127.0.0.1:3100`), for URLs handed back. */
  origin: string;
  /** The body as JSON (a plain object), or undefined for an empty body. */
  json: Record<string, unknown> | undefined;
}
