import type { Context, LambdaFunctionURLEvent } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';

import { createDependencies } from '#shared/app/dependencies';
import { createNotifyHandler, type NotifyHandler } from '#shared/app/handlers';
import { DEFAULT_MIN_RELOAD_INTERVAL_MS } from '#shared/app/merchant-secret';
import { loadSettings } from '#shared/config/settings';
import type { OrderStore } from '#shared/domain/ports';
import { testTable } from '#test/helpers/aws';
import { orderFixture, T0 } from '#test/helpers/order-fixtures';
import { TestClock } from '#test/helpers/test-clock';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';
import {
  TEST_APPID,
  TEST_MCHID,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  paidTransaction,
  signedNotification,
} from '#test/helpers/wechatpay-v3';

/**
 * A warm notify container (one handler, one set of dependencies) across a key rotation: the secret
 * changes under it, WeChat starts signing (v2) or encrypting (v3) with the new key, and notifications
 * signed before the switch keep arriving. The secret is read through a stand-in (there is no Secrets
 * Manager here); the handler, the verification and the orders table (DynamoDB Local) are real.
 */

const OVERLAP_SECONDS = 3600;
const TTL_SECONDS = 300;

class SecretStandIn {
  reads = 0;
  constructor(public value: Record<string, unknown>) {}
  read = async (): Promise<string> => {
    this.reads += 1;
    return JSON.stringify(this.value);
  };
}

let store: OrderStore;
let tableName: string;

beforeAll(async () => {
  const table = await testTable();
  store = table.store;
  tableName = table.tableName;
});

function warmContainer(secret: SecretStandIn, clock: TestClock): NotifyHandler {
  const settings = loadSettings({
    TABLE_NAME: tableName,
    AWS_REGION: 'us-east-1',
    LOG_LEVEL: 'SILENT',
    WECHATPAY_SECRET_ID: 'merchant-secret',
    WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
    CREDENTIALS_TTL_SECONDS: String(TTL_SECONDS),
    KEY_ROTATION_OVERLAP_SECONDS: String(OVERLAP_SECONDS),
  });
  return createNotifyHandler(createDependencies(settings, { clock, store, readSecret: secret.read }));
}

async function post(handler: NotifyHandler, headers: Record<string, string>, body: string) {
  const event = {
    rawPath: '/notify/pay',
    headers,
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
  } as unknown as LambdaFunctionURLEvent;
  const reply = await handler(event, { getRemainingTimeInMillis: () => 10_000 } as unknown as Context);
  return typeof reply === 'object' ? reply : { statusCode: 200, body: String(reply) };
}

async function pendingOrder(): Promise<string> {
  const order = orderFixture({ status: 'PENDING' });
  await store.create(order);
  return order.outTradeNo;
}

const statusOf = async (outTradeNo: string) => (await store.get(outTradeNo))?.status;

