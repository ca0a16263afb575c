import { signRequest } from '#shared/client/sigv4-transport';

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

/** The client's signer over a test's call: a body is sent as JSON, as the client sends it. */
function signed(url: string, options: SignOptions) {
  return signRequest({
    url,
    method: options.method ?? 'GET',
    credentials: options.credentials,
    region: options.region,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.service === undefined ? {} : { service: options.service }),
    ...(options.body === undefined ? {} : { body: options.body }),
    ...(options.signingDate === undefined ? {} : { signingDate: options.signingDate }),
    ...(options.applyChecksum === undefined ? {} : { applyChecksum: options.applyChecksum }),
  });
}

/**
 * The headers the client would send for this call, `host` with its port included, signed by the
 * client's own signer (signRequest). The URL's path and query go on the wire as given when they are
 * already in SigV4's strict encoding (every test URL here is); signedFetch sends the signed form.
 */
export async function sigV4Headers(url: string, options: SignOptions): Promise<Record<string, string>> {
  return (await signed(url, options)).headers;
}

/** fetch of the signed URL with the signed headers; `host` is left to fetch, which sends the same value. */
export async function signedFetch(url: string, options: SignOptions): Promise<Response> {
  const request = await signed(url, options);
  const { host: _host, ...headers } = request.headers;
  return fetch(request.url, { method: options.method ?? 'GET', headers, body: options.body });
}
