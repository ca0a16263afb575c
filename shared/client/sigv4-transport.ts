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
  /** The path below the base URL, its segments already encoded (see strictPath). */
  path: string;
  /** Unencoded values; only the present ones are sent. */
  query?: Readonly<Record<string, string | undefined>>;
  /** JSON-serialisable: sent as application/json. */
  body?: unknown;
}

export interface RawAnswer {
  status: number;
  headers: Headers;
  text: string;
}

/**
 * RFC 3986 encoding, as SigV4 canonicalises: encodeURIComponent leaves `!'()*` alone, which the
 * signature encodes. A request must send each segment already in this form, so that the path the
 * server canonicalises is the one that was signed (an out_trade_no may hold `*`).
 */
export function strictEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A path from routePath (segments encodeURIComponent'd) with the characters it left alone encoded too. */
export function strictPath(path: string): string {
  return path.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Sends each call signed with SigV4 for `execute-api` (the SDK's own signer), as an API Gateway HTTP API
 * with IAM authorization requires. One signature per attempt, made just before sending: SigV4 dates
 * each signature and API Gateway refuses one older than five minutes.
 */
export class SigV4Transport {
  private readonly base: URL;
  private readonly signer: SignatureV4;

  constructor(private readonly options: SigV4TransportOptions) {
    this.base = new URL(options.baseUrl);
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new TypeError('baseUrl must be an http(s) URL');
    }
    if (this.base.search !== '' || this.base.hash !== '') throw new TypeError('baseUrl must have no query or fragment');
    this.signer = new SignatureV4({
      service: EXECUTE_API_SERVICE,
      region: options.region,
      credentials: options.credentials,
      sha256: Sha256,
    });
  }

  async send(call: SignedCall): Promise<RawAnswer> {
    const path = `${this.base.pathname.replace(/\/+$/, '')}${call.path}`;
    const query: Record<string, string> = {};
    for (const [name, value] of Object.entries(call.query ?? {})) if (value !== undefined) query[name] = value;
    const body = call.body === undefined ? undefined : JSON.stringify(call.body);
    const headers: Record<string, string> = { host: this.base.host, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';

    const signed = await this.signer.sign(
      new HttpRequest({
        method: call.method,
        protocol: this.base.protocol,
        hostname: this.base.hostname,
        ...(this.base.port === '' ? {} : { port: Number(this.base.port) }),
        path,
        query,
        headers,
        ...(body === undefined ? {} : { body }),
      }),
    );

    // fetch sets Host itself, from the URL: the same value as signed.
    const sent: Record<string, string> = {};
    for (const [name, value] of Object.entries(signed.headers)) if (name.toLowerCase() !== 'host') sent[name] = value;
    const search = Object.entries(query)
      .map(([name, value]) => `${strictEncode(name)}=${strictEncode(value)}`)
      .join('&');
    const url = `${this.base.origin}${path}${search === '' ? '' : `?${search}`}`;

    try {
      const res = await this.options.fetch(url, {
        method: call.method,
        headers: sent,
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
        // A POST may have been carried out without its answer arriving: the API's idempotency
        // (the same out_trade_no or out_refund_no again) makes the retry safe.
        retryable: true,
        cause: error,
      });
    }
  }
}
