import { createHash, timingSafeEqual } from 'node:crypto';

import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import {
  ALGORITHM_IDENTIFIER,
  createScope,
  getCanonicalHeaders,
  getPayloadHash,
  SHA256_HEADER,
  SignatureV4,
} from '@smithy/signature-v4';

/** The one key pair LOCAL_IAM accepts, as an IAM user's long-term access key. */
export interface SigV4Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** A request as it arrived, before anything decoded or rearranged it. */
export interface ArrivedRequest {
  method: string;
  /** Path and query exactly as on the request line (still percent-encoded). */
  target: string;
  /** Node's rawHeaders: name, value, name, value… */
  rawHeaders: readonly string[];
  body: Uint8Array;
}

/**
 * Why API Gateway refuses a request, with the `x-amzn-ErrorType` it names: the caller's SDK tells the
 * kinds apart by it, and the message is API Gateway's own wording.
 */
export interface SigV4Refusal {
  ok: false;
  errorType:
    'ForbiddenException' | 'IncompleteSignatureException' | 'InvalidSignatureException' | 'UnrecognizedClientException';
  message: string;
}

export type SigV4Verdict = { ok: true; accessKeyId: string } | SigV4Refusal;

export interface SigV4VerifierOptions {
  credentials: SigV4Credentials;
  region: string;
  /** The signing name API Gateway's IAM authorization checks. */
  service?: string;
  now?: () => Date;
}

/** How far x-amz-date may be from the verifier's clock, either way (AWS's 5 minutes). */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The `yyyyMMddTHHmmssZ` form AWS uses in x-amz-date and in its messages. */
export function amzDate(at: Date): string {
  return at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}Z$/, 'Z');
}

function parseAmzDate(value: string): Date | undefined {
  const m = AMZ_DATE.exec(value);
  if (m === null) return undefined;
  const at = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
  // Rejects 20240231T…, which Date would roll over into March.
  return amzDate(at) === value ? at : undefined;
}

