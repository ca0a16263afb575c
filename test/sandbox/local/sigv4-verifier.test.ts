import { describe, expect, it } from 'vitest';

import { amzDate, type ArrivedRequest, isAmbiguousPath, sigV4Verifier } from '#sandbox/local/sigv4-verifier';
import { sigV4Headers, type SigningKey } from '#test/helpers/sigv4-request';

/** The key, clock, region and service of AWS's published SigV4 test suite (get-vanilla and friends). */
const SUITE_KEY: SigningKey = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SUITE_NOW = new Date('2015-08-30T12:36:00Z');
const suiteVerifier = sigV4Verifier({
  credentials: SUITE_KEY,
  region: 'us-east-1',
  service: 'service',
  now: () => SUITE_NOW,
});

function suiteRequest(target: string, signature: string, extra: string[] = []): ArrivedRequest {
  return {
    method: 'GET',
    target,
    rawHeaders: [
      'Host',
      'example.amazonaws.com',
      'X-Amz-Date',
      '20150830T123600Z',
      'Authorization',
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, ' +
        `SignedHeaders=host;x-amz-date, Signature=${signature}`,
      ...extra,
    ],
    body: new Uint8Array(),
  };
}

const KEY: SigningKey = { accessKeyId: 'AKIALOCAL', secretAccessKey: 'secret' };
const NOW = new Date('2026-05-01T08:00:00Z');
const verify = sigV4Verifier({ credentials: KEY, region: 'cn-north-1', now: () => NOW });

/** A request as the gateway receives it, from the headers an SDK signed (host included). */
async function arrived(
  url: string,
  options: { method?: string; body?: string; credentials?: SigningKey; headers?: Record<string, string> } = {},
): Promise<ArrivedRequest> {
  const headers = await sigV4Headers(url, {
    credentials: options.credentials ?? KEY,
    region: 'cn-north-1',
    method: options.method ?? 'GET',
    body: options.body,
    headers: options.headers,
    signingDate: NOW,
  });
  const target = new URL(url);
  return {
    method: options.method ?? 'GET',
    target: `${target.pathname}${target.search}`,
    rawHeaders: Object.entries(headers).flat(),
    body: Buffer.from(options.body ?? ''),
  };
}

/** The same request with one header's value replaced (or added). */
function withHeader(request: ArrivedRequest, name: string, value: string): ArrivedRequest {
  const rawHeaders: string[] = [];
  for (let i = 0; i < request.rawHeaders.length; i += 2) {
    if ((request.rawHeaders[i] as string).toLowerCase() !== name) {
      rawHeaders.push(request.rawHeaders[i] as string, request.rawHeaders[i + 1] as string);
    }
  }
  return { ...request, rawHeaders: [...rawHeaders, name, value] };
}

function authorizationOf(request: ArrivedRequest): string {
  const at = request.rawHeaders.findIndex((h) => h.toLowerCase() === 'authorization');
  return request.rawHeaders[at + 1] as string;
}

