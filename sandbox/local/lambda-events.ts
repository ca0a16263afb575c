import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';

import type {
  APIGatewayEventRequestContextIAMAuthorizer,
  APIGatewayEventRequestContextV2,
  APIGatewayProxyEventV2,
  APIGatewayProxyEventV2WithIAMAuthorizer,
  LambdaFunctionURLEvent,
} from 'aws-lambda';

import { LOCAL_ACCOUNT_ID } from './lambda-context';

/**
 * The parts of an HTTP request that API Gateway and Function URLs put into an event. Kept apart from
 * node:http so events can be built (and tested) from plain values.
 */
export interface ReceivedRequest {
  method: string;
  /** Path and query exactly as on the request line. */
  target: string;
  /** Node's rawHeaders: name, value, name, value… so duplicate headers are all kept. */
  rawHeaders: string[];
  body: Buffer;
  sourceIp: string;
  /** e.g. HTTP/1.1 */
  protocol: string;
  /** The port the request arrived on, for x-forwarded-port. */
  localPort: number;
}

export interface RouteMatch {
  /** `METHOD /path/{param}` as declared on the HTTP API. */
  routeKey: string;
  pathParameters?: Record<string, string>;
}

export interface EventOptions {
  region: string;
  now?: Date;
}

export interface HttpApiEventOptions extends EventOptions {
  /** The access key whose SigV4 the gateway checked (LOCAL_IAM); absent: the check was skipped. */
  checkedAccessKeyId?: string;
}

/**
 * What the local gateway puts where AWS would put the IAM caller: it did not check a signature, and
 * says so, so nothing downstream mistakes it for an authenticated principal.
 */
export const LOCAL_IAM_SKIPPED: APIGatewayEventRequestContextIAMAuthorizer = {
  iam: {
    accessKey: 'LOCAL-IAM-NOT-CHECKED',
    accountId: LOCAL_ACCOUNT_ID,
    callerId: 'local-gateway:iam-auth-skipped',
    cognitoIdentity: null,
    principalOrgId: '',
    userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/local-gateway-iam-auth-skipped`,
    userId: 'local-gateway-iam-auth-skipped',
  },
};

/**
 * What API Gateway puts in the event for a caller whose signature it checked. Locally the one key pair
 * (LOCAL_IAM) stands for an IAM user of the local account.
 */
export function checkedIamAuthorizer(accessKeyId: string): APIGatewayEventRequestContextIAMAuthorizer {
  return {
    iam: {
      accessKey: accessKeyId,
      accountId: LOCAL_ACCOUNT_ID,
      callerId: 'local-iam-user',
      cognitoIdentity: null,
      principalOrgId: '',
      userArn: `arn:aws:iam::${LOCAL_ACCOUNT_ID}:user/local-iam`,
      userId: 'local-iam-user',
    },
  };
}

/** The API id the local HTTP API reports (in AWS a 10-character id). */
export const LOCAL_API_ID = 'localapi00';
/** The url-id of the local notify Function URL (in AWS a 32-character id). */
export const LOCAL_FUNCTION_URL_ID = 'localnotifyfunctionurl0000000000';

export function splitTarget(target: string): { rawPath: string; rawQueryString: string } {
  const q = target.indexOf('?');
  return q === -1
    ? { rawPath: target, rawQueryString: '' }
    : { rawPath: target.slice(0, q), rawQueryString: target.slice(q + 1) };
}

/** Payload 2.0 has no multi-value map: repeated parameters are joined with commas. */
export function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === '') return undefined;
  const params: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    params[name] = name in params ? `${params[name]},${value}` : value;
  }
  return Object.keys(params).length === 0 ? undefined : params;
}

/**
 * Header names lower-cased and repeated headers joined with commas, as payload 2.0 does; cookies are
 * taken out of the headers into their own list.
 */
export function collectHeaders(rawHeaders: string[]): { headers: Record<string, string>; cookies: string[] } {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    if (name === 'cookie') {
      cookies.push(
        ...value
          .split(';')
          .map((c) => c.trim())
          .filter((c) => c !== ''),
      );
    } else {
      headers[name] = name in headers ? `${headers[name]},${value}` : value;
    }
  }
  return { headers, cookies };
}

const TEXT_TYPES = new Set(['application/json', 'application/xml', 'application/javascript', 'application/ecmascript']);

/**
 * Whether AWS passes a body of this type as text; anything else (form posts and a missing
 * content-type included) arrives base64-encoded with isBase64Encoded set.
 */
export function isTextContentType(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = (contentType.split(';')[0] ?? '').trim().toLowerCase();
  return type.startsWith('text/') || TEXT_TYPES.has(type) || type.endsWith('+json') || type.endsWith('+xml');
}

function encodeBody(body: Buffer, contentType: string | undefined): { body?: string; isBase64Encoded: boolean } {
  if (body.length === 0) return { isBase64Encoded: false };
  return isTextContentType(contentType)
    ? { body: body.toString('utf8'), isBase64Encoded: false }
    : { body: body.toString('base64'), isBase64Encoded: true };
}

/** API Gateway's request time, in its access-log form: 12/Mar/2020:19:03:58 +0000. */
export function requestTime(now: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(now.getUTCDate())}/${months[now.getUTCMonth()]}/${now.getUTCFullYear()}:` +
    `${two(now.getUTCHours())}:${two(now.getUTCMinutes())}:${two(now.getUTCSeconds())} +0000`
  );
}

