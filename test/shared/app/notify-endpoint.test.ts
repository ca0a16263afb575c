import { generateKeyPairSync } from 'node:crypto';

import type { LambdaFunctionURLEvent, LambdaFunctionURLResult } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';

import { WechatPayV2NotificationCodec } from '#shared/adapters/wechatpay-v2-notification-codec';
import { WechatPayV2RefundNotificationCodec } from '#shared/adapters/wechatpay-v2-refund-notification-codec';
import { WechatPayV3NotificationCodec } from '#shared/adapters/wechatpay-v3-notification-codec';
import { handleNotify, REFUSED_REPLY, UNAVAILABLE_REPLY } from '#shared/app/notify-endpoint';
import { NOTIFY_REFUND_ROUTE, NOTIFY_ROUTE } from '#shared/app/routes';
import { createObservability, type Observability } from '#shared/app/observability';
import type { NotifyCodec, RefundNotifyCodec, WechatPay } from '#shared/app/wechatpay-adapters';
import {
  METRIC_NOTIFICATIONS_NOT_STORED,
  METRIC_REJECTED_REFUND_NOTIFICATIONS,
  METRIC_REJECTED_NOTIFICATIONS,
  METRIC_UNVERIFIED_NOTIFICATIONS,
} from '#shared/config/metric-names';
import { loadSettings } from '#shared/config/settings';
import type {
  NotificationRecord,
  RawNotification,
  UnverifiedNotification,
  VerifiedNotification,
} from '#shared/domain/ports';
import { sha256 } from '#shared/domain/notification-receipts';
import { ReceiveNotification } from '#shared/domain/receive-notification';
import { ReceiveRefundNotification } from '#shared/domain/receive-refund-notification';
import { RefundReports } from '#shared/domain/refund-reports';
import type { Refund } from '#shared/domain/refund';
import { TradeReports } from '#shared/domain/trade-reports';
import { refundNotificationBody } from '#shared/wechatpay/v2/testing/refund-notifications';
import { MAX_NOTIFICATION_BYTES as V2_MAX_BYTES } from '#shared/wechatpay/v2/notification';
import { MAX_REFUND_NOTIFICATION_BYTES } from '#shared/wechatpay/v2/refund-notification';
import { encryptResource, signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { at, T0 } from '#test/helpers/order-fixtures';
import { FakePaymentProvider } from '#test/helpers/fake-payment-provider';
import { FakeRefundProvider } from '#test/helpers/fake-refund-provider';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { MERCHANT, pendingOrder } from '#test/helpers/payment-harness';
import { TestClock } from '#test/helpers/test-clock';
import { paidOrder } from '#test/helpers/refund-harness';
import { paidNotificationFields, signedV2Notification } from '#test/helpers/wechatpay-v2';
import { paidTransaction, signedHeaders, signedNotification } from '#test/helpers/wechatpay-v3';

/** The notify endpoint in process, over the real codecs and an in-memory store: what it answers and keeps. */

const API_KEY = '0123456789abcdef0123456789abcdef';
const SOURCE_IP = '198.51.100.23';

class FailingStore extends InMemoryOrderStore {
  override async recordNotification(_record: NotificationRecord): Promise<void> {
    throw Object.assign(new Error('throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
  }
}

class ThrottledTraces extends InMemoryOrderStore {
  override async recordUnverified(_record: UnverifiedNotification): Promise<void> {
    throw Object.assign(new Error('throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
  }
}

/** A codec that counts what it was asked to verify. */
function counting(codec: NotifyCodec): NotifyCodec & { verified: number } {
  const counted = {
    verified: 0,
    apiVersion: codec.apiVersion,
    auditHeaders: (raw: RawNotification) => codec.auditHeaders(raw),
    reply: (ok: boolean, message: string) => codec.reply(ok, message),
    async verify(raw: RawNotification): Promise<VerifiedNotification> {
      counted.verified += 1;
      return codec.verify(raw);
    },
  };
  return counted;
}

function v2Failure(message: string): string {
  return `<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[${message}]]></return_msg></xml>`;
}

function event(
  body: string,
  headers: Record<string, string> = { 'content-type': 'text/xml' },
  route: { method: string; path: string } = NOTIFY_ROUTE,
): LambdaFunctionURLEvent {
  return {
    rawPath: route.path,
    headers,
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: route.method, sourceIp: SOURCE_IP } },
  } as unknown as LambdaFunctionURLEvent;
}

const refundEvent = (body: string, method: string = NOTIFY_REFUND_ROUTE.method) =>
  event(body, { 'content-type': 'text/xml' }, { method, path: NOTIFY_REFUND_ROUTE.path });

describe('notify endpoint', () => {
  let store: InMemoryOrderStore;
  let clock: TestClock;
  let observability: Observability;
  let codec: NotifyCodec & { verified: number };
  let refundCodec: RefundNotifyCodec;

  let refundStore: InMemoryRefundStore;

  function notify(
    evt: LambdaFunctionURLEvent,
    using: InMemoryOrderStore = store,
    refunds: InMemoryRefundStore = using === store ? refundStore : new InMemoryRefundStore(using),
  ): Promise<LambdaFunctionURLResult> {
    const reports = new TradeReports({ store: using, clock, merchant: MERCHANT, observer: observability.observer });
    let ids = 0;
    const receive = new ReceiveNotification({
      store: using,
      clock,
      reports,
      observer: observability.observer,
      newId: () => `N${(ids += 1)}`,
    });
    const refundReports = new RefundReports({
      refunds,
      clock,
      merchant: MERCHANT,
      observer: observability.observer,
    });
    const receiveRefund = new ReceiveRefundNotification({
      orders: using,
      clock,
      reports: refundReports,
      observer: observability.observer,
      newId: () => `N${(ids += 1)}`,
    });
    const wechatPay: WechatPay = {
      merchant: MERCHANT,
      provider: new FakePaymentProvider(),
      codecFor: () => codec,
      refunds: new FakeRefundProvider(),
      refundCodecFor: () => refundCodec,
      downloadBill: () => Promise.reject(new Error('the notify endpoint never downloads a bill')),
    };
    return handleNotify(evt, {
      wechatPay: async () => wechatPay,
      receiveNotification: async () => receive,
      receiveRefundNotification: async () => receiveRefund,
      observability,
    });
  }

  function metricCount(name: string): number {
    const emf = observability.metrics.serializeMetrics() as unknown as Record<string, unknown>;
    const value = emf[name];
    return Array.isArray(value) ? value.reduce((s: number, v: number) => s + v, 0) : Number(value ?? 0);
  }

  function body(result: LambdaFunctionURLResult): string {
    return typeof result === 'object' ? (result.body ?? '') : String(result);
  }

  beforeEach(() => {
    store = new InMemoryOrderStore();
    clock = new TestClock(T0);
    clock.set(at(90));
    observability = createObservability(loadSettings({ TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT' }));
    codec = counting(new WechatPayV2NotificationCodec({ apiKey: API_KEY }));
    refundCodec = new WechatPayV2RefundNotificationCodec({ apiKey: API_KEY });
    refundStore = new InMemoryRefundStore(store);
  });

  describe('v2', () => {
    const fixedFailure = v2Failure(REFUSED_REPLY);

    it('answers every refusal with one fixed reply that says nothing of the check or the input', async () => {
      const order = pendingOrder();
      await store.create(order);
      const forged = signedV2Notification(paidNotificationFields(MERCHANT, order.outTradeNo), 'k'.repeat(32));
      const tags = `<xml>${Array.from({ length: 50 }, (_, i) => `<probe${i}>`).join('')}`;
      const foreign = signedV2Notification(
        paidNotificationFields({ ...MERCHANT, mchid: '1900000109' }, order.outTradeNo),
        API_KEY,
      );
      for (const hostile of [forged, tags, 'garbage', '', foreign]) {
        const reply = await notify(event(hostile));
        expect(body(reply)).toBe(fixedFailure);
      }
      expect(await store.get(order.outTradeNo)).toEqual(order);
    });

    it('stores no unverified body: its hash, length, source address and a reason code, for 7 days', async () => {
      const forged = signedV2Notification(paidNotificationFields(MERCHANT, 'T1'), 'k'.repeat(32));
      const tags = `<xml>${Array.from({ length: 50 }, (_, i) => `<probe${i}>`).join('')}`;
      await notify(event(forged));
      await notify(event(tags));
      expect(store.unverifiedNotifications()).toEqual([
        {
          id: 'N1',
          receivedAt: at(90),
          apiVersion: 'v2',
          reason: 'BAD_SIGNATURE',
          bodySha256: sha256(forged),
          bodyBytes: Buffer.byteLength(forged),
          sourceIp: SOURCE_IP,
        },
        {
          id: 'N1',
          receivedAt: at(90),
          apiVersion: 'v2',
          reason: 'UNREADABLE',
          bodySha256: sha256(tags),
          bodyBytes: Buffer.byteLength(tags),
          sourceIp: SOURCE_IP,
        },
      ]);
      expect(store.unmatchedNotifications()).toEqual([]);
      expect(await store.listNotifications('T1')).toEqual([]);
      expect(JSON.stringify(store.unverifiedNotifications())).not.toContain('probe');
      expect(metricCount(METRIC_UNVERIFIED_NOTIFICATIONS)).toBe(2);
    });

    it('refuses a body over the v2 codec’s own limit before reading it, keeping only its traces', async () => {
      const justOver = `<xml>${'A'.repeat(V2_MAX_BYTES)}</xml>`;
      const reply = await notify(event(justOver));
      expect(body(reply)).toBe(fixedFailure);
      expect(codec.verified).toBe(0);
      expect(store.unverifiedNotifications()).toMatchObject([
        { reason: 'TOO_LARGE', bodyBytes: Buffer.byteLength(justOver), sourceIp: SOURCE_IP },
      ]);
      expect(metricCount(METRIC_UNVERIFIED_NOTIFICATIONS)).toBe(1);
    });

    it('answers a storage failure with its own fixed reply and counts it as not stored', async () => {
      const failing = new FailingStore();
      const order = pendingOrder();
      await failing.create(order);
      const genuine = signedV2Notification(
        paidNotificationFields(MERCHANT, order.outTradeNo, { result_code: 'FAIL', err_code: 'NOTENOUGH' }),
        API_KEY,
      );
      const reply = await notify(event(genuine), failing);
      expect(body(reply)).toBe(v2Failure(UNAVAILABLE_REPLY));
      expect(metricCount(METRIC_NOTIFICATIONS_NOT_STORED)).toBe(1);
    });
  });

  it('lets a trace it cannot write go: the forgery is refused and counted, not taken for a lost one', async () => {
    const throttled = new ThrottledTraces();
    const reply = await notify(event('garbage'), throttled);
    expect(body(reply)).toBe(v2Failure(REFUSED_REPLY));
    expect(metricCount(METRIC_UNVERIFIED_NOTIFICATIONS)).toBe(1);
    expect(metricCount(METRIC_NOTIFICATIONS_NOT_STORED)).toBe(0);
  });

  describe('v3', () => {
    const apiV3Key = 'v'.repeat(32);
    const wechatKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const serial = 'PUB_KEY_ID_0114232134912410000000000000';

    it('answers a forged notification with the fixed reply, and keeps only its traces', async () => {
      codec = counting(
        new WechatPayV3NotificationCodec({
          apiV3Key,
          keys: { keyFor: async (s) => (s === serial ? wechatKey.publicKey : undefined) },
          clock,
        }),
      );
      const forgedBody = JSON.stringify({ id: 'EV-1', resource: { ciphertext: 'x'.repeat(100) } });
      const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const headers = signWechatpayMessage(forgedBody, { privateKey: otherKey, serial }, { now: clock.now() });
      const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
      const reply = await notify(event(forgedBody, lower));

      expect(reply).toMatchObject({ statusCode: 500 });
      expect(JSON.parse(body(reply))).toEqual({ code: 'FAIL', message: REFUSED_REPLY });
      expect(store.unverifiedNotifications()).toMatchObject([
        { apiVersion: 'v3', reason: 'BAD_SIGNATURE', bodySha256: sha256(forgedBody), sourceIp: SOURCE_IP },
      ]);
    });
  });
  describe('signed by WeChat but unusable: WeChat’s own words, kept and alarmed like a refused report', () => {
    /** What is kept and counted of one notification the signature proved WeChat's. */
    async function expectKeptAsRejected(sent: string, filedUnder: string | undefined) {
      const kept =
        filedUnder === undefined ? store.unmatchedNotifications() : await store.listNotifications(filedUnder);
      expect(kept).toMatchObject([{ outcome: 'rejected', body: sent, bodySha256: sha256(sent) }]);
      expect(kept[0]?.reason).toMatch(/^UNUSABLE_NOTIFICATION/);
      if (filedUnder !== undefined) expect(store.unmatchedNotifications()).toEqual([]);
      expect(store.unverifiedNotifications()).toEqual([]);
      expect(metricCount(METRIC_REJECTED_NOTIFICATIONS)).toBe(1);
      expect(metricCount(METRIC_UNVERIFIED_NOTIFICATIONS)).toBe(0);
    }

    it('v2: an unsupported currency on a known order is kept under the order, given the fixed reply', async () => {
      const order = pendingOrder();
      await store.create(order);
      const sent = signedV2Notification(
        paidNotificationFields(MERCHANT, order.outTradeNo, { fee_type: 'USD' }),
        API_KEY,
      );
      const reply = await notify(event(sent));
      expect(body(reply)).toBe(v2Failure(REFUSED_REPLY));
      await expectKeptAsRejected(sent, order.outTradeNo);
      expect((await store.get(order.outTradeNo))?.status).toBe('PENDING');
    });

    it('v2: a paid notification lacking its transaction id, for no known order, is kept apart', async () => {
      const fields = paidNotificationFields(MERCHANT, 'NOSUCHORDER1', { transaction_id: undefined });
      const sent = signedV2Notification(fields, API_KEY);
      const reply = await notify(event(sent));
      expect(body(reply)).toBe(v2Failure(REFUSED_REPLY));
      await expectKeptAsRejected(sent, undefined);
    });

    describe('v3', () => {
      const apiV3Key = 'v'.repeat(32);
      const wechatKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const serial = 'PUB_KEY_ID_0114232134912410000000000000';
      const signer = { privateKey: wechatKey.privateKey, serial };

      beforeEach(() => {
        codec = counting(
          new WechatPayV3NotificationCodec({
            apiV3Key,
            keys: { keyFor: async (s) => (s === serial ? wechatKey.publicKey : undefined) },
            clock,
          }),
        );
      });

      it('a resource that does not decrypt under our APIv3 key (signature fine) is kept and alarmed', async () => {
        const sent = signedNotification({
          transaction: paidTransaction({ out_trade_no: 'V3UNUSABLE1' }),
          signer,
          now: clock.now(),
          apiV3Key: 'w'.repeat(32),
        });
        const reply = await notify(event(sent.body, sent.headers));
        expect(reply).toMatchObject({ statusCode: 500 });
        expect(JSON.parse(body(reply))).toEqual({ code: 'FAIL', message: REFUSED_REPLY });
        await expectKeptAsRejected(sent.body, undefined);
      });

      it('an event_type we do not handle (signature fine) is kept and alarmed', async () => {
        const sentBody = JSON.stringify({
          id: 'EV-REFUND-1',
          create_time: clock.now().toISOString(),
          resource_type: 'encrypt-resource',
          event_type: 'REFUND.SUCCESS',
          summary: 'refund',
          resource: encryptResource(JSON.stringify({ out_trade_no: 'V3REFUND1' }), apiV3Key, {
            associatedData: 'refund',
            originalType: 'refund',
          }),
        });
        const reply = await notify(event(sentBody, signedHeaders(sentBody, signer, clock.now())));
        expect(JSON.parse(body(reply))).toEqual({ code: 'FAIL', message: REFUSED_REPLY });
        await expectKeptAsRejected(sentBody, undefined);
      });
    });
  });

  describe('refunds at /notify/refund', () => {
    class FailingRefunds extends InMemoryRefundStore {
      override async transitionRefund(): Promise<never> {
        throw Object.assign(new Error('throughput exceeded'), { name: 'ProvisionedThroughputExceededException' });
      }
    }

    /** A PAID order with one refund of 500 fen PROCESSING, as CreateRefund leaves it. */
    async function processingRefund(refunds: InMemoryRefundStore = refundStore): Promise<Refund> {
      const order = paidOrder();
      await store.create(order);
      const refund: Refund = {
        outTradeNo: order.outTradeNo,
        outRefundNo: 'R0001',
        status: 'PROCESSING',
        amount: { refund: 500, total: 1999, currency: 'CNY' },
        requestHash: 'r'.repeat(64),
        createdAt: at(60),
        updatedAt: at(60),
        acceptedAt: at(61),
        nextCheckAt: at(120),
        history: [{ at: at(60), from: null, to: 'PROCESSING', source: 'api' }],
      };
      expect((await refunds.createRefund(refund)).kind).toBe('created');
      return refund;
    }

    function refundNotification(refund: Refund, apiKey = API_KEY, extra: Record<string, string> = {}): string {
      return refundNotificationBody({
        appid: MERCHANT.appid,
        mchid: MERCHANT.mchid,
        apiKey,
        fields: {
          out_trade_no: refund.outTradeNo,
          out_refund_no: refund.outRefundNo,
          refund_id: '50000000382019052709732678859',
          transaction_id: '4200001234567890123456789012',
          total_fee: String(refund.amount.total),
          refund_fee: String(refund.amount.refund),
          settlement_refund_fee: String(refund.amount.refund),
          refund_status: 'SUCCESS',
          success_time: '2030-01-01 08:05:00',
          refund_recv_accout: '支付用户零钱',
          refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
          refund_request_source: 'API',
          ...extra,
        },
      });
    }

    it('applies a refund notification whose req_info decrypts under our key, and answers SUCCESS', async () => {
      const refund = await processingRefund();
      const reply = await notify(refundEvent(refundNotification(refund)));
      expect(body(reply)).toContain('SUCCESS');
      expect(await refundStore.getRefund(refund.outTradeNo, refund.outRefundNo)).toMatchObject({
        status: 'SUCCESS',
        refundId: '50000000382019052709732678859',
      });
      expect((await store.get(refund.outTradeNo))?.refunds).toMatchObject({ refunded: 500, pending: 0 });
    });

    it('refuses req_info under another key or for another amount: fixed reply, nothing changed', async () => {
      const refund = await processingRefund();
      for (const sent of [
        refundNotification(refund, 'k'.repeat(32)),
        refundNotification(refund, API_KEY, { refund_fee: '501' }),
      ]) {
        expect(body(await notify(refundEvent(sent)))).toBe(v2Failure(REFUSED_REPLY));
      }
      expect(await refundStore.getRefund(refund.outTradeNo, refund.outRefundNo)).toMatchObject({
        status: 'PROCESSING',
      });
      expect(store.unverifiedNotifications()).toMatchObject([{ reason: 'UNDECRYPTABLE' }]);
      expect(metricCount(METRIC_REJECTED_REFUND_NOTIFICATIONS)).toBe(1);
    });

    it('takes each kind only at its own path (refund at /notify/pay, payment at /notify/refund refused)', async () => {
      const refund = await processingRefund();
      expect(body(await notify(event(refundNotification(refund))))).toBe(v2Failure(REFUSED_REPLY));
      const order = pendingOrder();
      await store.create(order);
      const paid = signedV2Notification(paidNotificationFields(MERCHANT, order.outTradeNo), API_KEY);
      expect(body(await notify(refundEvent(paid)))).toBe(v2Failure(REFUSED_REPLY));
      expect((await store.get(order.outTradeNo))?.status).toBe('PENDING');
      expect(await refundStore.getRefund(refund.outTradeNo, refund.outRefundNo)).toMatchObject({
        status: 'PROCESSING',
      });
    });

    it('refuses any other method or path of the notify URL', async () => {
      const refund = await processingRefund();
      const sent = refundNotification(refund);
      for (const evt of [
        refundEvent(sent, 'GET'),
        event(sent, { 'content-type': 'text/xml' }, { method: 'POST', path: '/notify/refunds' }),
      ]) {
        expect(body(await notify(evt))).toBe(v2Failure(REFUSED_REPLY));
      }
      expect(await refundStore.getRefund(refund.outTradeNo, refund.outRefundNo)).toMatchObject({
        status: 'PROCESSING',
      });
    });

    it('refuses a body over the refund parser’s cap before reading it, keeping only its traces', async () => {
      const envelope = (size: number) => {
        const bare = '<xml><req_info></req_info></xml>';
        return `<xml><req_info>${'A'.repeat(size - bare.length)}</req_info></xml>`;
      };
      const huge = envelope(MAX_REFUND_NOTIFICATION_BYTES + 1);
      expect(body(await notify(refundEvent(huge)))).toBe(v2Failure(REFUSED_REPLY));
      // At the cap it is read (and refused only because nothing decrypts).
      expect(body(await notify(refundEvent(envelope(MAX_REFUND_NOTIFICATION_BYTES))))).toBe(v2Failure(REFUSED_REPLY));
      expect(store.unverifiedNotifications()).toMatchObject([
        { reason: 'TOO_LARGE', bodyBytes: MAX_REFUND_NOTIFICATION_BYTES + 1 },
        { reason: 'UNREADABLE' },
      ]);
    });

    it('a req_info that decrypts under our key but lacks a field is kept under its order and alarmed', async () => {
      const refund = await processingRefund();
      const sent = refundNotification(refund, API_KEY, { refund_id: '' });
      expect(body(await notify(refundEvent(sent)))).toBe(v2Failure(REFUSED_REPLY));
      const kept = await store.listNotifications(refund.outTradeNo);
      expect(kept).toMatchObject([{ outcome: 'rejected', body: sent, bodySha256: sha256(sent) }]);
      expect(kept[0]?.reason).toMatch(/^UNUSABLE_NOTIFICATION: req_info lacks refund_id/);
      expect(store.unverifiedNotifications()).toEqual([]);
      expect(metricCount(METRIC_REJECTED_REFUND_NOTIFICATIONS)).toBe(1);
      expect(await refundStore.getRefund(refund.outTradeNo, refund.outRefundNo)).toMatchObject({
        status: 'PROCESSING',
      });
    });

    it('answers a storage failure with its own fixed reply and counts it as not stored', async () => {
      const failing = new FailingRefunds(store);
      const refund = await processingRefund(failing);
      const reply = await notify(refundEvent(refundNotification(refund)), store, failing);
      expect(body(reply)).toBe(v2Failure(UNAVAILABLE_REPLY));
      expect(metricCount(METRIC_NOTIFICATIONS_NOT_STORED)).toBe(1);
    });
  });
});
