import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

import type {
  APIGatewayProxyEventV2,
  APIGatewayProxyResultV2,
  Context,
  LambdaFunctionURLEvent,
  LambdaFunctionURLResult,
} from 'aws-lambda';

import { APP_BACKEND_ROUTES, BILL_ROUTES, HEALTH_ROUTE, NOTIFY_ROUTES, type Route, routeKey } from '#shared/app/routes';
import { isLoopbackHost } from '../simulator/loopback-host';
import { describeFunctionError, type Invocation, invoke, type LocalFunction } from './lambda-context';
import {
  fromProxyResult,
  jsonResponse,
  MalformedResultError,
  type ProxyResponse,
  type ReceivedRequest,
  type RouteMatch,
  toFunctionUrlEvent,
  toHttpApiEvent,
  writeProxyResponse,
} from './lambda-events';
import { sigV4Verifier } from './sigv4-verifier';

type Target = 'orders' | 'notify' | 'bills';

/** The HTTP-facing Lambdas, as the local gateway calls them. */
export interface GatewayHandlers {
  orders(event: APIGatewayProxyEventV2, context: Context): Promise<APIGatewayProxyResultV2>;
  notify(event: LambdaFunctionURLEvent, context: Context): Promise<LambdaFunctionURLResult>;
  /**
   * The bill reconciliation routes (BILL_ROUTES), an HTTP API integration of their own. The function
   * also takes the schedule's events, so its declared result is wider than a proxy result: whatever it
   * answers is read as API Gateway reads it (fromProxyResult).
   */
  bills(event: APIGatewayProxyEventV2, context: Context): Promise<unknown>;
}

export interface GatewayOptions {
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  region?: string;
  /**
   * Bodies larger than this get 413 before reaching a function, as AWS refuses them; by default
   * AWS's own limits, so a body refused here is one AWS would refuse. The handlers keep their own,
   * much smaller caps.
   */
  bodyLimits?: Partial<Record<Target, number>>;
  ordersFunction?: Partial<LocalFunction>;
  notifyFunction?: Partial<LocalFunction>;
  billsFunction?: Partial<LocalFunction>;
  /**
   * How long an HTTP API route waits for its function before answering 503 (the invocation goes on);
   * by default API Gateway's own 30 s. Function URLs (notify) wait for the function's whole timeout.
   */
  httpApiTimeoutMs?: number;
  /**
   * Check SigV4 on every app-backend and bill route as API Gateway's IAM authorization does (service
   * execute-api, this gateway's region) against this one key pair; absent: not checked (IAM_NOTICE).
   * `now` is the clock the signature's date is held against.
   */
  iam?: { accessKeyId: string; secretAccessKey: string; now?: () => Date };
  /** Extra fields for the health route (HEALTH_ROUTE). */
  health?: () => Record<string, unknown>;
  /** Where the gateway's own lines go (the IAM notice, one line per request). */
  log?: (line: string) => void;
  handlers?: GatewayHandlers;
}

export interface Gateway {
  readonly url: string;
  readonly port: number;
  /** Handlers are attached after listening, because their settings need the gateway's URL. */
  attach(handlers: GatewayHandlers): void;
  close(): Promise<void>;
}

/** HTTP API: 10 MB payloads (orders and bills are both its routes); Function URL: 6 MB requests. */
export const AWS_BODY_LIMITS: Readonly<Record<Target, number>> = {
  orders: 10 * 1024 * 1024,
  bills: 10 * 1024 * 1024,
  notify: 6 * 1024 * 1024,
};

/** The bills Lambda's timeout and memory in AWS (infra/cdk/bill-reconciler.ts; a test holds them equal). */
export const BILLS_FUNCTION_LIMITS = { timeoutMs: 15 * 60_000, memoryMb: 1769 } as const;

/** An HTTP API's maximum integration timeout: past it API Gateway answers 503, the Lambda runs on. */
export const HTTP_API_TIMEOUT_MS = 30_000;

export const IAM_NOTICE =
  'gateway: IAM authorization is NOT checked locally; in AWS every API route (all but /notify/*) requires ' +
  'SigV4-signed IAM credentials (LOCAL_IAM=1 checks them here too)';

/** What the gateway says at start when LOCAL_IAM is on; the access key id is an identifier, not a secret. */
export function iamCheckedNotice(accessKeyId: string, region: string): string {
  return (
    `gateway: IAM authorization is checked (LOCAL_IAM): every API route (all but /notify/*) requires SigV4 ` +
    `(service execute-api, region ${region}) signed with access key ${accessKeyId}`
  );
}

/** The local gateway's OpenAPI document of the API it serves; AWS has no such route. */
export const OPENAPI_ROUTE = { method: 'GET', path: '/openapi.json' } as const satisfies Route;