function traceId(now: Date): string {
  return `Root=1-${Math.floor(now.getTime() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`;
}

function baseEvent(
  req: ReceivedRequest,
  routeKey: string,
  context: Omit<APIGatewayEventRequestContextV2, 'http' | 'routeKey' | 'stage' | 'time' | 'timeEpoch'>,
  now: Date,
): APIGatewayProxyEventV2 {
  const { rawPath, rawQueryString } = splitTarget(req.target);
  const { headers, cookies } = collectHeaders(req.rawHeaders);
  // Set by AWS's front door: the caller's address is appended to any list the client sent.
  headers['x-forwarded-for'] = headers['x-forwarded-for']
    ? `${headers['x-forwarded-for']}, ${req.sourceIp}`
    : req.sourceIp;
  headers['x-forwarded-port'] = String(req.localPort);
  headers['x-forwarded-proto'] = 'http';
  headers['x-amzn-trace-id'] = traceId(now);
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      ...context,
      http: {
        method: req.method,
        path: rawPath,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...encodeBody(req.body, headers['content-type']),
  };
  if (cookies.length > 0) event.cookies = cookies;
  const query = queryParameters(rawQueryString);
  if (query !== undefined) event.queryStringParameters = query;
  return event;
}

/**
 * The event an HTTP API route with IAM authorization gives its Lambda (payload format 2.0). The
 * authorizer block names the key the gateway checked (LOCAL_IAM), or marks the check as skipped.
 */
export function toHttpApiEvent(
  req: ReceivedRequest,
  route: RouteMatch,
  options: HttpApiEventOptions,
): APIGatewayProxyEventV2WithIAMAuthorizer {
  const now = options.now ?? new Date();
  const host =
    collectHeaders(req.rawHeaders).headers.host ?? `${LOCAL_API_ID}.execute-api.${options.region}.amazonaws.com`;
  const event = baseEvent(
    req,
    route.routeKey,
    {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      domainName: host,
      domainPrefix: host.split('.')[0] ?? host,
      // API Gateway's ids are short base64 strings.
      requestId: randomBytes(10).toString('base64'),
    },
    now,
  );
  const withAuthorizer: APIGatewayProxyEventV2WithIAMAuthorizer = {
    ...event,
    requestContext: {
      ...event.requestContext,
      authorizer:
        options.checkedAccessKeyId === undefined ? LOCAL_IAM_SKIPPED : checkedIamAuthorizer(options.checkedAccessKeyId),
    },
  };
  if (route.pathParameters !== undefined) withAuthorizer.pathParameters = route.pathParameters;
  return withAuthorizer;
}

