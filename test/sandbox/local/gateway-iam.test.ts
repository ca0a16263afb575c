import { request as httpRequest } from 'node:http';

import type { APIGatewayProxyEventV2, APIGatewayProxyEventV2WithIAMAuthorizer } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';

import {
  type Gateway,
  type GatewayHandlers,
  type GatewayOptions,
  IAM_NOTICE,
  iamCheckedNotice,
  startGateway,
} from '#sandbox/local/gateway';
import { sigV4Headers, signedFetch, type SigningKey } from '#test/helpers/sigv4-request';

const REGION = 'ap-east-1';
const KEY: SigningKey = {
  accessKeyId: 'AKIALOCALTEST0001',
  secretAccessKey: 'local/Secret+Key0123456789abcdefghijklmn',
};

const SIGNATURE_MISMATCH = 'The request signature we calculated does not match the signature you provided.';
const FULL_SIGNATURE_MISMATCH =
  `${SIGNATURE_MISMATCH} Check your AWS Secret Access Key and signing method. Consult the service documentation ` +
  'for details.';

interface Call {
  target: 'orders' | 'notify' | 'bills';
  event: APIGatewayProxyEventV2;
}

function recordingHandlers() {
  const calls: Call[] = [];
  const answer = { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{"ok":true}' };
  const handlers: GatewayHandlers = {
    orders: async (event) => {
      calls.push({ target: 'orders', event });
      return answer;
    },
    notify: async (event) => {
      calls.push({ target: 'notify', event: event as unknown as APIGatewayProxyEventV2 });
      return answer;
    },
    bills: async (event) => {
      calls.push({ target: 'bills', event });
      return answer;
    },
  };
  return { calls, handlers };
}

let gateway: Gateway | undefined;
const logs: string[] = [];

async function start(extra: Partial<GatewayOptions> = {}) {
  logs.length = 0;
  const recorded = recordingHandlers();
  gateway = await startGateway({
    port: 0,
    region: REGION,
    handlers: recorded.handlers,
    log: (line) => logs.push(line),
    iam: { accessKeyId: KEY.accessKeyId, secretAccessKey: KEY.secretAccessKey },
    ...extra,
  });
  return { gw: gateway, calls: recorded.calls };
}

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
});

/** A refusal as API Gateway sends it: 403, a JSON body with only `message`, and the error type header. */
async function expectRefused(res: Response, errorType: string, message: string | RegExp) {
  expect(res.status).toBe(403);
  expect(res.headers.get('content-type')).toBe('application/json');
  expect(res.headers.get('x-amzn-errortype')).toBe(errorType);
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(['message']);
  if (typeof message === 'string') expect(body.message).toBe(message);
  else expect(body.message).toMatch(message);
  return body.message as string;
}

