import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

import { localDynamoDbClient } from '#sandbox/local/resources';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import type { Order } from '#shared/domain/order';
import { sha256 } from '#shared/domain/notification-receipts';
import { signedV2Notification } from '../helpers/wechatpay-v2';
import { startTestStack, type TestStack } from '../helpers/local-stack';

/** The notify endpoint over HTTP against DynamoDB Local: exactly-once under duplicates, nothing from forgeries. */
let stack: TestStack;
let seq = 0;

const SUCCESS_REPLY =
  '<xml><return_code><![CDATA[SUCCESS]]></return_code><return_msg><![CDATA[OK]]></return_msg></xml>';

async function pendingOrder(total = 2501): Promise<string> {
  seq += 1;
  const no = `N${Date.now()}${String(seq).padStart(3, '0')}`;
  const res = await stack.api('POST', '/orders', {
    out_trade_no: no,
    description: 'notify test',
    amount: { total },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.1' },
  });
  expect(res.status).toBe(201);
  return no;
}

function paidFields(no: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    return_code: 'SUCCESS',
    appid: SANDBOX_MERCHANT.appid,
    mch_id: SANDBOX_MERCHANT.mchid,
    nonce_str: 'n0nce',
    result_code: 'SUCCESS',
    openid: 'oPayer',
    trade_type: 'NATIVE',
    bank_type: 'CMC',
    total_fee: '2501',
    fee_type: 'CNY',
    cash_fee: '2501',
    transaction_id: '4200000000202611250000000001',
    out_trade_no: no,
    time_end: '20261125120000',
    ...overrides,
  };
}

async function notify(body: string): Promise<{ status: number; text: string; ms: number }> {
  const started = performance.now();
  const res = await fetch(`${stack.gatewayUrl}/notify/pay`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body,
  });
  return { status: res.status, text: await res.text(), ms: performance.now() - started };
}

const REFUSED_REPLY =
  '<xml><return_code><![CDATA[FAIL]]></return_code><return_msg><![CDATA[notification refused]]></return_msg></xml>';

