import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AppBackendClient } from '#shared/client/app-backend-client';
import { refusalOf } from '#test/helpers/app-backend-refusal';
import { startTestStack, type TestStack } from '#test/helpers/local-stack';
import { waitFor } from '#test/helpers/wait-for';

/*
 * The client against a whole local stack (the gateway checks no signature here: see
 * app-backend-client-iam.test.ts for LOCAL_IAM): every call, its typed answer, and the backend's error
 * answers as AppBackendError.
 */

const ANY_KEY = { accessKeyId: 'AKIDCLIENTTEST', secretAccessKey: 'client-test-secret' };

let sequence = 0;
/** 6–32 of WeChat's out_trade_no alphabet; `*` and `|` are the characters a path must encode with care. */
function outTradeNo(prefix = 'CL'): string {
  sequence += 1;
  return `${prefix}*|${Date.now()}${String(sequence).padStart(3, '0')}`;
}

function nativeOrder(no: string, total = 100) {
  return {
    out_trade_no: no,
    description: 'client test',
    amount: { total },
    trade_type: 'NATIVE' as const,
    product_id: 'sku-1',
    scene_info: { payer_client_ip: '198.51.100.7' },
  };
}

describe('AppBackendClient on the local stack', () => {
  let stack: TestStack;
  let client: AppBackendClient;

  beforeAll(async () => {
    stack = await startTestStack();
    client = new AppBackendClient({ baseUrl: stack.gatewayUrl, region: stack.region, credentials: ANY_KEY });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('creates, pays (as the payer), reads, refunds and lists an order through typed calls', async () => {
    const no = outTradeNo();
    const created = await client.createOrder(nativeOrder(no));
    expect(created).toMatchObject({ out_trade_no: no, status: 'PENDING', trade_type: 'NATIVE' });
    expect(created.client).toMatchObject({ code_url: expect.stringMatching(/^weixin:\/\//) });

    const paid = await stack.simulator('POST', `/sandbox/orders/${encodeURIComponent(no)}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBeLessThan(300);
    const order = await waitFor(
      () => client.getOrder(no, { sync: true }),
      (o) => o.status === 'PAID',
    );
    expect(order.payment).toMatchObject({ amount: { total: 100, currency: 'CNY' } });
    expect(order.payment?.paid_at).toMatch(/(Z|[+-]\d{2}:\d{2})$/);

    const refundNo = `RF${Date.now()}`;
    const refund = await client.createRefund(no, { out_refund_no: refundNo, amount: { refund: 30 }, reason: 'one' });
    expect(refund).toMatchObject({
      out_refund_no: refundNo,
      out_trade_no: no,
      status: 'PROCESSING',
      amount: { refund: 30, total: 100, currency: 'CNY' },
    });
    // The same refund asked for again is the same refund (the API answers 200), not a second one.
    expect(await client.createRefund(no, { out_refund_no: refundNo, amount: { refund: 30 }, reason: 'one' })).toEqual(
      refund,
    );
    expect((await client.listRefunds(no)).refunds.map((r) => r.out_refund_no)).toEqual([refundNo]);
    expect(await client.getRefund(no, refundNo, { sync: true })).toMatchObject({ out_refund_no: refundNo });
    expect((await client.getOrder(no)).refund).toEqual({ refunded: 0, pending: 30, refundable: 70 });
  });

  it('pages through the events with after and limit', async () => {
    const no = outTradeNo('EV');
    await client.createOrder(nativeOrder(no, 1));
    await stack.simulator('POST', `/sandbox/orders/${encodeURIComponent(no)}/pay`, { result: 'SUCCESS' });
    const all = await waitFor(
      () => client.listEvents({ limit: 100 }),
      (page) => page.events.some((e) => e.type === 'payment.succeeded' && e.data.out_trade_no === no),
      // The log lists an event once it is 10 s old.
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    const first = await client.listEvents({ limit: 1 });
    expect(first.events).toHaveLength(1);
    expect(first.events[0]?.id).toBe(all.events[0]?.id);
    const second = await client.listEvents({ after: first.next, limit: 1 });
    expect(second.events.map((e) => e.id)).toEqual(all.events.slice(1, 2).map((e) => e.id));
  }, 60_000);

  it("throws the backend's error answers as AppBackendError with status, code and field", async () => {
    const unknown = await refusalOf(client.getOrder(outTradeNo('NF')));
    expect(unknown).toMatchObject({ status: 404, code: 'NOT_FOUND' });

    const invalid = await refusalOf(client.createOrder({ ...nativeOrder(outTradeNo('IV')), amount: { total: 0 } }));
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_REQUEST', field: 'amount.total' });

    const no = outTradeNo('CE');
    await client.createOrder(nativeOrder(no, 1));
    const early = await refusalOf(client.closeOrder(no));
    expect(early).toMatchObject({ status: 409, code: 'TOO_EARLY' });

    const refundUnpaid = await refusalOf(client.createRefund(no, { amount: { refund: 1 } }));
    expect(refundUnpaid).toMatchObject({ status: 409, code: 'ORDER_NOT_PAID' });
  });
});
