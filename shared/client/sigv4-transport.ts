import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

import { AppBackendError } from './app-backend-error';

/** What signs a request: an access key pair, with its session token when it is temporary (STS). */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** Fetches (and, for temporary credentials, refreshes) the credentials; asked before every request. */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/** The API Gateway signing name of every HTTP API with IAM authorization. */
export const EXECUTE_API_SERVICE = 'execute-api';

export interface SigV4TransportOptions {
  /** The API's invoke URL, e.g. `https://abc123.execute-api.ap-east-1.amazonaws.com` (a stage path kept). */
  baseUrl: string;
  /** The API's region, which the signature names. */
  region: string;
  credentials: AwsCredentials | AwsCredentialsProvider;
  fetch: typeof fetch;
  /** For the whole call: the answer's body included. */
  timeoutMs: number;
}

export interface SignedCall {
  method: 'GET' | 'POST';
  /** The path below the base URL, its segments percent-encoded (as routePath makes them). */
  path: string;
  /** Unencoded values; only the present ones are sent. */
  query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialisable: sent as application/json. */
  body?: unknown;
  /**
   * Whether sending the call twice does no more than sending it once. Only such a call is `retryable`
   * after a timeout or a lost connection: the first attempt may have been carried out without its
   * answer arriving, and a retry of, say, a refund without its own out_refund_no is a second refund.
   */
  idempotent: boolean;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * RFC 3986 encoding, as SigV4 canonicalises: encodeURIComponent leaves `!'()*` alone, which the
 * signature encodes.
 */
export function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The path with every character of each segment that is neither unreserved nor an escape already
 * percent-encoded (`*`, `|`, a space, non-ASCII), so that what goes on the wire is what was signed:
 * a server canonicalises the path it receives, and a `*` left bare is not the `%2A` a signer hashed.
 */
function strictPath(path: string): string {
  return path
    .split('/')
    .map((segment) => segment.replace(/[^A-Za-z0-9\-._~%]/gu, strictEncode))
    .join('/');
}

export interface SignRequestInput {
  method: string;
  /** Where the request goes; its path and query are sent re-encoded as they are signed (see `url` of the result). */
  url: string | URL;
  credentials: AwsCredentials | AwsCredentialsProvider;
  region: string;
  /** Default `execute-api`, the signing name of every HTTP API with IAM authorization. */
  service?: string;
  /** Signed too (host is added from the URL). */
  headers?: Readonly<Record<string, string>>;
  body?: string;
  /** Default now. */
  signingDate?: Date;
  /** Default true: send x-amz-content-sha256 (the body is in the signature either way). */
  applyChecksum?: boolean;
}

export interface SignedRequest {
  /** The URL to send to: path and query strictly percent-encoded, exactly as signed. */
  url: string;
  /** The headers to send, `host` included (fetch sets it from the URL, to the same value). */
  headers: Record<string, string>;
}

/**
 * Signs one request with SigV4 (the AWS SDK's own signer), as an API Gateway HTTP API with IAM
 * authorization checks it. The one signer of this code base: the client sends through it, and the
 * tests that sign by hand do too.
 */
export async function signRequest(input: SignRequestInput): Promise<SignedRequest> {
  const target = new URL(input.url);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') throw new TypeError('url must be an http(s) URL');
  const path = strictPath(target.pathname);
  const query: Record<string, string | string[]> = {};
  const pairs: string[] = [];
  for (const [name, value] of target.searchParams) {
    const before = query[name];
    query[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
    pairs.push(`${strictEncode(name)}=${strictEncode(value)}`);
  }
  const signer = new SignatureV4({
    service: input.service ?? EXECUTE_API_SERVICE,
    region: input.region,
    credentials: input.credentials,
    sha256: Sha256,
    applyChecksum: input.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: input.method,
      protocol: target.protocol,
      hostname: target.hostname,
      ...(target.port === '' ? {} : { port: Number(target.port) }),
      path,
      query,
      headers: { ...input.headers, host: target.host },
      ...(input.body === undefined ? {} : { body: input.body }),
    }),
    input.signingDate === undefined ? {} : { signingDate: input.signingDate },
  );
  return {
    url: `${target.origin}${path}${pairs.length === 0 ? '' : `?${pairs.join('&')}`}`,
    headers: { ...signed.headers },
  };
}

/**
 * Sends each call signed with SigV4 for `execute-api`, as an API Gateway HTTP API with IAM
 * authorization requires. One signature per attempt, made just before sending: SigV4 dates each
 * signature and API Gateway refuses one older than five minutes.
 */
export class SigV4Transport {
  private readonly base: URL;

  constructor(private readonly options: SigV4TransportOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new TypeError('baseUrl must be an http(s) URL');
    }
    if (this.base.search !== '' || this.base.hash !== '') throw new TypeError('baseUrl must have no query or fragment');
  }

  async send(call: SignedCall): Promise<RawAnswer> {
    const path = `${this.base.pathname.replace(/\/+$/, '')}${call.path}`;
    const url = new URL(`${this.base.origin}${path}`);
    for (const [name, value] of Object.entries(call.query ?? {})) {
      if (value !== undefined) url.searchParams.append(name, value);
    }
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const signed = await signRequest({
      method: call.method,
      url,
      credentials: this.options.credentials,
      region: this.options.region,
      headers: { accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body }),
    });
    const { host: _host, ...headers } = signed.headers;

    try {
      const res = await this.options.fetch(signed.url, {
        method: call.method,
        headers,
        ...(body === undefined ? {} : { body }),
        // A signed request is for this host only: never carried to where a redirect points.
        redirect: 'error',
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      return { status: res.status, headers: res.headers, text: await res.text() };
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      throw new AppBackendError({
        status: 0,
        code: timedOut ? 'TIMEOUT' : 'NETWORK',
        message: timedOut
          ? `${call.method} ${path}: no answer within ${this.options.timeoutMs} ms`
          : `${call.method} ${path}: ${error instanceof Error ? error.message : 'the request failed'}`,
        // The call may have been carried out without its answer arriving: only an idempotent one is
        // safe to send again.
        retryable: call.idempotent,
        cause: error,
      });
    }
  }
}
