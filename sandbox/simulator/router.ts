import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendJsonError } from './http-io';

export type RouteParams = Record<string, string>;
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: RouteParams) => Promise<void>;

export interface Route {
  /** An HTTP method, or '*' when the handler answers wrong methods itself (as WeChat's paths do). */
  method: string;
  /** Segments; `:name` captures one (percent-decoded). */
  path: string;
  handler: RouteHandler;
}

function match(pattern: string, path: string): RouteParams | undefined {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: RouteParams = {};
  for (let i = 0; i < want.length; i += 1) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      try {
        params[w.slice(1)] = decodeURIComponent(g);
      } catch {
        return undefined;
      }
    } else if (w !== g) {
      return undefined;
    }
  }
  return params;
}

/** Dispatches by method and path; unknown paths get 404, known paths with another method 405. */
export function createRouter(routes: Route[]): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://simulator').pathname;
    let pathKnown = false;
    for (const route of routes) {
      const params = match(route.path, path);
      if (params === undefined) continue;
      pathKnown = true;
      if (route.method === '*' || route.method === req.method) {
        await route.handler(req, res, params);
        return;
      }
    }
    if (pathKnown) sendJsonError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method ?? ''} is not allowed on ${path}`);
    else sendJsonError(res, 404, 'NOT_FOUND', `no such path: ${path}`);
  };
}
