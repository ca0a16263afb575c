import { expect, it } from 'vitest';

import type { TestStack } from './local-stack';
import {
  completeAtWechat,
  paidOrder,
  postRefundNotification,
  refundSummary,
  refundsAtWechat,
  refundView,
  requestRefund,
  storedRefund,
  uniqueNo,
  v2RefundFields,
  v2RefundNotificationBody,
  v2ReqInfo,
  v3RefundNotification,
  v3RefundResource,
  waitForAcceptance,
  waitForRefundStatus,
} from './refund-e2e';
import type { Refund } from '#shared/domain/refund';

/**
 * The refund scenarios both API versions must pass end to end (the "Done when"), registered
 * into the calling describe block. `stack()` is the suite's running stack; the version-specific ones
 * (forged req_info, bad signatures, the missing certificate) stay in their own files.
 */
export function commonRefundScenarios(stack: () => TestStack): void {
  /** A genuine SUCCESS notification of the stored refund, in the stack's API version. */
  const genuineNotification = (
    refund: Refund,
    transactionId: string,
  ): { body: string; headers: Record<string, string> } => {
    const s = stack();
    if (s.platformKey !== undefined) {
      return v3RefundNotification(s, v3RefundResource(refund, transactionId, s.settings.WECHATPAY_MCHID ?? ''));
    }
    const apiKey = s.settings.WECHATPAY_API_KEY ?? '';
    return {
      body: v2RefundNotificationBody(v2ReqInfo(v2RefundFields(refund, transactionId), apiKey)),
      headers: { 'content-type': 'text/xml' },
    };
  };

  it('refunds part of an order and then the rest, each SUCCESS by its notification; the order stays PAID', async () => {
    const order = await paidOrder(stack(), 100);
    const first = uniqueNo('RFA');
    const created = await requestRefund(stack(), order.outTradeNo, {
      out_refund_no: first,
      amount: { refund: 30 },
      reason: 'one cup returned',
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({
      out_refund_no: first,
      out_trade_no: order.outTradeNo,
      status: 'PROCESSING',
      amount: { refund: 30, total: 100, currency: 'CNY' },
      reason: 'one cup returned',
    });
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 0, pending: 30, refundable: 70 });

    await waitForAcceptance(stack(), order.outTradeNo, first);
    await completeAtWechat(stack(), first);
    const done = await waitForRefundStatus(stack(), order.outTradeNo, first, 'SUCCESS');
    expect(done.history.filter((h) => h.to === 'SUCCESS')).toEqual([expect.objectContaining({ source: 'notify' })]);
    const view = await refundView(stack(), order.outTradeNo, first);
    expect(view.json).toMatchObject({ status: 'SUCCESS', refund_id: expect.any(String) });
    expect(Date.parse(String(view.json.success_time))).not.toBeNaN();
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 30, pending: 0, refundable: 70 });

    const rest = uniqueNo('RFB');
    expect(
      (await requestRefund(stack(), order.outTradeNo, { out_refund_no: rest, amount: { refund: 70 } })).status,
    ).toBe(201);
    await waitForAcceptance(stack(), order.outTradeNo, rest);
    await completeAtWechat(stack(), rest);
    await waitForRefundStatus(stack(), order.outTradeNo, rest, 'SUCCESS');

    const orderView = await stack().api('GET', `/orders/${order.outTradeNo}`);
    expect(orderView.json).toMatchObject({ status: 'PAID', refund: { refunded: 100, pending: 0, refundable: 0 } });
    const list = await stack().api('GET', `/orders/${order.outTradeNo}/refunds`);
    expect(
      (list.json.refunds as Array<{ out_refund_no: string; status: string }>).map((r) => [r.out_refund_no, r.status]),
    ).toEqual([
      [first, 'SUCCESS'],
      [rest, 'SUCCESS'],
    ]);
    const more = await requestRefund(stack(), order.outTradeNo, { amount: { refund: 1 } });
    expect(more.status).toBe(409);
    expect(more.json).toMatchObject({ error: { code: 'REFUND_AMOUNT_EXCEEDED' } });
  });

  it('refunds a whole order in one refund', async () => {
    const order = await paidOrder(stack(), 88);
    const no = uniqueNo('RFW');
    expect((await requestRefund(stack(), order.outTradeNo, { out_refund_no: no, amount: { refund: 88 } })).status).toBe(
      201,
    );
    await waitForAcceptance(stack(), order.outTradeNo, no);
    await completeAtWechat(stack(), no);
    await waitForRefundStatus(stack(), order.outTradeNo, no, 'SUCCESS');
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 88, pending: 0, refundable: 0 });
  });

  it('answers a retry with the same refund, and refuses other content under the same out_refund_no', async () => {
    const order = await paidOrder(stack(), 100);
    const no = uniqueNo('RFI');
    const body = { out_refund_no: no, amount: { refund: 40 }, reason: 'size' };
    const first = await requestRefund(stack(), order.outTradeNo, body);
    expect(first.status, first.text).toBe(201);
    const again = await Promise.all([1, 2, 3].map(() => requestRefund(stack(), order.outTradeNo, body)));
    for (const answer of again) {
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toMatchObject({
        out_refund_no: no,
        created_at: first.json.created_at,
        amount: first.json.amount,
      });
    }
    for (const other of [
      { ...body, amount: { refund: 41 } },
      { ...body, reason: 'colour' },
    ]) {
      const refused = await requestRefund(stack(), order.outTradeNo, other);
      expect(refused.status).toBe(409);
      expect(refused.json).toMatchObject({ error: { code: 'OUT_REFUND_NO_USED' } });
    }
    // Counted once, whatever the retries, and asked of WeChat once.
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 0, pending: 40, refundable: 60 });
    expect(await refundsAtWechat(stack(), order.outTradeNo)).toEqual([expect.objectContaining({ out_refund_no: no })]);
    expect(((await stack().api('GET', `/orders/${order.outTradeNo}/refunds`)).json.refunds as unknown[]).length).toBe(
      1,
    );
  });

  it('applies 20 concurrent copies of one refund notification exactly once', async () => {
    const order = await paidOrder(stack(), 100);
    const no = uniqueNo('RFD');
    expect((await requestRefund(stack(), order.outTradeNo, { out_refund_no: no, amount: { refund: 50 } })).status).toBe(
      201,
    );
    const accepted = await waitForAcceptance(stack(), order.outTradeNo, no);
    const { body, headers } = genuineNotification(accepted, order.transactionId);

    const replies = await Promise.all(Array.from({ length: 20 }, () => postRefundNotification(stack(), body, headers)));
    expect(replies.map((r) => r.ok)).toEqual(Array(20).fill(true));

    const refund = await storedRefund(stack(), order.outTradeNo, no);
    expect(refund?.status).toBe('SUCCESS');
    expect(refund?.history.filter((h) => h.to === 'SUCCESS')).toHaveLength(1);
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 50, pending: 0, refundable: 50 });
    // The notification that changed it is kept once, however often it came.
    expect(await stack().refundStore.refundNotifications(order.outTradeNo, no)).toHaveLength(1);
  });

  it('ends SUCCESS by reconciliation when the refund notification is dropped', async () => {
    const order = await paidOrder(stack(), 100);
    const no = uniqueNo('RFR');
    await stack().simulator('POST', '/sandbox/faults', { notify: 'drop', out_trade_no: order.outTradeNo });
    expect((await requestRefund(stack(), order.outTradeNo, { out_refund_no: no, amount: { refund: 25 } })).status).toBe(
      201,
    );
    await waitForAcceptance(stack(), order.outTradeNo, no);
    await completeAtWechat(stack(), no);
    const refund = await waitForRefundStatus(stack(), order.outTradeNo, no, 'SUCCESS', 30_000);
    expect(refund.history.filter((h) => h.to === 'SUCCESS')).toEqual([
      expect.objectContaining({ source: 'reconcile' }),
    ]);
    expect(await stack().refundStore.refundNotifications(order.outTradeNo, no)).toEqual([]);
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 25, pending: 0, refundable: 75 });
  }, 40_000);

  it('refuses an over-refund, and of 15 concurrent refunds of 60% accepts exactly one', async () => {
    const order = await paidOrder(stack(), 100);
    const over = await requestRefund(stack(), order.outTradeNo, { amount: { refund: 101 } });
    expect(over.status).toBe(409);
    expect(over.json).toMatchObject({ error: { code: 'REFUND_AMOUNT_EXCEEDED' } });

    const answers = await Promise.all(
      Array.from({ length: 15 }, () =>
        requestRefund(stack(), order.outTradeNo, { out_refund_no: uniqueNo('RFC'), amount: { refund: 60 } }),
      ),
    );
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, ...Array(14).fill(409)]);
    for (const refused of answers.filter((a) => a.status === 409)) {
      expect(refused.json).toMatchObject({ error: { code: 'REFUND_AMOUNT_EXCEEDED' } });
    }
    const refunds = (await stack().api('GET', `/orders/${order.outTradeNo}/refunds`)).json.refunds as Array<{
      out_refund_no: string;
    }>;
    expect(refunds).toHaveLength(1);
    expect(refunds[0]?.out_refund_no).toBe(answers.find((a) => a.status === 201)?.json.out_refund_no);
    expect(await refundSummary(stack(), order.outTradeNo)).toEqual({ refunded: 0, pending: 60, refundable: 40 });
    // The refused ones were refused by the write, before WeChat was called.
    expect((await refundsAtWechat(stack(), order.outTradeNo)).map((r) => r.out_refund_no)).toEqual([
      refunds[0]?.out_refund_no,
    ]);
  });
}
