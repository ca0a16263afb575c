import { request } from 'node:https';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import { startTestStack, type TestStack } from '../helpers/local-stack';
import {
  paidOrder,
  postRefundNotification,
  refundSummary,
  requestRefund,
  storedRefund,
  uniqueNo,
  unchangedPart,
  v2RefundFields,
  v2RefundNotificationBody,
  v2ReqInfo,
  waitForAcceptance,
} from '../helpers/refund-e2e';
import { commonRefundScenarios } from '../helpers/refund-scenarios';

/**
 * Refunds end to end in API v2: the gateway, the handlers on DynamoDB Local and fauxqs, the simulator
 * over HTTPS with mutual TLS on /secapi/ (the stack hands the handlers the simulator's CA and the
 * client certificate it issued), and the refund notifications WeChat sends to /notify/refund.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      WECHATPAY_API_VERSION: 'v2',
      // Refunds not final are checked every second, so a dropped notification is made up for at once.
      REFUND_CHECK_SCHEDULE: '1',
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

describe('refunds (v2)', () => {
  commonRefundScenarios(() => stack);

  it('refuses a forged, other-key, tampered or mismatching req_info and changes nothing', async () => {
    const order = await paidOrder(stack, 100);
    const no = uniqueNo('RFF');
    expect((await requestRefund(stack, order.outTradeNo, { out_refund_no: no, amount: { refund: 20 } })).status).toBe(
      201,
    );
    const refund = await waitForAcceptance(stack, order.outTradeNo, no);
    const apiKey = SANDBOX_MERCHANT.apiKey;
    const fields = v2RefundFields(refund, order.transactionId);
    const genuine = v2ReqInfo(fields, apiKey);
    const tampered = Buffer.from(genuine, 'base64');
    // One byte of the middle block: that block and the padding check see other bytes.
    tampered[Math.floor(tampered.length / 2)] = (tampered[Math.floor(tampered.length / 2)] ?? 0) ^ 0x5a;

    const forgeries: Record<string, string> = {
      'not WeChat at all': v2RefundNotificationBody(Buffer.from('x'.repeat(48)).toString('base64')),
      'another API key': v2RefundNotificationBody(v2ReqInfo(fields, 'anotherMerchantsApiKey0000000000')),
      tampered: v2RefundNotificationBody(tampered.toString('base64')),
      'another amount': v2RefundNotificationBody(v2ReqInfo({ ...fields, refund_fee: '21' }, apiKey)),
      'another order': v2RefundNotificationBody(v2ReqInfo({ ...fields, out_trade_no: uniqueNo('X') }, apiKey)),
      'another merchant': v2RefundNotificationBody(genuine, { appid: SANDBOX_MERCHANT.appid, mchid: '1900000999' }),
      'no req_info': v2RefundNotificationBody(''),
    };
    const before = await storedRefund(stack, order.outTradeNo, no);
    const notificationsBefore = await stack.refundStore.refundNotifications(order.outTradeNo, no);
    for (const [name, body] of Object.entries(forgeries)) {
      const reply = await postRefundNotification(stack, body);
      expect(reply.ok, name).toBe(false);
      expect(reply.text, name).toContain('FAIL');
    }
    expect(unchangedPart(await storedRefund(stack, order.outTradeNo, no))).toEqual(unchangedPart(before));
    expect(await stack.refundStore.refundNotifications(order.outTradeNo, no)).toEqual(notificationsBefore);
    expect(await refundSummary(stack, order.outTradeNo)).toEqual({ refunded: 0, pending: 20, refundable: 80 });

    // The genuine one, refused by none of the checks above, is applied.
    expect((await postRefundNotification(stack, v2RefundNotificationBody(genuine))).ok).toBe(true);
    expect((await storedRefund(stack, order.outTradeNo, no))?.status).toBe('SUCCESS');
  });

  it('is refused by the simulator, as by WeChat, when no client certificate is sent', async () => {
    const tls = stack.simulatorTls;
    if (tls === undefined || stack.simulatorHttpsUrl === undefined) throw new Error('the stack runs no simulator');
    const refundXml = '<xml><appid>x</appid></xml>';
    const post = (options: { cert?: string; key?: string }) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = request(
          `${stack.simulatorHttpsUrl}/secapi/pay/refund`,
          { method: 'POST', ca: tls.caCertPem, ...options, headers: { 'content-type': 'text/xml' } },
          (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on('error', reject);
        req.end(refundXml);
      });

    const bare = await post({});
    expect(bare.status).toBe(400);
    expect(bare.body).toContain('No required SSL certificate was sent');

    // A certificate for our mchid from another CA is not the merchant's either.
    const foreign = createCertificateAuthority().issue({ commonName: SANDBOX_MERCHANT.mchid, usage: 'client' });
    const refused = await post({ cert: foreign.certPem, key: foreign.keyPem }).catch((error: Error) => ({
      status: 0,
      body: error.message,
    }));
    expect(refused.status).not.toBe(200);
    expect(refused.body).not.toContain('<return_code><![CDATA[SUCCESS]]></return_code>');
  });
});