/** A GET with exactly this path on the request line: fetch would resolve its `.` and `..` segments first. */
function rawGet(
  gw: Gateway,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; errorType: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port: gw.port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          errorType: res.headers['x-amzn-errortype'] as string | undefined,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('local gateway with LOCAL_IAM', () => {
  it('passes a SigV4-signed call to its function, with the checked key in the event; says so at start', async () => {
    const { gw, calls } = await start();
    const body = JSON.stringify({ description: 'Tea', amount: { total: 1 } });
    const res = await signedFetch(`${gw.url}/orders?trace=1&a=2`, {
      credentials: KEY,
      region: REGION,
      method: 'POST',
      body,
    });
    expect(res.status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.target).toBe('orders');
    expect(calls[0]?.event.body).toBe(body);
    const iam = (calls[0]?.event as APIGatewayProxyEventV2WithIAMAuthorizer).requestContext.authorizer.iam;
    expect(iam.accessKey).toBe(KEY.accessKeyId);
    expect(iam.callerId).not.toContain('skipped');
    expect(logs).toContain(iamCheckedNotice(KEY.accessKeyId, REGION));
    expect(logs).not.toContain(IAM_NOTICE);
  });

  it('checks the bill routes too, and accepts a path parameter sent percent-encoded as the signer saw it', async () => {
    const { gw, calls } = await start();
    expect(
      (await signedFetch(`${gw.url}/reconciliations/2024-01-02`, { credentials: KEY, region: REGION })).status,
    ).toBe(200);
    expect((await signedFetch(`${gw.url}/orders/a%7Cb%20c/refunds`, { credentials: KEY, region: REGION })).status).toBe(
      200,
    );
    expect(calls.map((c) => [c.target, c.event.pathParameters])).toEqual([
      ['bills', { bill_date: '2024-01-02' }],
      ['orders', { out_trade_no: 'a|b c' }],
    ]);
    await expectRefused(
      await fetch(`${gw.url}/reconciliations`, { method: 'POST', body: '{}' }),
      'ForbiddenException',
      'Forbidden',
    );
    expect(calls).toHaveLength(2);
  });

  it('accepts a signature without x-amz-content-sha256 (the body hashed into it all the same)', async () => {
    const { gw, calls } = await start();
    const body = '{"code":"abc"}';
    const url = `${gw.url}/miniprogram/sessions`;
    const signed = { credentials: KEY, region: REGION, method: 'POST', body, applyChecksum: false };
    expect((await signedFetch(url, signed)).status).toBe(200);
    const { host: _host, ...headers } = await sigV4Headers(url, signed);
    expect(headers).not.toHaveProperty('x-amz-content-sha256');
    const tampered = await fetch(url, { method: 'POST', headers, body: '{"code":"abd"}' });
    await expectRefused(tampered, 'InvalidSignatureException', new RegExp(`^${SIGNATURE_MISMATCH}`));
    expect(calls).toHaveLength(1);
  });

  it.each([
    ['no Authorization header', async (url: string) => fetch(url), 'ForbiddenException', 'Forbidden'],
    [
      'a wrong secret',
      async (url: string) =>
        signedFetch(url, { credentials: { ...KEY, secretAccessKey: `${KEY.secretAccessKey}x` }, region: REGION }),
      'InvalidSignatureException',
      new RegExp(`^${SIGNATURE_MISMATCH} Check your AWS Secret Access Key`),
    ],
    [
      'an unknown access key id',
      async (url: string) =>
        signedFetch(url, { credentials: { ...KEY, accessKeyId: 'AKIAOTHERKEY00001' }, region: REGION }),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    ],
    [
      'a session token the gateway never issued',
      async (url: string) => signedFetch(url, { credentials: { ...KEY, sessionToken: 'token' }, region: REGION }),
      'UnrecognizedClientException',
      'The security token included in the request is invalid.',
    ],
    [
      'another region',
      async (url: string) => signedFetch(url, { credentials: KEY, region: 'eu-west-1' }),
      'InvalidSignatureException',
      "Credential should be scoped to a valid region, not 'eu-west-1'. ",
    ],
    [
      'another service',
      async (url: string) => signedFetch(url, { credentials: KEY, region: REGION, service: 'lambda' }),
      'InvalidSignatureException',
      "Credential should be scoped to correct service: 'execute-api'. ",
    ],
    [
      'an Authorization header of another scheme',
      async (url: string) => fetch(url, { headers: { authorization: 'Bearer s3cr3t-token' } }),
      'IncompleteSignatureException',
      /^Authorization header requires 'Credential' parameter\./,
    ],
  ])('refuses %s with 403 as API Gateway, never reaching the function', async (_name, send, errorType, message) => {
    const { gw, calls } = await start();
    const text = await expectRefused(await send(`${gw.url}/orders/A1?sync=1`), errorType, message);
    expect(text).not.toContain('s3cr3t');
    expect(text).not.toContain(KEY.secretAccessKey);
    expect(calls).toHaveLength(0);
  });

  it('refuses a signed call whose body, path or query was changed after signing', async () => {
    const { gw, calls } = await start();
    const body = JSON.stringify({ amount: { refund: 1 } });
    const signed = await sigV4Headers(`${gw.url}/orders/A1/refunds?x=1`, {
      credentials: KEY,
      region: REGION,
      method: 'POST',
      body,
    });
    const { host: _host, ...headers } = signed;
    const send = (path: string, sent: string) => fetch(`${gw.url}${path}`, { method: 'POST', headers, body: sent });
    const mismatch = new RegExp(`^${SIGNATURE_MISMATCH}`);
    expect((await send('/orders/A1/refunds?x=1', body)).status).toBe(200);
    await expectRefused(
      await send('/orders/A1/refunds?x=1', body.replace('1', '9')),
      'InvalidSignatureException',
      mismatch,
    );
    const explained = await expectRefused(
      await send('/orders/A2/refunds?x=1', body),
      'InvalidSignatureException',
      mismatch,
    );
    // As API Gateway, the canonical request it expected, so a developer can compare with their own.
    expect(explained).toContain(
      "The Canonical String for this request should have been\n'POST\n/orders/A2/refunds\nx=1\n",
    );
    await expectRefused(await send('/orders/A1/refunds?x=2', body), 'InvalidSignatureException', mismatch);
    await expectRefused(await send('/orders/A1/close?x=1', body), 'InvalidSignatureException', mismatch);
    expect(calls).toHaveLength(1);
  });

  // The signer drops empty, `.` and `..` segments before signing; the router takes them as sent (its
  // `{name}` matches `..`). A path with one would carry the signature of another: refused as a mismatch,
  // without a canonical request (the signer's would be of the other path). One the router does not
  // serve gets its 404 as before, and no function is reached either way.
  it.each([
    ['/orders/A', '/orders/A/refunds/..', 403],
    ['/orders/A/refunds', '/orders/A/refunds/.', 403],
    ['/orders/refunds/A', '/orders/./refunds/A', 403],
    ['/orders/A', '/orders/A/refunds/%2E%2E', 403],
    ['/orders/A/refunds', '/orders/A/refunds/%2e', 403],
    ['/orders/A', '/orders/B/../A', 404],
    ['/orders/A', '/orders/./A', 404],
    ['/orders/A', '//orders/A', 404],
  ])('refuses a signature for %s sent on %s (%i)', async (signedPath, sentPath, status) => {
    const { gw, calls } = await start();
    const { host: _host, ...headers } = await sigV4Headers(`${gw.url}${signedPath}`, {
      credentials: KEY,
      region: REGION,
    });
    const answer = await rawGet(gw, sentPath, headers);
    expect(answer.status).toBe(status);
    if (status === 403) {
      expect(answer.errorType).toBe('InvalidSignatureException');
      expect(JSON.parse(answer.body)).toEqual({ message: FULL_SIGNATURE_MISMATCH });
    }
    expect(calls).toHaveLength(0);
    // The same signature on the path it was made for gets through.
    if (signedPath === '/orders/A') {
      expect((await rawGet(gw, signedPath, headers)).status).toBe(200);
      expect(calls).toHaveLength(1);
    }
  });

  it('refuses a signature more than 5 minutes old or ahead of its clock, and takes one within', async () => {
    const signedAt = new Date('2026-03-01T10:00:00Z');
    let now = signedAt;
    const { gw, calls } = await start({ iam: { ...KEY, now: () => now } });
    const send = () =>
      signedFetch(`${gw.url}/events?limit=5`, { credentials: KEY, region: REGION, signingDate: signedAt });

    now = new Date(signedAt.getTime() + 4 * 60_000 + 59_000);
    expect((await send()).status).toBe(200);
    now = new Date(signedAt.getTime() - 4 * 60_000);
    expect((await send()).status).toBe(200);
    now = new Date(signedAt.getTime() + 6 * 60_000);
    await expectRefused(
      await send(),
      'InvalidSignatureException',
      'Signature expired: 20260301T100000Z is now earlier than 20260301T100100Z (20260301T100600Z - 5 min.)',
    );
    now = new Date(signedAt.getTime() - 6 * 60_000);
    await expectRefused(
      await send(),
      'InvalidSignatureException',
      'Signature not yet current: 20260301T100000Z is still later than 20260301T095900Z (20260301T095400Z + 5 min.)',
    );
    expect(calls).toHaveLength(2);
  });

  it('checks neither the notify paths (a Function URL in AWS) nor /health, which says it checks', async () => {
    const { gw, calls } = await start();
    const notified = await fetch(`${gw.url}/notify/pay`, { method: 'POST', body: '<xml/>' });
    expect(notified.status).toBe(200);
    expect((await fetch(`${gw.url}/notify/refund`, { method: 'POST', body: '<xml/>' })).status).toBe(200);
    expect(calls.map((c) => c.target)).toEqual(['notify', 'notify']);
    const health = await fetch(`${gw.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok', iamAuth: 'checked' });
  });

  it('still answers 404 for a path it does not serve, signed or not', async () => {
    const { gw } = await start();
    expect((await fetch(`${gw.url}/nothing`)).status).toBe(404);
  });
});

describe('local gateway without LOCAL_IAM', () => {
  it('passes an unsigned call and says in /health that the check is skipped', async () => {
    const { gw, calls } = await start({ iam: undefined });
    expect((await fetch(`${gw.url}/orders/A1`)).status).toBe(200);
    expect(calls).toHaveLength(1);
    expect(await (await fetch(`${gw.url}/health`)).json()).toMatchObject({ iamAuth: 'skipped locally' });
    expect(logs).toContain(IAM_NOTICE);
  });
});

describe('GET /openapi.json', () => {
  it('serves the OpenAPI 3.1 document of the API, naming this gateway as its server, without a signature', async () => {
    const { gw, calls } = await start();
    const res = await fetch(`${gw.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json');
    const doc = (await res.json()) as {
      openapi: string;
      servers: Array<{ url: string }>;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.servers.map((s) => s.url)).toContain(gw.url);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/orders', '/orders/{out_trade_no}', '/reconciliations']),
    );
    expect(calls).toHaveLength(0);
  });
});
