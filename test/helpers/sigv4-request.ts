import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface SigningKey {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignOptions {
  credentials: SigningKey;
  region: string;
  service?: string;
  method?: string;
  body?: string;
  headers?: Record<string, string>;
  signingDate?: Date;
  /** false: no x-amz-content-sha256 header (the body is still in the signature, hashed). */
  applyChecksum?: boolean;
}

/**
 * The headers an SDK would send for this call, signed with the SDK's own signer (as a caller of the
 * IAM-authorised API signs): path and query as they go on the wire, host with its port.
 */
export async function sigV4Headers(url: string, options: SignOptions): Promise<Record<string, string>> {
  const target = new URL(url);
  const query: Record<string, string | string[]> = {};
  for (const [name, value] of target.searchParams) {
    const before = query[name];
    query[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  const signer = new SignatureV4({
    service: options.service ?? 'execute-api',
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    applyChecksum: options.applyChecksum ?? true,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: options.method ?? 'GET',
      protocol: target.protocol,
      hostname: target.hostname,
      port: Number(target.port),
      path: target.pathname,
      query,
      headers: {
        host: target.host,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body,
    }),
    options.signingDate === undefined ? {} : { signingDate: options.signingDate },
  );
  return signed.headers;
}

/** fetch with SigV4 headers; `host` is left to fetch, which sends the same value. */
export async function signedFetch(url: string, options: SignOptions): Promise<Response> {
  const { host: _host, ...headers } = await sigV4Headers(url, options);
  return fetch(url, { method: options.method ?? 'GET', headers, body: options.body });
}