/** Every notification item of the stack's table kept apart from an order (a scan: the table is the test's). */
async function notificationItemsApartFromOrders(): Promise<Record<string, unknown>[]> {
  const client = DynamoDBDocumentClient.from(localDynamoDbClient(inject('dynamodbEndpoint')));
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({
        TableName: stack.tableName,
        FilterExpression: 'begins_with(pk, :notify)',
        ExpressionAttributeValues: { ':notify': 'NOTIFY#' },
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
}

async function order(no: string): Promise<Order> {
  const found = await stack.store.get(no);
  if (!found) throw new Error(`no order ${no}`);
  return found;
}

beforeAll(async () => {
  stack = await startTestStack({ env: { RECONCILE_SCHEDULE: '3600' } });
});

afterAll(async () => {
  await stack?.stop();
});

describe('notify endpoint (v2)', () => {
  it('marks the order paid and answers WeChat’s exact SUCCESS XML', async () => {
    const no = await pendingOrder();
    const res = await notify(signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey));
    expect(res.status).toBe(200);
    expect(res.text).toBe(SUCCESS_REPLY);
    const paid = await order(no);
    expect(paid.status).toBe('PAID');
    expect(paid.payment).toMatchObject({
      transactionId: '4200000000202611250000000001',
      amountTotal: 2501,
      paidAt: '20261125120000',
      bankType: 'CMC',
      payerOpenid: 'oPayer',
    });
    expect((await stack.store.listNotifications(no)).map((n) => n.outcome)).toEqual(['accepted']);
  });

  it('verifies an MD5-signed notification for an HMAC merchant by the signature’s form', async () => {
    const no = await pendingOrder();
    const res = await notify(signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey, 'MD5'));
    expect(res.text).toBe(SUCCESS_REPLY);
    expect((await order(no)).status).toBe('PAID');
  });

  it('applies 20 concurrent duplicates exactly once and keeps the first payment facts', async () => {
    const no = await pendingOrder();
    const body = signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey);
    const replies = await Promise.all(Array.from({ length: 20 }, () => notify(body)));
    expect(replies.every((r) => r.text === SUCCESS_REPLY)).toBe(true);
    const paid = await order(no);
    expect(paid.history.filter((h) => h.to === 'PAID')).toHaveLength(1);
    // The one that paid, kept with the order, and one copy of the duplicates (keyed by the body's hash).
    expect(await stack.store.listNotifications(no)).toHaveLength(2);

    const later = signedV2Notification(
      paidFields(no, { transaction_id: '4200000000202611259999999999' }),
      SANDBOX_MERCHANT.apiKey,
    );
    expect((await notify(later)).text).toBe(SUCCESS_REPLY);
    expect((await order(no)).payment?.transactionId).toBe('4200000000202611250000000001');
  });

  const hostile: Array<[string, (no: string) => string]> = [
    [
      'a forged signature',
      (no) =>
        signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey).replace(
          /<sign>(<!\[CDATA\[)?[0-9A-F]{4}/,
          '<sign>$1FFFF',
        ),
    ],
    ['another merchant’s key', (no) => signedV2Notification(paidFields(no), 'k'.repeat(32))],
    [
      'a tampered amount',
      (no) =>
        signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey).replace(
          '<total_fee>2501</total_fee>',
          '<total_fee>1</total_fee>',
        ),
    ],
    [
      'a correctly signed different amount',
      (no) => signedV2Notification(paidFields(no, { total_fee: '1', cash_fee: '1' }), SANDBOX_MERCHANT.apiKey),
    ],
    [
      'a foreign mch_id',
      (no) => signedV2Notification(paidFields(no, { mch_id: '1900000109' }), SANDBOX_MERCHANT.apiKey),
    ],
    [
      'a foreign appid',
      (no) => signedV2Notification(paidFields(no, { appid: 'wx0000000000000000' }), SANDBOX_MERCHANT.apiKey),
    ],
    [
      'XXE',
      (no) =>
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>' +
        `<xml><out_trade_no>${no}</out_trade_no><attach>&xxe;</attach></xml>`,
    ],
    [
      'billion laughs',
      () =>
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' +
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">' +
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><xml><a>&lol3;</a></xml>',
    ],
    [
      'a 2 MB body',
      (no) => `<xml><out_trade_no>${no}</out_trade_no><attach>${'A'.repeat(2 * 1024 * 1024)}</attach></xml>`,
    ],
    ['garbage', () => '\u0000\u0001 not xml at all }{'],
    ['an empty body', () => ''],
    ['JSON instead of XML', (no) => JSON.stringify({ out_trade_no: no, result_code: 'SUCCESS' })],
  ];

  it.each(hostile)('refuses %s fast, with the one fixed reply, and changes nothing', async (_name, build) => {
    const no = await pendingOrder();
    const before = await order(no);
    const res = await notify(build(no));
    expect(res.text).toBe(REFUSED_REPLY);
    expect(res.ms).toBeLessThan(5000);
    const after = await order(no);
    expect(after.status).toBe('PENDING');
    expect(after.updatedAt).toBe(before.updatedAt);
    expect(after.payment).toBeUndefined();
  });

  it('stores no unproven body, only its hash, length, source address and a reason code, on sharded keys', async () => {
    const no = await pendingOrder();
    const forged = signedV2Notification(paidFields(no), 'k'.repeat(32));
    const garbage = 'G'.repeat(60 * 1024);
    const tags = `<xml>${Array.from({ length: 2000 }, (_, i) => `<t${i}>`).join('')}`;
    for (const body of [forged, garbage, tags]) expect((await notify(body)).text).toBe(REFUSED_REPLY);

    const items = await notificationItemsApartFromOrders();
    const traces = items.filter((item) => String(item.pk).startsWith('NOTIFY#UNVERIFIED#'));
    const byHash = (body: string) => traces.find((item) => item.bodySha256 === sha256(body));
    expect(byHash(forged)).toMatchObject({ reason: 'BAD_SIGNATURE', bodyBytes: Buffer.byteLength(forged) });
    expect(byHash(garbage)).toMatchObject({ reason: 'TOO_LARGE', bodyBytes: garbage.length });
    expect(byHash(tags)).toMatchObject({ reason: 'UNREADABLE', bodyBytes: tags.length });
    for (const trace of traces) {
      expect(Object.keys(trace).sort()).toEqual(
        ['apiVersion', 'bodyBytes', 'bodySha256', 'id', 'pk', 'receivedAt', 'reason', 'sk', 'sourceIp', 'ttl'].sort(),
      );
      expect(trace.sourceIp).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
    }
    expect(JSON.stringify(items)).not.toContain('<t1>');
    expect(JSON.stringify(items)).not.toContain('GGGG');
    expect(await stack.store.listNotifications(no)).toEqual([]);
  });

  it('keeps a payment for an order closed here on the order, shows it as late_payment, acknowledges it', async () => {
    const no = await pendingOrder();
    await stack.store.transition({ outTradeNo: no, to: 'CLOSED', at: new Date().toISOString(), source: 'close' });
    const res = await notify(signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey));
    expect(res.text).toBe(SUCCESS_REPLY);
    const view = await stack.api('GET', `/orders/${no}`);
    expect(view.json).toMatchObject({
      status: 'CLOSED',
      late_payment: {
        transaction_id: '4200000000202611250000000001',
        amount: { total: 2501, currency: 'CNY' },
        paid_at: '2026-11-25T12:00:00+08:00',
      },
    });
    expect(view.json).not.toHaveProperty('payment');
  });

  it('files a signed mismatch under its order, and an unproven notification apart from it', async () => {
    const no = await pendingOrder();
    await notify(signedV2Notification(paidFields(no), 'k'.repeat(32)));
    expect(await stack.store.listNotifications(no)).toEqual([]);
    await notify(signedV2Notification(paidFields(no, { total_fee: '1', cash_fee: '1' }), SANDBOX_MERCHANT.apiKey));
    const filed = await stack.store.listNotifications(no);
    expect(filed.map((n) => [n.outcome, n.reason?.startsWith('AMOUNT_MISMATCH')])).toEqual([['rejected', true]]);
  });

  it('keeps a signed notification it cannot use (another currency) under its order, not as a forgery', async () => {
    const no = await pendingOrder();
    const res = await notify(signedV2Notification(paidFields(no, { fee_type: 'USD' }), SANDBOX_MERCHANT.apiKey));
    expect(res.text).toBe(REFUSED_REPLY);
    const filed = await stack.store.listNotifications(no);
    expect(filed.map((n) => [n.outcome, n.reason?.startsWith('UNUSABLE_NOTIFICATION')])).toEqual([['rejected', true]]);
    expect((await order(no)).status).toBe('PENDING');
  });

  it('records a notification for an unknown order and answers FAIL', async () => {
    const no = `UNKNOWN${Date.now()}`;
    const res = await notify(signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey));
    expect(res.text).toContain('FAIL');
    expect(await stack.store.get(no)).toBeUndefined();
  });

  it('records result_code FAIL without marking the order paid', async () => {
    const no = await pendingOrder();
    const fields = paidFields(no, { result_code: 'FAIL', err_code: 'NOTENOUGH', err_code_des: 'balance' });
    delete (fields as Partial<Record<string, string>>).transaction_id;
    const res = await notify(signedV2Notification(fields, SANDBOX_MERCHANT.apiKey));
    expect(res.text).toBe(SUCCESS_REPLY);
    expect((await order(no)).status).toBe('PENDING');
    expect((await stack.store.listNotifications(no)).map((n) => n.outcome)).toEqual(['accepted']);
  });

  it('answers FAIL so WeChat retries when storage is down', async () => {
    const no = await pendingOrder();
    const body = signedV2Notification(paidFields(no), SANDBOX_MERCHANT.apiKey);
    const broken = await startTestStack({
      env: { RECONCILE_SCHEDULE: '3600' },
      tableName: `missing-${Date.now()}`,
      skipTableCreation: true,
    });
    try {
      const res = await fetch(`${broken.gatewayUrl}/notify/pay`, { method: 'POST', body });
      expect(await res.text()).toContain('FAIL');
    } finally {
      await broken.stop();
    }
    expect((await order(no)).status).toBe('PENDING');
  });
});
