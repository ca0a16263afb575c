import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { AppBackendClient } from '#shared/client/app-backend-client';
import { refusalOf } from '#test/helpers/app-backend-refusal';
import { startTestStack, type TestStack } from '#test/helpers/local-stack';

/*
 * The client against a local stack with LOCAL_IAM on: the gateway checks each SigV4 signature as API
 * Gateway's IAM authorization does, so a call gets through only when the client really signed it
 * right (path, query, body, region, key), and refusals come back as API Gateway's 403.
 */

const KEY = { accessKeyId: 'AKIDLOCALIAMCLIENT', secretAccessKey: 'local-iam-client-secret' };

let sequence = 0;
/** `*` and `|` in the path: the characters whose encoding a signature over the path depends on. */
function outTradeNo(prefix: string): string {
  sequence += 1;
  return `${prefix}*|${Date.now()}${String(sequence).padStart(3, '0')}`;
}

function nativeOrder(no: string) {
  return {
    out_trade_no: no,
    description: 'signed client test ¥ 中文',
    amount: { total: 1 },
    trade_type: 'NATIVE' as const,
    product_id: 'sku-1',
    scene_info: { payer_client_ip: '198.51.100.7' },
  };
}

describe('AppBackendClient with LOCAL_IAM', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({ localIam: KEY });
  });
  afterAll(async () => {
    await stack?.stop();
  });
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  function client(credentials?: { accessKeyId: string; secretAccessKey: string }, region = stack.region) {
    return new AppBackendClient({ baseUrl: stack.gatewayUrl, region, ...(credentials ? { credentials } : {}) });
  }

  it('gets through when signed with the configured key: a body, a path to encode, a query', async () => {
    const signed = client(KEY);
    const no = outTradeNo('IAM');
    const created = await signed.createOrder(nativeOrder(no));
    expect(created).toMatchObject({ out_trade_no: no, status: 'PENDING' });
    expect(await signed.getOrder(no, { sync: true })).toMatchObject({ out_trade_no: no });
    expect(await signed.listRefunds(no)).toEqual({ refunds: [] });
    const page = await signed.listEvents({ limit: 5 });
    expect(page.next).toEqual(expect.any(String));
    await signed.listEvents({ after: page.next, limit: 1 });
  });

  it('an unsigned call is refused with 403 Forbidden, as API Gateway does', async () => {
    const res = await fetch(`${stack.gatewayUrl}/orders/${encodeURIComponent(outTradeNo('UNS'))}`);
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({ message: 'Forbidden' });
  });

  it('a wrong secret, an unknown key and another region are refused with 403 and nothing is created', async () => {
    const no = outTradeNo('BAD');
    const wrongSecret = await refusalOf(
      client({ ...KEY, secretAccessKey: 'not-the-secret' }).createOrder(nativeOrder(no)),
    );
    expect(wrongSecret).toMatchObject({ status: 403, code: 'HTTP_403' });
    expect(wrongSecret.message).toMatch(
      /^The request signature we calculated does not match the signature you provided/,
    );

    const unknownKey = await refusalOf(client({ ...KEY, accessKeyId: 'AKIDSOMEONEELSE' }).getOrder(no));
    expect(unknownKey).toMatchObject({
      status: 403,
      message: 'The security token included in the request is invalid.',
    });

    const otherRegion = stack.region === 'eu-west-1' ? 'us-east-1' : 'eu-west-1';
    expect(await refusalOf(client(KEY, otherRegion).getOrder(no))).toMatchObject({ status: 403, code: 'HTTP_403' });

    // None of the refused calls reached the handler: the order was never created.
    expect(await stack.store.get(no)).toBeUndefined();
  });

  it('signs with the default credential chain (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) given no key', async () => {
    vi.stubEnv('AWS_PROFILE', undefined);
    vi.stubEnv('AWS_SESSION_TOKEN', undefined);
    vi.stubEnv('AWS_CREDENTIAL_EXPIRATION', undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', KEY.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', KEY.secretAccessKey);
    const no = outTradeNo('ENV');
    expect(await client().createOrder(nativeOrder(no))).toMatchObject({ out_trade_no: no });

    // Another key in the environment: the chain's key is the one that signs, so the gateway refuses it.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFROMENVOTHER');
    expect(await refusalOf(client().getOrder(no))).toMatchObject({
      status: 403,
      message: 'The security token included in the request is invalid.',
    });
  });
});
