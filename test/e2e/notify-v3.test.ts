import { generateKeyPairSync } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import type { Order } from '#shared/domain/order';
import { encryptResource } from '#shared/wechatpay/v3/testing/wechat-messages';
import { signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import { paidV3Transaction, signedV3Notification, startTestStack, type TestStack } from '../helpers/local-stack';

/** v3 notifications at the same endpoint: RSA-verified, AES-256-GCM-decrypted, then the same domain path as v2. */
let stack: TestStack;
let seq = 0;
const TOTAL = 3100;
const TXN = '4200000000202611251234567890';

async function pendingOrder(): Promise<string> {
  seq += 1;
  const no = `V3N${Date.now()}${String(seq).padStart(3, '0')}`;
  const res = await stack.api('POST', '/orders', {
    out_trade_no: no,
    description: 'v3 notify test',
    amount: { total: TOTAL },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.3' },
  });
  expect(res.status).toBe(201);
  return no;
}

function platformKey() {
  if (stack.platformKey === undefined) throw new Error('v3 stack expected');
  return stack.platformKey;
}

function paidNotification(
  no: string,
  overrides: Record<string, unknown> = {},
  opts: Parameters<typeof signedV3Notification>[3] = {},
) {
  return signedV3Notification(
    stack,
    platformKey(),
    { ...paidV3Transaction(SANDBOX_MERCHANT, no, TXN, TOTAL), ...overrides },
    opts,
  );
}

async function post(n: { headers: Record<string, string>; body: string }): Promise<{ status: number; text: string }> {
  const res = await fetch(stack.notifyUrl, { method: 'POST', headers: n.headers, body: n.body });
  return { status: res.status, text: await res.text() };
}

async function order(no: string): Promise<Order> {
  const found = await stack.store.get(no);
  if (!found) throw new Error(`no order ${no}`);
  return found;
}

beforeAll(async () => {
  stack = await startTestStack({ env: { WECHATPAY_API_VERSION: 'v3', RECONCILE_SCHEDULE: '3600' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('notify endpoint (v3)', () => {
  it('verifies, decrypts, marks the order paid and answers 204', async () => {
    const no = await pendingOrder();
    const res = await post(paidNotification(no));
    expect(res).toEqual({ status: 204, text: '' });
    expect((await order(no)).payment).toMatchObject({ transactionId: TXN, amountTotal: TOTAL, currency: 'CNY' });
  });

  it('applies 20 concurrent duplicates exactly once', async () => {
    const no = await pendingOrder();
    const n = paidNotification(no);
    const replies = await Promise.all(Array.from({ length: 20 }, () => post(n)));
    expect(replies.every((r) => r.status === 204)).toBe(true);
    expect((await order(no)).history.filter((h) => h.to === 'PAID')).toHaveLength(1);
  });

  const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const hostile: Array<[string, (no: string) => { headers: Record<string, string>; body: string }]> = [
    [
      'a signature by another key',
      (no) => {
        const n = paidNotification(no);
        return {
          headers: {
            ...n.headers,
            ...signWechatpayMessage(
              n.body,
              { privateKey: otherKey, serial: stack.settings.WECHATPAY_PUBLIC_KEY_ID ?? '' },
              { now: new Date() },
            ),
          },
          body: n.body,
        };
      },
    ],
    [
      'an unknown serial',
      (no) => paidNotification(no, {}, { serial: 'PUB_KEY_ID_0000000000000000000000000000000000' }),
    ],
    ['a timestamp six minutes old', (no) => paidNotification(no, {}, { now: new Date(Date.now() - 6 * 60_000) })],
    [
      'a probe signature',
      (no) => {
        const n = paidNotification(no);
        const name =
          Object.keys(n.headers).find((h) => h.toLowerCase() === 'wechatpay-signature') ?? 'Wechatpay-Signature';
        return { headers: { ...n.headers, [name]: `WECHATPAY/SIGNTEST/${n.headers[name] ?? ''}` }, body: n.body };
      },
    ],
    [
      'a tampered body',
      (no) => {
        const n = paidNotification(no);
        return { headers: n.headers, body: n.body.replace('"summary":"', '"summary":"x') };
      },
    ],
    ['a resource under another APIv3 key', (no) => paidNotification(no, {}, { apiV3Key: 'k'.repeat(32) })],
    [
      'a correctly signed different amount',
      (no) => paidNotification(no, { amount: { total: 1, payer_total: 1, currency: 'CNY', payer_currency: 'CNY' } }),
    ],
    ['a foreign mchid', (no) => paidNotification(no, { mchid: '1900000109' })],
  ];

  it.each(hostile)('refuses %s with a FAIL reply and changes nothing', async (_name, build) => {
    const no = await pendingOrder();
    const res = await post(build(no));
    expect(res.status).toBeGreaterThanOrEqual(400);
    // One fixed answer whichever check failed: the reason is in the log.
    expect(JSON.parse(res.text)).toEqual({ code: 'FAIL', message: 'notification refused' });
    const after = await order(no);
    expect(after.status).toBe('PENDING');
    expect(after.payment).toBeUndefined();
  });

  it('refuses a ciphertext tampered after signing, or with other associated_data, even when re-signed', async () => {
    for (const mutate of ['ciphertext', 'associated_data'] as const) {
      const no = await pendingOrder();
      const resource = encryptResource(
        JSON.stringify(paidV3Transaction(SANDBOX_MERCHANT, no, TXN, TOTAL)),
        stack.settings.WECHATPAY_APIV3_KEY ?? '',
        {
          associatedData: mutate === 'associated_data' ? 'certificate' : 'transaction',
          originalType: 'transaction',
        },
      );
      if (mutate === 'ciphertext')
        resource.ciphertext = `${resource.ciphertext.startsWith('A') ? 'B' : 'A'}${resource.ciphertext.slice(1)}`;
      else resource.associated_data = 'transaction';
      const body = JSON.stringify({
        id: 'evt-1',
        create_time: new Date().toISOString(),
        resource_type: 'encrypt-resource',
        event_type: 'TRANSACTION.SUCCESS',
        summary: '支付成功',
        resource,
      });
      const headers = {
        ...signWechatpayMessage(
          body,
          { privateKey: platformKey(), serial: stack.settings.WECHATPAY_PUBLIC_KEY_ID ?? '' },
          { now: new Date() },
        ),
        'Content-Type': 'application/json',
      };
      const res = await post({ headers, body });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect((await order(no)).status).toBe('PENDING');
    }
  });
});
