import { generateKeyPairSync } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { startTestStack, type TestStack } from '../helpers/local-stack';
import {
  paidOrder,
  postRefundNotification,
  refundSummary,
  requestRefund,
  storedRefund,
  uniqueNo,
  unchangedPart,
  v3RefundNotification,
  v3RefundResource,
  waitForAcceptance,
} from '../helpers/refund-e2e';
import { commonRefundScenarios } from '../helpers/refund-scenarios';

/**
 * Refunds end to end in API v3: /v3/refund/domestic/refunds at the simulator (over HTTPS, trusted
 * through the simulator's CA), REFUND.* notifications RSA-signed by WeChat's key (held by the test)
 * with the resource under the APIv3 key and associated_data `refund`.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    env: { WECHATPAY_API_VERSION: 'v3', REFUND_CHECK_SCHEDULE: '1' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe('refunds (v3)', () => {
  commonRefundScenarios(() => stack);

  it('refuses a bad signature, another key, a tampered resource or other facts, and changes nothing', async () => {
    const order = await paidOrder(stack, 100);
    const no = uniqueNo('RFF');
    expect((await requestRefund(stack, order.outTradeNo, { out_refund_no: no, amount: { refund: 20 } })).status).toBe(
      201,
    );
    const refund = await waitForAcceptance(stack, order.outTradeNo, no);
    const mchid = stack.settings.WECHATPAY_MCHID ?? '';
    const resource = v3RefundResource(refund, order.transactionId, mchid);
    const genuine = v3RefundNotification(stack, resource);

    const impostor = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const serial = stack.settings.WECHATPAY_PUBLIC_KEY_ID ?? '';
    const tamperedBody = genuine.body.replace(
      /"ciphertext":"(.)/,
      (_m, c: string) => `"ciphertext":"${c === 'A' ? 'B' : 'A'}`,
    );
    const forgeries: Record<string, { headers: Record<string, string>; body: string }> = {
      'signed by another key': {
        headers: {
          ...signWechatpayMessage(genuine.body, { privateKey: impostor, serial }, { now: new Date() }),
          'Content-Type': 'application/json',
        },
        body: genuine.body,
      },
      'body changed after signing': { headers: genuine.headers, body: tamperedBody },
      'no signature': {
        headers: Object.fromEntries(
          Object.entries(genuine.headers).filter(([k]) => k.toLowerCase() !== 'wechatpay-signature'),
        ),
        body: genuine.body,
      },
      'encrypted under another APIv3 key': v3RefundNotification(stack, resource, {
        apiV3Key: 'another32ByteApiV3Key00000000000',
      }),
      'encrypted as a transaction': v3RefundNotification(stack, resource, { associatedData: 'transaction' }),
      'another amount': v3RefundNotification(stack, {
        ...resource,
        amount: { total: 100, refund: 21, payer_total: 100, payer_refund: 21 },
      }),
      'another merchant': v3RefundNotification(stack, { ...resource, mchid: '1900000999' }),
    };
    const before = await storedRefund(stack, order.outTradeNo, no);
    const notificationsBefore = await stack.refundStore.refundNotifications(order.outTradeNo, no);
    for (const [name, { headers, body }] of Object.entries(forgeries)) {
      const reply = await postRefundNotification(stack, body, headers);
      // Refused, so WeChat would send it again (a body with no signature headers at all is answered as v2).
      expect(reply.ok, `${name}: ${reply.status} ${reply.text}`).toBe(false);
    }
    expect(unchangedPart(await storedRefund(stack, order.outTradeNo, no))).toEqual(unchangedPart(before));
    expect(await stack.refundStore.refundNotifications(order.outTradeNo, no)).toEqual(notificationsBefore);
    expect(await refundSummary(stack, order.outTradeNo)).toEqual({ refunded: 0, pending: 20, refundable: 80 });

    expect((await postRefundNotification(stack, genuine.body, genuine.headers)).ok).toBe(true);
    expect((await storedRefund(stack, order.outTradeNo, no))?.status).toBe('SUCCESS');
  });

  it('reads refund_status, not status: an ABNORMAL refund stays pending, then ends SUCCESS', async () => {
    const order = await paidOrder(stack, 100);
    const no = uniqueNo('RFN');
    expect((await requestRefund(stack, order.outTradeNo, { out_refund_no: no, amount: { refund: 10 } })).status).toBe(
      201,
    );
    const refund = await waitForAcceptance(stack, order.outTradeNo, no);
    const resource = v3RefundResource(refund, order.transactionId, stack.settings.WECHATPAY_MCHID ?? '', {
      refund_status: 'ABNORMAL',
      success_time: undefined,
    });
    const abnormal = v3RefundNotification(stack, resource, { eventType: 'REFUND.ABNORMAL' });
    expect((await postRefundNotification(stack, abnormal.body, abnormal.headers)).ok).toBe(true);
    expect((await storedRefund(stack, order.outTradeNo, no))?.status).toBe('ABNORMAL');
    expect(await refundSummary(stack, order.outTradeNo)).toEqual({ refunded: 0, pending: 10, refundable: 90 });

    const success = v3RefundNotification(
      stack,
      v3RefundResource(refund, order.transactionId, stack.settings.WECHATPAY_MCHID ?? ''),
    );
    expect((await postRefundNotification(stack, success.body, success.headers)).ok).toBe(true);
    expect((await storedRefund(stack, order.outTradeNo, no))?.history.map((h) => h.to)).toEqual([
      'PROCESSING',
      'ABNORMAL',
      'SUCCESS',
    ]);
  });
});