/** Header names lower-cased; a repeated header's values joined with commas, as SigV4 canonicalises them. */
function headersOf(rawHeaders: readonly string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = (rawHeaders[i] as string).toLowerCase();
    const value = rawHeaders[i + 1] as string;
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before},${value}`);
  }
  return headers;
}

/** The query as the signer took it: decoded names and values, a repeated name's values kept in order. */
function queryOf(rawQuery: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = {};
  for (const pair of rawQuery.split('&')) {
    if (pair === '') continue;
    const at = pair.indexOf('=');
    const name = decodeLenient(at === -1 ? pair : pair.slice(0, at));
    const value = at === -1 ? '' : decodeLenient(pair.slice(at + 1));
    const before = query[name];
    query[name] = before === undefined ? value : [...(Array.isArray(before) ? before : [before]), value];
  }
  return query;
}

function decodeLenient(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    // A malformed escape cannot have been signed as sent: the recomputed signature will differ.
    return value;
  }
}

/**
 * A path the signer would not sign as sent: before signing, the SDK's signer drops empty, `.` and `..`
 * segments (`/orders/B/../A` is signed as `/orders/A`) while the router takes them as they are, so a
 * signature for one order would pass on a path that reaches another route or parameter. Such a path is
 * never one an SDK sends; it is refused rather than normalised. Segments are judged decoded too
 * (`%2e%2e` is `..` to anything downstream that decodes it). The root `/` alone is fine.
 */
export function isAmbiguousPath(path: string): boolean {
  if (!path.startsWith('/')) return true;
  if (path === '/') return false;
  return path
    .slice(1)
    .split('/')
    .some((segment) => {
      const decoded = decodeLenient(segment);
      return decoded === '' || decoded === '.' || decoded === '..';
    });
}

interface AuthorizationParts {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  terminator: string;
  signedHeaders: string[];
  signature: string;
}

/** Reads `AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`; a string naming what is missing otherwise. */
function parseAuthorization(header: string): AuthorizationParts | string {
  const algorithm = `${ALGORITHM_IDENTIFIER} `;
  const fields = new Map<string, string>();
  if (header.startsWith(algorithm)) {
    for (const part of header.slice(algorithm.length).split(',')) {
      const at = part.indexOf('=');
      if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
    }
  }
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((name) => !fields.get(name));
  // The header's value is never repeated back: it may be some other scheme's secret.
  if (missing.length > 0) return missing.map((name) => `Authorization header requires '${name}' parameter.`).join(' ');
  const credential = (fields.get('Credential') as string).split('/');
  if (credential.length !== 5) return "Authorization header requires 'Credential' parameter.";
  const [accessKeyId, scopeDate, scopeRegion, scopeService, terminator] = credential as [
    string,
    string,
    string,
    string,
    string,
  ];
  return {
    accessKeyId,
    scopeDate,
    scopeRegion,
    scopeService,
    terminator,
    signedHeaders: (fields.get('SignedHeaders') as string).split(';'),
    signature: fields.get('Signature') as string,
  };
}

/**
 * The signer, with its canonical request and string to sign reachable: API Gateway shows both when a
 * signature does not match, which is how a developer finds what their client signed differently.
 */
class VerifyingSigner extends SignatureV4 {
  async explain(request: HttpRequest, signable: Set<string>, longDate: string, scope: string): Promise<string> {
    const prepared = HttpRequest.clone(request);
    prepared.headers['x-amz-date'] = longDate;
    const canonicalRequest = this.createCanonicalRequest(
      prepared,
      getCanonicalHeaders(prepared, undefined, signable),
      await getPayloadHash(prepared, Sha256),
    );
    const stringToSign = await this.createStringToSign(longDate, scope, canonicalRequest, ALGORITHM_IDENTIFIER);
    return (
      `\n\nThe Canonical String for this request should have been\n'${canonicalRequest}'\n\n` +
      `The String-to-Sign should have been\n'${stringToSign}'\n`
    );
  }
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key ' +
  'and signing method. Consult the service documentation for details.';

const refuse = (errorType: SigV4Refusal['errorType'], message: string): SigV4Refusal => ({
  ok: false,
  errorType,
  message,
});

/**
 * Checks a request's SigV4 `Authorization` header as API Gateway's IAM authorization does, for one key
 * pair: the signature is recomputed with the SDK's own signer over exactly the headers the caller
 * signed, the path and query as sent and the body's hash, and compared in constant time. Only header
 * signing with `x-amz-date` (what the SDKs send); no presigned URLs, no session tokens (the one key
 * pair is a long-term key, so a token is one this verifier did not issue).
 */
export function sigV4Verifier(options: SigV4VerifierOptions): (request: ArrivedRequest) => Promise<SigV4Verdict> {
  const service = options.service ?? 'execute-api';
  const now = options.now ?? (() => new Date());
  const signer = new VerifyingSigner({
    service,
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
    // Only what the caller signed is signed again: no x-amz-content-sha256 the caller did not send.
    applyChecksum: false,
  });

  return async (request) => {
    const headers = headersOf(request.rawHeaders);
    const authorization = headers.get('authorization');
    if (authorization === undefined || authorization.trim() === '') return refuse('ForbiddenException', 'Forbidden');
    const parts = parseAuthorization(authorization.trim());
    if (typeof parts === 'string') return refuse('IncompleteSignatureException', parts);

    const dateHeader = headers.get('x-amz-date');
    const signedAt = dateHeader === undefined ? undefined : parseAmzDate(dateHeader.trim());
    if (dateHeader === undefined || signedAt === undefined) {
      return refuse(
        'IncompleteSignatureException',
        "Authorization header requires existence of a valid 'X-Amz-Date' header (yyyyMMddTHHmmssZ).",
      );
    }
    if (parts.accessKeyId !== options.credentials.accessKeyId || headers.has('x-amz-security-token')) {
      return refuse('UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const longDate = amzDate(signedAt);
    const shortDate = longDate.slice(0, 8);
    if (parts.scopeDate !== shortDate) {
      return refuse(
        'InvalidSignatureException',
        'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
          `'${parts.scopeDate}' != '${shortDate}', from '${longDate}'.`,
      );
    }
    if (parts.scopeRegion !== options.region) {
      return refuse(
        'InvalidSignatureException',
        `Credential should be scoped to a valid region, not '${parts.scopeRegion}'. `,
      );
    }
    if (parts.scopeService !== service) {
      return refuse('InvalidSignatureException', `Credential should be scoped to correct service: '${service}'. `);
    }
    if (parts.terminator !== 'aws4_request') {
      return refuse(
        'InvalidSignatureException',
        `Credential should be scoped with a valid terminator: 'aws4_request', not '${parts.terminator}'. `,
      );
    }
    if (!parts.signedHeaders.includes('host')) {
      return refuse(
        'InvalidSignatureException',
        "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
      );
    }
    const at = now();
    if (signedAt.getTime() < at.getTime() - MAX_CLOCK_SKEW_MS) {
      const limit = amzDate(new Date(at.getTime() - MAX_CLOCK_SKEW_MS));
      return refuse(
        'InvalidSignatureException',
        `Signature expired: ${longDate} is now earlier than ${limit} (${amzDate(at)} - 5 min.)`,
      );
    }
    if (signedAt.getTime() > at.getTime() + MAX_CLOCK_SKEW_MS) {
      const limit = amzDate(new Date(at.getTime() + MAX_CLOCK_SKEW_MS));
      return refuse(
        'InvalidSignatureException',
        `Signature not yet current: ${longDate} is still later than ${limit} (${amzDate(at)} + 5 min.)`,
      );
    }

    const queryAt = request.target.indexOf('?');
    const path = queryAt === -1 ? request.target : request.target.slice(0, queryAt);
    // API Gateway's answer to a signature that does not cover what was sent; no canonical request is
    // shown, as the signer's would be of a path other than the one sent.
    if (isAmbiguousPath(path)) return refuse('InvalidSignatureException', SIGNATURE_MISMATCH);

    const signedHeaders: Record<string, string> = {};
    for (const name of parts.signedHeaders) {
      const value = headers.get(name);
      if (value !== undefined && name !== 'x-amz-date') signedHeaders[name] = value;
    }
    // The body's own hash, never the caller's word for it: a body changed after signing then fails
    // like any other change, as API Gateway hashes what it received.
    if (SHA256_HEADER in signedHeaders) {
      signedHeaders[SHA256_HEADER] = createHash('sha256').update(request.body).digest('hex');
    }
    const httpRequest = new HttpRequest({
      method: request.method,
      protocol: 'http:',
      hostname: (headers.get('host') ?? '').replace(/:\d+$/, ''),
      path,
      query: queryAt === -1 ? {} : queryOf(request.target.slice(queryAt + 1)),
      headers: signedHeaders,
      body: request.body,
    });
    const signable = new Set(parts.signedHeaders);
    const signed = await signer.sign(httpRequest, { signingDate: signedAt, signableHeaders: signable });
    const expected = Buffer.from(/Signature=([0-9a-f]+)$/.exec(signed.headers.authorization ?? '')?.[1] ?? '', 'utf8');
    const given = Buffer.from(parts.signature, 'utf8');
    if (given.length === expected.length && timingSafeEqual(given, expected)) {
      return { ok: true, accessKeyId: parts.accessKeyId };
    }
    const scope = createScope(shortDate, options.region, service);
    return refuse(
      'InvalidSignatureException',
      SIGNATURE_MISMATCH + (await signer.explain(httpRequest, signable, longDate, scope)),
    );
  };
}