/** A route the gateway serves, and the function and routeKey its events get. */
export interface ServedRoute extends Route {
  /** What AWS puts in the event: the HTTP API's `METHOD /path`, or a Function URL's `$default`. */
  readonly routeKey: string;
  readonly target: Target;
}

/**
 * The HTTP API's routes (the same tables the CDK stack deploys, each to its function), plus the notify
 * Function URL mounted at its paths (payments and refunds). Function URLs have one route, `$default`,
 * whatever the path.
 */
export const GATEWAY_ROUTES: readonly ServedRoute[] = [
  ...Object.values(APP_BACKEND_ROUTES).map((route) => ({
    ...route,
    routeKey: routeKey(route),
    target: 'orders' as const,
  })),
  ...Object.values(BILL_ROUTES).map((route) => ({
    ...route,
    routeKey: routeKey(route),
    target: 'bills' as const,
  })),
  ...NOTIFY_ROUTES.map((route) => ({ ...route, routeKey: '$default', target: 'notify' as const })),
];

/** API Gateway's `{name}` is one non-empty path segment, captured under its name. */
function pathPattern(path: string): RegExp {
  const source = path
    .split(/(\{[^/{}]+\})/)
    .map((part) => {
      const parameter = /^\{([^/{}]+)\}$/.exec(part);
      return parameter ? `(?<${parameter[1]}>[^/]+)` : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`);
}

const ROUTES = GATEWAY_ROUTES.map((route) => ({ ...route, pattern: pathPattern(route.path) }));

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function matchRoute(method: string, rawPath: string): (RouteMatch & { target: Target }) | undefined {
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(rawPath);
    if (match === null) continue;
    const groups = match.groups;
    const found: RouteMatch & { target: Target } = { routeKey: route.routeKey, target: route.target };
    if (groups !== undefined) {
      found.pathParameters = Object.fromEntries(Object.entries(groups).map(([k, v]) => [k, decode(v)]));
    }
    return found;
  }
  return undefined;
}

class PayloadTooLarge extends Error {}

/** Reads the body, refusing (without buffering further) once it passes the limit. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new PayloadTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        chunks.length = 0;
        reject(new PayloadTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const internalError = () => jsonResponse(500, { message: 'Internal Server Error' });

export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? 'us-east-1';
  const limits: Record<Target, number> = { ...AWS_BODY_LIMITS, ...options.bodyLimits };
  const log = options.log ?? ((line: string) => console.log(line));
  const functions: Record<Target, LocalFunction> = {
    orders: { functionName: 'orders', timeoutMs: 15_000, region, ...options.ordersFunction },
    notify: { functionName: 'notify', timeoutMs: 10_000, region, ...options.notifyFunction },
    bills: { functionName: 'bills', ...BILLS_FUNCTION_LIMITS, region, ...options.billsFunction },
  };
  const httpApiTimeoutMs = options.httpApiTimeoutMs ?? HTTP_API_TIMEOUT_MS;
  let handlers = options.handlers;
  const iam = options.iam;
  const verify =
    iam === undefined
      ? undefined
      : sigV4Verifier({
          credentials: { accessKeyId: iam.accessKeyId, secretAccessKey: iam.secretAccessKey },
          region,
          now: iam.now,
        });
  let openApiJson: Promise<Record<string, unknown>> | undefined;
  /**
   * Built on first request: the generator is a build-time tool (a devDependency), loaded only when
   * someone asks, and the document names this gateway as its server.
   */
  const openApi = () =>
    (openApiJson ??= import('#shared/app/openapi-document').then(
      ({ openApiDocument }) => openApiDocument({ serverUrl: `http://${host}:${port}` }),
      (error: unknown) => {
        // Tried again on the next request rather than failing for the gateway's whole life.
        openApiJson = undefined;
        throw error;
      },
    ));
  // Known once listening; requests only arrive after that.
  let port = 0;

  /**
   * An HTTP API route's invocation, answered 503 once API Gateway would stop waiting: the invocation
   * is not stopped (Lambda's is not either), its outcome is logged when it comes.
   */
  async function viaHttpApi(
    fn: LocalFunction,
    run: () => Promise<Invocation<unknown>>,
  ): Promise<Invocation<unknown> | 'gave up'> {
    if (fn.timeoutMs <= httpApiTimeoutMs) return run();
    const invocation = run();
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<'gave up'>((resolve) => {
      timer = setTimeout(() => resolve('gave up'), httpApiTimeoutMs);
    });
    try {
      const first = await Promise.race([invocation, gaveUp]);
      if (first === 'gave up') {
        log(
          `[${fn.functionName}] API Gateway stops waiting after ${httpApiTimeoutMs / 1000} s; the invocation goes on`,
        );
        void invocation.then((late) => {
          log(
            late.ok
              ? `[${fn.functionName}] finished after API Gateway had answered 503`
              : describeFunctionError(fn, late),
          );
        });
      }
      return first;
    } finally {
      clearTimeout(timer);
    }
  }

  async function dispatch(received: ReceivedRequest, route: RouteMatch & { target: Target }, caller?: string) {
    if (handlers === undefined) return jsonResponse(503, { message: 'Service Unavailable' });
    const current = handlers;
    const fn = functions[route.target];
    const target = route.target;
    const outcome =
      target === 'notify'
        ? await invoke(fn, current.notify, toFunctionUrlEvent(received, { region }))
        : await viaHttpApi(fn, () =>
            invoke(fn, current[target], toHttpApiEvent(received, route, { region, checkedAccessKeyId: caller })),
          );
    if (outcome === 'gave up') return jsonResponse(503, { message: 'Service Unavailable' });
    if (!outcome.ok) {
      log(describeFunctionError(fn, outcome));
      return internalError();
    }
    try {
      return fromProxyResult(outcome.result);
    } catch (error) {
      if (!(error instanceof MalformedResultError)) throw error;
      log(`[${fn.functionName}] malformed Lambda proxy response: ${error.message}`);
      return internalError();
    }
  }

  async function respond(req: IncomingMessage, res: ServerResponse): Promise<ProxyResponse> {
    if (!isLoopbackHost(req.headers.host, port, options.host)) {
      req.resume();
      res.setHeader('connection', 'close');
      return jsonResponse(421, { message: 'Misdirected Request: use 127.0.0.1 or localhost with this port' });
    }
    const target = req.url ?? '/';
    const rawPath = target.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (method === HEALTH_ROUTE.method && rawPath === HEALTH_ROUTE.path) {
      return jsonResponse(handlers === undefined ? 503 : 200, {
        status: handlers === undefined ? 'starting' : 'ok',
        iamAuth: verify === undefined ? 'skipped locally' : 'checked',
        // The region a caller signs for (SigV4's credential scope), so a local client need not be told.
        region,
        ...options.health?.(),
      });
    }
    if (method === OPENAPI_ROUTE.method && rawPath === OPENAPI_ROUTE.path) {
      req.resume();
      return jsonResponse(200, await openApi());
    }
    const route = matchRoute(method, rawPath);
    if (route === undefined) {
      req.resume();
      return jsonResponse(404, { error: { code: 'NOT_FOUND', message: `No route for ${method} ${rawPath}` } });
    }
    let body: Buffer;
    try {
      body = await readBody(req, limits[route.target]);
    } catch (error) {
      if (!(error instanceof PayloadTooLarge)) throw error;
      // The rest of the body is drained unread; the connection is not reused.
      res.setHeader('connection', 'close');
      req.resume();
      return jsonResponse(413, { message: 'Request Entity Too Large' });
    }
    const received: ReceivedRequest = {
      method,
      target,
      rawHeaders: req.rawHeaders,
      body,
      sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
      protocol: `HTTP/${req.httpVersion}`,
      localPort: req.socket.localPort ?? 0,
    };
    let caller: string | undefined;
    // In AWS notify is a Function URL with no auth; every HTTP API route is IAM-authorised.
    if (verify !== undefined && route.target !== 'notify') {
      const verdict = await verify({ method, target, rawHeaders: req.rawHeaders, body });
      if (!verdict.ok) {
        const refused = jsonResponse(403, { message: verdict.message });
        refused.headers.push(['x-amzn-errortype', verdict.errorType]);
        return refused;
      }
      caller = verdict.accessKeyId;
    }
    return dispatch(received, route, caller);
  }

  const server: Server = createServer((req, res) => {
    const started = Date.now();
    respond(req, res)
      .catch((error: unknown) => {
        log(`gateway: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
        return internalError();
      })
      .then((response) => {
        if (res.destroyed) return;
        writeProxyResponse(res, response);
        if (req.url !== HEALTH_ROUTE.path) {
          log(`${req.method} ${req.url?.split('?')[0]} → ${response.statusCode} (${Date.now() - started} ms)`);
        }
      })
      .catch(() => {
        // The client went away; nothing left to answer.
      });
  });
  // Health checks and clients that keep connections open must not hold up a stop.
  server.keepAliveTimeout = 1_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  log(iam === undefined ? IAM_NOTICE : iamCheckedNotice(iam.accessKeyId, region));

  return {
    url: `http://${host}:${port}`,
    port,
    attach(next) {
      handlers = next;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeIdleConnections();
      }),
  };
}