describe('sigV4Verifier', () => {
  it("accepts AWS's own test-suite signatures (get-vanilla, get-vanilla-query-order-key-case)", async () => {
    expect(
      await suiteVerifier(suiteRequest('/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')),
    ).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
    expect(
      await suiteVerifier(
        suiteRequest(
          '/?Param2=value2&Param1=value1',
          'b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500',
        ),
      ),
    ).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE' });
  });

  it('refuses the test suite signature with one hex digit changed, or over another path', async () => {
    const refused = await suiteVerifier(
      suiteRequest('/', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf30'),
    );
    expect(refused).toMatchObject({ ok: false, errorType: 'InvalidSignatureException' });
    expect(
      await suiteVerifier(suiteRequest('/x', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31')),
    ).toMatchObject({ ok: false });
  });

  it('takes an unsigned header added in transit (a proxy, a user agent) but not a signed one changed', async () => {
    const request = await arrived('http://127.0.0.1:3000/orders/A1', { headers: { 'x-merchant': 'm1' } });
    expect(await verify(withHeader(request, 'user-agent', 'curl/8'))).toMatchObject({ ok: true });
    expect(await verify(withHeader(request, 'x-merchant', 'm2'))).toMatchObject({
      ok: false,
      errorType: 'InvalidSignatureException',
    });
    expect(await verify(withHeader(request, 'host', '127.0.0.1:3001'))).toMatchObject({ ok: false });
  });

  it('recomputes with the body received, not the x-amz-content-sha256 the caller sent with it', async () => {
    const request = await arrived('http://127.0.0.1:3000/orders', { method: 'POST', body: '{"a":1}' });
    expect(await verify(request)).toMatchObject({ ok: true });
    expect(await verify({ ...request, body: Buffer.from('{"a":2}') })).toMatchObject({ ok: false });
  });

  it.each([
    ['a `..` segment after the signed path', '/orders/A/refunds/..'],
    ['a `..` segment within it', '/orders/B/../A'],
    ['a `.` segment', '/orders/./A'],
    ['an empty segment at the start', '//orders/A'],
    ['an empty segment within', '/orders//A'],
    ['a trailing slash', '/orders/A/'],
    ['`..` percent-encoded', '/orders/B/%2e%2e/A'],
    ['`..` half encoded, upper case', '/orders/B/.%2E/A'],
    ['`.` percent-encoded', '/orders/%2e/A'],
    ['a path not starting with /', 'orders/A'],
  ])('refuses %s, which the signer would have signed as another path (%s)', async (_name, path) => {
    const request = await arrived('http://127.0.0.1:3000/orders/A?sync=1');
    expect(await verify(request)).toMatchObject({ ok: true });
    // API Gateway's wording, without a canonical request: the signer's would be of another path.
    expect(await verify({ ...request, target: `${path}?sync=1` })).toEqual({
      ok: false,
      errorType: 'InvalidSignatureException',
      message:
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret ' +
        'Access Key and signing method. Consult the service documentation for details.',
    });
  });

  it('judges only whole segments: dots inside a name, the root and the query are fine', () => {
    for (const path of ['/', '/orders/A.1', '/orders/..A', '/orders/%2e%2eA', '/orders/A%2F..'])
      expect({ path, ambiguous: isAmbiguousPath(path) }).toEqual({ path, ambiguous: false });
  });

  /** An Authorization header with this credential scope and signed headers (its signature never checked). */
  const header = (scope: string, signed = 'host;x-amz-date') =>
    `AWS4-HMAC-SHA256 Credential=AKIALOCAL/${scope}, SignedHeaders=${signed}, Signature=00`;
  it.each([
    [
      'AWS4-HMAC-SHA256 SignedHeaders=host;x-amz-date, Signature=00',
      "Authorization header requires 'Credential' parameter.",
    ],
    [
      'AWS4-HMAC-SHA256 Credential=AKIALOCAL/20260501/cn-north-1/execute-api/aws4_request',
      "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter.",
    ],
    [header('20260501/cn-north-1/aws4_request'), "Authorization header requires 'Credential' parameter."],
    [
      header('20260501/cn-north-1/execute-api/aws5_request'),
      "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. ",
    ],
    [
      header('20260502/cn-north-1/execute-api/aws4_request'),
      'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: ' +
        "'20260502' != '20260501', from '20260501T080000Z'.",
    ],
    [
      header('20260501/cn-north-1/execute-api/aws4_request', 'x-amz-date'),
      "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
    ],
  ])('says what is wrong with the Authorization header %#', async (authorization, message) => {
    const request = withHeader(await arrived('http://127.0.0.1:3000/events'), 'authorization', authorization);
    const verdict = await verify(request);
    expect(verdict).toMatchObject({ ok: false, message });
  });

  it('needs x-amz-date, a real date in its form', async () => {
    const request = await arrived('http://127.0.0.1:3000/events');
    for (const date of [undefined, '2026-05-01T08:00:00Z', '20260231T080000Z']) {
      const sent =
        date === undefined
          ? { ...request, rawHeaders: request.rawHeaders.filter((_, i, all) => all[i - (i % 2)] !== 'x-amz-date') }
          : withHeader(request, 'x-amz-date', date);
      expect(await verify(sent)).toMatchObject({ ok: false, errorType: 'IncompleteSignatureException' });
    }
  });

  it('never repeats the secret, and says nothing of which part of the key pair is right', async () => {
    const wrongSecret = await arrived('http://127.0.0.1:3000/events', {
      credentials: { ...KEY, secretAccessKey: 'x' },
    });
    const verdict = await verify(wrongSecret);
    expect(verdict.ok).toBe(false);
    if (verdict.ok) return;
    expect(verdict.message).not.toContain(KEY.secretAccessKey);
    expect(verdict.message).not.toContain(authorizationOf(wrongSecret).split('Signature=')[1]);
  });

  it('writes dates as x-amz-date does', () => {
    expect(amzDate(new Date('2026-05-01T08:00:00.123Z'))).toBe('20260501T080000Z');
  });
});
