import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';

import { merchantCredentialsSource } from '#shared/app/merchant-secret';
import { handleNotify, REFUSED_REPLY } from '#shared/app/notify-endpoint';
import { createObservability } from '#shared/app/observability';
import { createRotatingWechatPay, VERIFY_BUDGET_MS } from '#shared/app/rotating-wechatpay';
import { NOTIFY_REFUND_ROUTE, NOTIFY_ROUTE } from '#shared/app/routes';
import type { WechatPay } from '#shared/app/wechatpay-adapters';
import { loadSettings } from '#shared/config/settings';
import { ReceiveNotification } from '#shared/domain/receive-notification';
import { ReceiveRefundNotification } from '#shared/domain/receive-refund-notification';
import { RefundReports } from '#shared/domain/refund-reports';
import { TradeReports } from '#shared/domain/trade-reports';
import { verifyV2 } from '#shared/wechatpay/v2/sign';
import { refundNotificationBody } from '#shared/wechatpay/v2/testing/refund-notifications';
import { parseXml } from '#shared/wechatpay/v2/xml';
import { randomCertificateSerial } from '#shared/wechatpay/v3/testing/self-signed-certificate';
import { buildCertificatesAnswer, buildRefundNotification } from '#shared/wechatpay/v3/testing/wechat-messages';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { T0 } from '#test/helpers/order-fixtures';
import { TestClock } from '#test/helpers/test-clock';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';
import {
  TEST_APPID,
  TEST_MCHID,
  asCertificateSigner,
  asPublicKeySigner,
  createMerchantIdentity,
  createPlatformIdentity,
  lowerCase,
  paidTransaction,
  signedNotification,
  startWechatV3StandIn,
  type StandIn,
} from '#test/helpers/wechatpay-v3';

/**
 * The rotating WeChat Pay of a warm notify container, against forgeries: the keys a rotation replaced
 * (recorded in the secret) and a reload of the secret must neither turn a forgery into a Lambda error
 * nor make its answer slow. The secret is read through a stand-in; WeChat's /v3/certificates, when
 * asked, is served over HTTP.
 */

const merchant = { appid: TEST_APPID, mchid: TEST_MCHID };
const merchantKeys = createMerchantIdentity();
const wechat = createPlatformIdentity();
const attacker = createPlatformIdentity();
/** Passes the secret's schema (32 characters), but is no APIv2 key: spaces are not allowed in one. */
const BROKEN_API_KEY = `broken  ${'x'.repeat(24)}`;
/** Passes the secret's schema (a PEM block), but holds no key. */
const BROKEN_PEM = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n';

class SecretStandIn {
  reads = 0;
  constructor(
    public value: Record<string, unknown>,
    private readonly delayMs = 0,
  ) {}
  read = async (): Promise<string> => {
    this.reads += 1;
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return JSON.stringify(this.value);
  };
}

const standIns: StandIn[] = [];
afterEach(async () => {
  await Promise.all(standIns.splice(0).map((s) => s.close()));
});

async function rotating(
  secret: SecretStandIn,
  clock: TestClock,
  opts: { baseUrl?: string; onUnusableCredentials?: (error: unknown) => void } = {},
): Promise<WechatPay> {
  const settings = loadSettings({
    TABLE_NAME: 'orders',
    LOG_LEVEL: 'SILENT',
    WECHATPAY_SECRET_ID: 'merchant-secret',
    WECHATPAY_BASE_URL: opts.baseUrl ?? 'http://127.0.0.1:9',
    CREDENTIALS_TTL_SECONDS: '300',
    KEY_ROTATION_OVERLAP_SECONDS: '3600',
  });
  const source = merchantCredentialsSource(settings, { clock, readSecret: secret.read });
  return createRotatingWechatPay(source, settings, clock, {
    onUnusableCredentials: opts.onUnusableCredentials ?? (() => {}),
  });
}