describe('key rotation, APIv2 key (signature of v2 notifications)', () => {
  const merchant = { appid: TEST_APPID, mchid: TEST_MCHID };
  const OLD_KEY = 'oldApiKey0123456789abcdefghijklm';
  const NEW_KEY = 'newApiKey0123456789abcdefghijklm';
  const secretWith = (apiKey: string) => ({ ...merchant, apiVersion: 'v2', apiKey });

  function v2Paid(outTradeNo: string, apiKey: string) {
    const fields = paidNotificationFields(merchant, outTradeNo, {
      trade_type: 'NATIVE',
      total_fee: '1999',
      cash_fee: '1999',
      transaction_id: `42000000002026112500${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
    });
    return { headers: { 'content-type': 'text/xml' }, body: signedV2Notification(fields, apiKey) };
  }
  const accepted = (reply: { body?: string }) => /<return_code><!\[CDATA\[SUCCESS\]\]>/.test(reply.body ?? '');

  it('new key: verified after one reload; old key: accepted within the overlap, refused after', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_KEY));
    const notify = warmContainer(secret, clock);

    const before = await pendingOrder();
    const n0 = v2Paid(before, OLD_KEY);
    expect(accepted(await post(notify, n0.headers, n0.body))).toBe(true);
    expect(await statusOf(before)).toBe('PAID');
    expect(secret.reads).toBe(1);

    // The merchant rotates: the secret holds the new key, WeChat signs with it. Well inside the TTL.
    secret.value = secretWith(NEW_KEY);
    clock.advance(60);
    const signedNew = await pendingOrder();
    const n1 = v2Paid(signedNew, NEW_KEY);
    expect(accepted(await post(notify, n1.headers, n1.body))).toBe(true);
    expect(await statusOf(signedNew)).toBe('PAID');
    expect(secret.reads).toBe(2);

    // A notification WeChat signed before the switch, delivered late: within the overlap.
    clock.advance(OVERLAP_SECONDS - 120);
    const signedOld = await pendingOrder();
    const n2 = v2Paid(signedOld, OLD_KEY);
    expect(accepted(await post(notify, n2.headers, n2.body))).toBe(true);
    expect(await statusOf(signedOld)).toBe('PAID');

    // After the overlap the old key is refused, and the order stays unpaid.
    clock.advance(120);
    const tooLate = await pendingOrder();
    const n3 = v2Paid(tooLate, OLD_KEY);
    expect(accepted(await post(notify, n3.headers, n3.body))).toBe(false);
    expect(await statusOf(tooLate)).toBe('PENDING');
  });

  it('a container started after the rotation accepts the old key the secret records, for the overlap', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...secretWith(NEW_KEY),
      previousApiKey: OLD_KEY,
      rotatedAt: clock.iso(),
    });
    const cold = warmContainer(secret, clock);
    clock.advance(OVERLAP_SECONDS - 1);
    const late = await pendingOrder();
    const n1 = v2Paid(late, OLD_KEY);
    expect(accepted(await post(cold, n1.headers, n1.body))).toBe(true);
    expect(await statusOf(late)).toBe('PAID');
    const current = await pendingOrder();
    const n2 = v2Paid(current, NEW_KEY);
    expect(accepted(await post(cold, n2.headers, n2.body))).toBe(true);

    clock.advance(1);
    const tooLate = await pendingOrder();
    const n3 = v2Paid(tooLate, OLD_KEY);
    expect(accepted(await post(cold, n3.headers, n3.body))).toBe(false);
    expect(await statusOf(tooLate)).toBe('PENDING');
  });

  it('forged signatures cause at most one secret read per reload interval', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_KEY));
    const notify = warmContainer(secret, clock);
    const forged = v2Paid(await pendingOrder(), 'forgedKey0123456789abcdefghijklm');
    for (let i = 0; i < 30; i += 1) expect(accepted(await post(notify, forged.headers, forged.body))).toBe(false);
    // One load at the start, one reload for the first forgery; none for the 29 others.
    expect(secret.reads).toBe(2);
    clock.advance(DEFAULT_MIN_RELOAD_INTERVAL_MS / 1000);
    for (let i = 0; i < 30; i += 1) await post(notify, forged.headers, forged.body);
    expect(secret.reads).toBe(3);
  });

  it('reads the secret again once the TTL has passed, without a failure to prompt it', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_KEY));
    const notify = warmContainer(secret, clock);
    const first = v2Paid(await pendingOrder(), OLD_KEY);
    await post(notify, first.headers, first.body);
    clock.advance(TTL_SECONDS - 1);
    await post(notify, first.headers, first.body);
    expect(secret.reads).toBe(1);
    clock.advance(1);
    await post(notify, first.headers, first.body);
    expect(secret.reads).toBe(2);
  });
});

describe('key rotation, APIv3 key (encryption of v3 notifications) and WeChat Pay public key', () => {
  const merchantKeys = createMerchantIdentity();
  const wechat = createPlatformIdentity();
  const OLD_V3_KEY = 'oldV3Key0123456789abcdefghijklmn';
  const NEW_V3_KEY = 'newV3Key0123456789abcdefghijklmn';
  const secretWith = (apiV3Key: string, platform = wechat) => ({
    appid: TEST_APPID,
    mchid: TEST_MCHID,
    apiVersion: 'v3',
    privateKey: merchantKeys.privateKeyPem,
    certSerial: merchantKeys.serial,
    apiV3Key,
    publicKey: platform.publicKeyPem,
    publicKeyId: platform.publicKeyId,
  });

  function v3Paid(outTradeNo: string, apiV3Key: string, clock: TestClock, platform = wechat) {
    return signedNotification({
      transaction: paidTransaction({ out_trade_no: outTradeNo }),
      signer: asPublicKeySigner(platform),
      now: clock.now(),
      apiV3Key,
    });
  }

  it('a new APIv3 key decrypts after one reload; the old one within the overlap only', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_V3_KEY));
    const notify = warmContainer(secret, clock);

    const warmUp = v3Paid(await pendingOrder(), OLD_V3_KEY, clock);
    expect((await post(notify, warmUp.headers, warmUp.body)).statusCode).toBe(204);

    secret.value = secretWith(NEW_V3_KEY);
    clock.advance(30);
    const first = await pendingOrder();
    const n1 = v3Paid(first, NEW_V3_KEY, clock);
    expect((await post(notify, n1.headers, n1.body)).statusCode).toBe(204);
    expect(await statusOf(first)).toBe('PAID');
    expect(secret.reads).toBe(2);

    clock.advance(OVERLAP_SECONDS - 60);
    const late = await pendingOrder();
    const n2 = v3Paid(late, OLD_V3_KEY, clock);
    expect((await post(notify, n2.headers, n2.body)).statusCode).toBe(204);
    expect(await statusOf(late)).toBe('PAID');

    clock.advance(60);
    const tooLate = await pendingOrder();
    const n3 = v3Paid(tooLate, OLD_V3_KEY, clock);
    expect((await post(notify, n3.headers, n3.body)).statusCode).toBe(500);
    expect(await statusOf(tooLate)).toBe('PENDING');
  });

  it('refusals no key explains (garbage serial, stale timestamp) read nothing; a PUB_KEY_ID_ one does', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_V3_KEY));
    const notify = warmContainer(secret, clock);
    const outTradeNo = await pendingOrder();
    const attacker = createPlatformIdentity();
    for (const serial of ['FORGED', 'PUB_KEY_ID_x', 'z'.repeat(40), `${wechat.serial}00`]) {
      const forged = signedNotification({
        transaction: paidTransaction({ out_trade_no: outTradeNo }),
        signer: { privateKey: attacker.privateKey, serial },
        now: clock.now(),
        apiV3Key: OLD_V3_KEY,
      });
      expect((await post(notify, forged.headers, forged.body)).statusCode).toBe(500);
    }
    const stale = v3Paid(outTradeNo, NEW_V3_KEY, new TestClock(T0 - 3_600_000));
    expect((await post(notify, stale.headers, stale.body)).statusCode).toBe(500);
    expect(secret.reads).toBe(1);
    const unknownId = v3Paid(outTradeNo, OLD_V3_KEY, clock, createPlatformIdentity());
    expect((await post(notify, unknownId.headers, unknownId.body)).statusCode).toBe(500);
    expect(secret.reads).toBe(2);
    expect(await statusOf(outTradeNo)).toBe('PENDING');
  });

  it('a new WeChat Pay public key (new PUB_KEY_ID_) verifies after one reload', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn(secretWith(OLD_V3_KEY));
    const notify = warmContainer(secret, clock);
    const warmUp = v3Paid(await pendingOrder(), OLD_V3_KEY, clock);
    expect((await post(notify, warmUp.headers, warmUp.body)).statusCode).toBe(204);

    const rotated = createPlatformIdentity();
    secret.value = secretWith(OLD_V3_KEY, rotated);
    clock.advance(30);
    const outTradeNo = await pendingOrder();
    const n = v3Paid(outTradeNo, OLD_V3_KEY, clock, rotated);
    expect((await post(notify, n.headers, n.body)).statusCode).toBe(204);
    expect(await statusOf(outTradeNo)).toBe('PAID');
    expect(secret.reads).toBe(2);
  });
});