/** The event a Function URL with auth type NONE gives its Lambda: one `$default` route, no authorizer. */
export function toFunctionUrlEvent(req: ReceivedRequest, options: EventOptions): LambdaFunctionURLEvent {
  const now = options.now ?? new Date();
  return baseEvent(
    req,
    '$default',
    {
      // Function URLs without IAM auth report the caller's account as anonymous.
      accountId: 'anonymous',
      apiId: LOCAL_FUNCTION_URL_ID,
      domainName: `${LOCAL_FUNCTION_URL_ID}.lambda-url.${options.region}.on.aws`,
      domainPrefix: LOCAL_FUNCTION_URL_ID,
      requestId: randomUUID(),
    },
    now,
  );
}

/** The function answered something API Gateway cannot turn into a response: it answers 500. */
export class MalformedResultError extends Error {}

export interface ProxyResponse {
  statusCode: number;
  /** Pairs, because set-cookie may repeat. */
  headers: Array<[string, string]>;
  body: Buffer;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Turns a payload-2.0 result into an HTTP response by API Gateway's rules: an object with statusCode
 * is a structured response; anything else (a string, an object without statusCode) is sent as a
 * 200 application/json body.
 */
export function fromProxyResult(result: unknown): ProxyResponse {
  if (!isRecord(result) || !('statusCode' in result)) {
    const body = typeof result === 'string' ? result : JSON.stringify(result ?? null);
    return { statusCode: 200, headers: [['content-type', 'application/json']], body: Buffer.from(body, 'utf8') };
  }
  const { statusCode, headers, cookies, body, isBase64Encoded } = result;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) {
    throw new MalformedResultError(`statusCode must be an integer HTTP status, got ${JSON.stringify(statusCode)}`);
  }
  const pairs: Array<[string, string]> = [];
  if (headers !== undefined && headers !== null) {
    if (!isRecord(headers)) throw new MalformedResultError('headers must be an object');
    for (const [name, value] of Object.entries(headers)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) {
        throw new MalformedResultError(`header ${name} must be a string, number or boolean`);
      }
      pairs.push([name.toLowerCase(), String(value)]);
    }
  }
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies) || !cookies.every((c) => typeof c === 'string')) {
      throw new MalformedResultError('cookies must be an array of strings');
    }
    for (const cookie of cookies) pairs.push(['set-cookie', cookie]);
  }
  if (body !== undefined && body !== null && typeof body !== 'string') {
    throw new MalformedResultError('body must be a string');
  }
  const text = body ?? '';
  return {
    statusCode,
    headers: pairs,
    body: isBase64Encoded === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8'),
  };
}

/** Writes a response to the client; hop-by-hop headers from the function are left to node:http. */
export function writeProxyResponse(res: ServerResponse, response: ProxyResponse): void {
  const grouped = new Map<string, string[]>();
  for (const [name, value] of response.headers) {
    if (name === 'content-length' || name === 'transfer-encoding' || name === 'connection') continue;
    grouped.set(name, [...(grouped.get(name) ?? []), value]);
  }
  res.statusCode = response.statusCode;
  for (const [name, values] of grouped) res.setHeader(name, values.length === 1 ? (values[0] as string) : values);
  res.setHeader('content-length', response.body.length);
  res.end(response.body);
}

/** A small JSON answer from the gateway itself (not from a function). */
export function jsonResponse(statusCode: number, value: unknown): ProxyResponse {
  return {
    statusCode,
    headers: [['content-type', 'application/json']],
    body: Buffer.from(JSON.stringify(value), 'utf8'),
  };
}