/** The endpoint over `wechatPay` and an in-memory store: what a forgery gets back. */
async function notify(
  wechatPay: WechatPay,
  clock: TestClock,
  headers: Record<string, string>,
  body: string,
  path: string = NOTIFY_ROUTE.path,
): Promise<LambdaFunctionURLResult> {
  const store = new InMemoryOrderStore();
  const observability = createObservability(loadSettings({ TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT' }));
  const observer = observability.observer;
  const reports = new TradeReports({ store, clock, merchant, observer });
  let ids = 0;
  const receive = new ReceiveNotification({ store, clock, reports, observer, newId: () => `N${(ids += 1)}` });
  const event = {
    rawPath: path,
    headers,
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST', sourceIp: '203.0.113.9' } },
  } as unknown as LambdaFunctionURLEvent;
  const refundReports = new RefundReports({ refunds: new InMemoryRefundStore(store), clock, merchant, observer });
  const receiveRefund = new ReceiveRefundNotification({
    orders: store,
    clock,
    reports: refundReports,
    observer,
    newId: () => `N${(ids += 1)}`,
  });
  return handleNotify(event, {
    wechatPay: async () => wechatPay,
    receiveNotification: async () => receive,
    receiveRefundNotification: async () => receiveRefund,
    observability,
  });
}

const notifyRefund = (wechatPay: WechatPay, clock: TestClock, headers: Record<string, string>, body: string) =>
  notify(wechatPay, clock, headers, body, NOTIFY_REFUND_ROUTE.path);

function replyBody(reply: LambdaFunctionURLResult): string {
  return typeof reply === 'object' ? (reply.body ?? '') : String(reply);
}

describe('rotating WeChat Pay: previous keys that are unusable', () => {
  it('v2: a broken previousApiKey answers forgeries with the fixed refusal, built and reported once', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v2',
      apiKey: 'newApiKey0123456789abcdefghijklm',
      previousApiKey: BROKEN_API_KEY,
      rotatedAt: clock.iso(),
    });
    const reported: unknown[] = [];
    const wechatPay = await rotating(secret, clock, { onUnusableCredentials: (error) => reported.push(error) });
    const forged = signedV2Notification(
      paidNotificationFields(merchant, 'FORGED0001'),
      'forgedKey0123456789abcdefghijklm',
    );
    for (let i = 0; i < 3; i += 1) {
      const reply = await notify(wechatPay, clock, { 'content-type': 'text/xml' }, forged);
      expect(replyBody(reply)).toContain(`<return_msg><![CDATA[${REFUSED_REPLY}]]></return_msg>`);
    }
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).not.toContain(BROKEN_API_KEY);
  });

  it('v3: a broken previousPublicKey answers forgeries with the fixed refusal, no throw', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v3',
      privateKey: merchantKeys.privateKeyPem,
      certSerial: merchantKeys.serial,
      apiV3Key: 'newV3Key0123456789abcdefghijklmn',
      publicKey: wechat.publicKeyPem,
      publicKeyId: wechat.publicKeyId,
      previousPublicKey: BROKEN_PEM,
      previousPublicKeyId: 'PUB_KEY_ID_0999',
      rotatedAt: clock.iso(),
    });
    const reported: unknown[] = [];
    const wechatPay = await rotating(secret, clock, { onUnusableCredentials: (error) => reported.push(error) });
    // Under WeChat's own key id, signed by another key: bad_signature, which a rotated key could explain.
    const forged = signedNotification({
      transaction: paidTransaction({ out_trade_no: 'FORGED0002' }),
      signer: { privateKey: attacker.privateKey, serial: wechat.publicKeyId },
      now: clock.now(),
      apiV3Key: 'newV3Key0123456789abcdefghijklmn',
    });
    for (let i = 0; i < 3; i += 1) {
      const reply = await notify(wechatPay, clock, forged.headers, forged.body);
      expect(reply).toMatchObject({ statusCode: 500 });
      expect(JSON.parse(replyBody(reply))).toEqual({ code: 'FAIL', message: REFUSED_REPLY });
    }
    expect(reported).toHaveLength(1);
  });
});

