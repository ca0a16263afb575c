import { generateKeyPairSync, randomUUID } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { startLocalStack } from '#sandbox/local/stack';
import { randomCertificateSerial } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { startTestStack, type TestStack } from '#test/helpers/local-stack';
import { waitFor } from '#test/helpers/wait-for';

/**
 * A developer's own v3 keys with the simulator: the six WECHATPAY_* v3 variables plus the simulator's
 * signing key. Every side must use the configured keys, or the start must stop by the variable's name.
 */

function rsaPair() {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

const merchantKey = rsaPair();
const wechatKey = rsaPair();
const OWN_PUBLIC_KEY_ID = 'PUB_KEY_ID_0114232134912410000000000042';

/** The six variables a merchant sets for v3, as a new user would. */
const ownV3Env = {
  WECHATPAY_API_VERSION: 'v3',
  WECHATPAY_PRIVATE_KEY: merchantKey.privateKey,
  WECHATPAY_CERT_SERIAL: randomCertificateSerial(),
  WECHATPAY_APIV3_KEY: 'OwnApiV3Key0123456789abcdefghijk',
  WECHATPAY_PUBLIC_KEY: wechatKey.publicKey,
  WECHATPAY_PUBLIC_KEY_ID: OWN_PUBLIC_KEY_ID,
};

describe('local stack with the developer’s own v3 keys', () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack({
      env: { ...ownV3Env, RECONCILE_SCHEDULE: '3600' },
      simulatorPlatformPrivateKey: wechatKey.privateKey,
    });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  it('uses the configured keys everywhere: POST /orders → 201, paid at the simulator → PAID', async () => {
    // The handlers verify with the configured public key under the configured id.
    expect(stack.settings.WECHATPAY_PUBLIC_KEY).toBe(wechatKey.publicKey);
    expect(stack.settings.WECHATPAY_PUBLIC_KEY_ID).toBe(OWN_PUBLIC_KEY_ID);
    expect(stack.settings.WECHATPAY_PRIVATE_KEY).toBe(ownV3Env.WECHATPAY_PRIVATE_KEY);
    const platform = await stack.simulator('GET', '/sandbox/platform');
    expect(platform.json).toMatchObject({ public_key_id: OWN_PUBLIC_KEY_ID, public_key: wechatKey.publicKey });

    const outTradeNo = `OWN${randomUUID().replaceAll('-', '').slice(0, 20)}`;
    const created = await stack.api('POST', '/orders', {
      out_trade_no: outTradeNo,
      description: 'own v3 keys',
      amount: { total: 1234 },
      trade_type: 'NATIVE',
      product_id: 'sku',
      scene_info: { payer_client_ip: '198.51.100.3' },
    });
    expect(created.status, created.text).toBe(201);

    const paid = await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBe(200);
    const order = await waitFor(
      () => stack.api('GET', `/orders/${outTradeNo}`),
      (a) => (a.json as { status?: string }).status === 'PAID',
    );
    expect(order.json).toMatchObject({ status: 'PAID' });
  });
});

describe('local stack refuses v3 keys that cannot verify, naming the variable', () => {
  const start = (env: Record<string, string>, simulatorPlatformPrivateKey?: string) =>
    startLocalStack({
      dynamodbEndpoint: inject('dynamodbEndpoint'),
      sqsEndpoint: inject('sqsEndpoint'),
      tableName: `orders-${randomUUID().slice(0, 12)}`,
      sweepIntervalMs: 0,
      log: () => undefined,
      env,
      ...(simulatorPlatformPrivateKey === undefined ? {} : { simulatorPlatformPrivateKey }),
    });

  it.each([
    [
      'WECHATPAY_PUBLIC_KEY without SIMULATOR_PLATFORM_PRIVATE_KEY',
      ownV3Env,
      undefined,
      /WECHATPAY_PUBLIC_KEY is set but SIMULATOR_PLATFORM_PRIVATE_KEY is not/,
    ],
    [
      'a simulator key that is not the pair of WECHATPAY_PUBLIC_KEY',
      ownV3Env,
      rsaPair().privateKey,
      /SIMULATOR_PLATFORM_PRIVATE_KEY's public half is not WECHATPAY_PUBLIC_KEY/,
    ],
    [
      'a merchant key without its serial and APIv3 key',
      { WECHATPAY_API_VERSION: 'v3', WECHATPAY_PRIVATE_KEY: ownV3Env.WECHATPAY_PRIVATE_KEY },
      undefined,
      /set WECHATPAY_CERT_SERIAL and WECHATPAY_APIV3_KEY too/,
    ],
  ])('%s', async (_what, env, simulatorKey, message) => {
    const error = await start(env, simulatorKey).then(
      async (s) => {
        await s.stop();
        return undefined;
      },
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(message);
    // Names, never values: the variables hold keys.
    expect(error?.message).not.toContain('BEGIN');
  });
});