describe('rotating WeChat Pay: one time budget for a verification', () => {
  it('a forged well-formed serial with a slow /v3/certificates is answered within the budget', async () => {
    const clock = new TestClock(T0);
    const standIn = await startWechatV3StandIn({
      merchant: merchantKeys,
      signer: asCertificateSigner(wechat),
      clock,
      handler: (r) =>
        r.path === '/v3/certificates'
          ? {
              status: 200,
              body: buildCertificatesAnswer([{ pem: wechat.certificatePem }], 'x'.repeat(32)),
              delayMs: 3_000,
            }
          : { status: 404, body: { code: 'NOT_FOUND', message: 'no' } },
    });
    standIns.push(standIn);
    const v3Secret = (apiV3Key: string) => ({
      ...merchant,
      apiVersion: 'v3',
      privateKey: merchantKeys.privateKeyPem,
      certSerial: merchantKeys.serial,
      apiV3Key,
      publicKey: wechat.publicKeyPem,
      publicKeyId: wechat.publicKeyId,
      // The keys a rotation replaced, still inside the overlap: each would be tried on a forgery.
      previousApiV3Key: 'oldV3Key0123456789abcdefghijklmn',
      previousPublicKey: createPlatformIdentity().publicKeyPem,
      previousPublicKeyId: 'PUB_KEY_ID_0999',
      rotatedAt: clock.iso(),
    });
    const secret = new SecretStandIn(v3Secret('newV3Key0123456789abcdefghijklmn'), 200);
    const wechatPay = await rotating(secret, clock, { baseUrl: standIn.baseUrl });
    // The secret has changed since: the reload the forgery prompts brings other keys, so another client.
    secret.value = v3Secret('nextV3Key123456789abcdefghijklmn');

    const forged = signedNotification({
      transaction: paidTransaction({ out_trade_no: 'FORGED0003' }),
      signer: { privateKey: attacker.privateKey, serial: randomCertificateSerial() },
      now: clock.now(),
    });
    const started = performance.now();
    const result = await wechatPay.codecFor(forged).verify(forged);
    const elapsed = performance.now() - started;

    expect(result.kind).toBe('rejected');
    expect(elapsed).toBeLessThan(VERIFY_BUDGET_MS + 300);
    // The current client's download and, at most, the reloaded one's; none through the replaced keys.
    expect(standIn.requests.filter((r) => r.path === '/v3/certificates').length).toBeLessThanOrEqual(2);
  });

  it('still verifies a genuine notification signed under the WeChat Pay public key', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v3',
      privateKey: merchantKeys.privateKeyPem,
      certSerial: merchantKeys.serial,
      apiV3Key: 'newV3Key0123456789abcdefghijklmn',
      publicKey: wechat.publicKeyPem,
      publicKeyId: wechat.publicKeyId,
    });
    const wechatPay = await rotating(secret, clock);
    const genuine = signedNotification({
      transaction: paidTransaction({ out_trade_no: 'GENUINE0001' }),
      signer: asPublicKeySigner(wechat),
      now: clock.now(),
      apiV3Key: 'newV3Key0123456789abcdefghijklmn',
    });
    expect((await wechatPay.codecFor(genuine).verify(genuine)).kind).toBe('trade');
  });
});

describe('rotating WeChat Pay: refund notifications', () => {
  const NEW_KEY = 'newApiKey0123456789abcdefghijklm';
  const OLD_KEY = 'oldApiKey0123456789abcdefghijklm';

  function refundNotification(apiKey: string) {
    const body = refundNotificationBody({
      ...merchant,
      apiKey,
      fields: {
        out_trade_no: 'T000123',
        out_refund_no: 'R1',
        refund_id: '50000000382019052709732678859',
        transaction_id: '4200001234567890123456789012',
        total_fee: '1999',
        refund_fee: '500',
        settlement_refund_fee: '500',
        refund_status: 'SUCCESS',
        success_time: '2030-01-01 08:05:00',
        refund_recv_accout: '支付用户零钱',
        refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
        refund_request_source: 'API',
      },
    });
    return { headers: { 'content-type': 'text/xml' }, body };
  }

  it('v2: req_info under the API key just replaced still decrypts while the overlap lasts, and only then', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v2',
      apiKey: NEW_KEY,
      previousApiKey: OLD_KEY,
      rotatedAt: clock.iso(),
    });
    const wechatPay = await rotating(secret, clock);
    const current = refundNotification(NEW_KEY);
    const previous = refundNotification(OLD_KEY);
    const other = refundNotification('otherKey0123456789abcdefghijklmn');

    expect(await wechatPay.refundCodecFor(current).verify(current)).toMatchObject({
      kind: 'refund',
      report: { outRefundNo: 'R1', status: 'SUCCESS' },
    });
    expect(await wechatPay.refundCodecFor(previous).verify(previous)).toMatchObject({ kind: 'refund' });
    expect(await wechatPay.refundCodecFor(other).verify(other)).toMatchObject({
      kind: 'rejected',
      code: 'UNDECRYPTABLE',
    });

    clock.advance(3_601_000);
    expect(await wechatPay.refundCodecFor(previous).verify(previous)).toMatchObject({
      kind: 'rejected',
      code: 'UNDECRYPTABLE',
    });
    expect(await wechatPay.refundCodecFor(current).verify(current)).toMatchObject({ kind: 'refund' });
  });

  it('v2: a forged refund notification gets the fixed refusal; a broken previous key is reported once', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v2',
      apiKey: NEW_KEY,
      previousApiKey: BROKEN_API_KEY,
      rotatedAt: clock.iso(),
    });
    const reported: unknown[] = [];
    const wechatPay = await rotating(secret, clock, { onUnusableCredentials: (error) => reported.push(error) });
    const forged = refundNotification('forgedKey0123456789abcdefghijklm');
    for (let i = 0; i < 3; i += 1) {
      const reply = await notifyRefund(wechatPay, clock, forged.headers, forged.body);
      expect(replyBody(reply)).toContain(`<return_msg><![CDATA[${REFUSED_REPLY}]]></return_msg>`);
    }
    expect(reported).toHaveLength(1);
    expect(String(reported[0])).not.toContain(BROKEN_API_KEY);
  });

  it('v3: a refund resource under the APIv3 key just replaced decrypts through the previous key', async () => {
    const clock = new TestClock(T0);
    const secret = new SecretStandIn({
      ...merchant,
      apiVersion: 'v3',
      privateKey: merchantKeys.privateKeyPem,
      certSerial: merchantKeys.serial,
      apiV3Key: 'newV3Key0123456789abcdefghijklmn',
      publicKey: wechat.publicKeyPem,
      publicKeyId: wechat.publicKeyId,
      previousApiV3Key: 'oldV3Key0123456789abcdefghijklmn',
      rotatedAt: clock.iso(),
    });
    const wechatPay = await rotating(secret, clock);
    const sent = (apiV3Key: string) => {
      const built = buildRefundNotification({
        refund: {
          mchid: merchant.mchid,
          out_trade_no: 'T000123',
          transaction_id: '4200001234567890123456789012',
          out_refund_no: 'R1',
          refund_id: '50000000382019052709732678859',
          refund_status: 'SUCCESS',
          success_time: '2030-01-01T08:05:00+08:00',
          user_received_account: '支付用户零钱',
          amount: { total: 1999, refund: 500, payer_total: 1999, payer_refund: 500 },
        },
        apiV3Key,
        signer: asPublicKeySigner(wechat),
        now: clock.now(),
      });
      return { headers: lowerCase(built.headers), body: built.body };
    };
    const previous = sent('oldV3Key0123456789abcdefghijklmn');
    expect(await wechatPay.refundCodecFor(previous).verify(previous)).toMatchObject({
      kind: 'refund',
      report: { outRefundNo: 'R1', status: 'SUCCESS' },
    });
    const unknown = sent('unknownKey23456789abcdefghijklmn');
    expect((await wechatPay.refundCodecFor(unknown).verify(unknown)).kind).toBe('unusable');
  });
});

describe('rotating WeChat Pay: the bill download', () => {
  it('v2: each download is signed with the API key current when it is asked for, after a rotation too', async () => {
    const asked: { path: string; fields: Record<string, string> }[] = [];
    const server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      request.on('end', () => {
        asked.push({ path: request.url ?? '', fields: parseXml(body) });
        response.writeHead(200, { 'content-type': 'text/plain' });
        // WeChat's answer for a day without a trade: an XML refusal, not a bill.
        response.end(
          '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[No Bill Exist]]></return_msg></xml>',
        );
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const clock = new TestClock(T0);
      const oldKey = 'oldApiKey0123456789abcdefghijklm';
      const newKey = 'newApiKey0123456789abcdefghijklm';
      const secret = new SecretStandIn({ ...merchant, apiVersion: 'v2', apiKey: oldKey });
      const wechatPay = await rotating(secret, clock, { baseUrl: `http://127.0.0.1:${port}` });

      expect(await wechatPay.downloadBill('2030-01-01')).toEqual({ kind: 'no_bill' });
      secret.value = { ...merchant, apiVersion: 'v2', apiKey: newKey, previousApiKey: oldKey, rotatedAt: clock.iso() };
      // Past CREDENTIALS_TTL_SECONDS the secret is read again, behind a call that goes on with what is held.
      clock.advance(301);
      expect(await wechatPay.downloadBill('2030-01-01')).toEqual({ kind: 'no_bill' });
      await new Promise((resolve) => setImmediate(resolve));
      expect(await wechatPay.downloadBill('2030-01-01')).toEqual({ kind: 'no_bill' });

      expect(
        asked.map(({ path, fields: { bill_date, bill_type, tar_type } }) => ({ path, bill_date, bill_type, tar_type })),
      ).toEqual([
        { path: '/pay/downloadbill', bill_date: '20300101', bill_type: 'ALL', tar_type: 'GZIP' },
        { path: '/pay/downloadbill', bill_date: '20300101', bill_type: 'ALL', tar_type: 'GZIP' },
        { path: '/pay/downloadbill', bill_date: '20300101', bill_type: 'ALL', tar_type: 'GZIP' },
      ]);
      const signedWith = ({ fields }: { fields: Record<string, string> }) =>
        [oldKey, newKey].filter((key) => verifyV2(fields, key));
      expect(signedWith(asked[0]!)).toEqual([oldKey]);
      expect(signedWith(asked[2]!)).toEqual([newKey]);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
