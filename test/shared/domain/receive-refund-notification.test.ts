import { beforeEach, describe, expect, it } from 'vitest';

import type { NotificationRecord } from '#shared/domain/ports';
import { sha256, UNUSABLE_NOTIFICATION } from '#shared/domain/notification-receipts';
import type { Refund, RefundReport } from '#shared/domain/refund';
import { at } from '#test/helpers/order-fixtures';
import { rawNotification } from '#test/helpers/payment-harness';
import {
  paidOrder,
  type RefundHarness,
  refundHarness,
  refundReport,
  ScriptedRefundCodec,
} from '#test/helpers/refund-harness';

describe('ReceiveRefundNotification', () => {
  let h: RefundHarness;
  let refund: Refund;
  const raw = rawNotification('{"id":"EV-R1","event_type":"REFUND.SUCCESS","resource":{}}');

  beforeEach(async () => {
    h = refundHarness();
    const order = paidOrder();
    await h.orders.create(order);
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    refund = (await h.createRefund.execute({ outTradeNo: order.outTradeNo, outRefundNo: 'RF0001', refund: 500 }))
      .refund;
    h.clock.advance(90);
  });

  const stored = () => h.refunds.getRefund(refund.outTradeNo, refund.outRefundNo);
  const codecFor = (report: RefundReport) => new ScriptedRefundCodec({ kind: 'refund', report });

  function kept(n: number, extra: Partial<NotificationRecord>): NotificationRecord {
    return {
      id: `N${String(n).padStart(4, '0')}`,
      bodySha256: sha256(raw.body),
      receivedAt: at(3690),
      apiVersion: 'v3',
      body: raw.body,
      headers: { 'wechatpay-serial': 'PUB_KEY_ID_0114' },
      outcome: 'accepted',
      ...extra,
    };
  }

  it('applies a SUCCESS and stores the notification with the change, before answering ok', async () => {
    const result = await h.receiveRefundNotification.execute(codecFor(refundReport(refund, 'SUCCESS')), raw);

    expect(result).toMatchObject({ ok: true, outcome: { kind: 'applied', refund: { status: 'SUCCESS' } } });
    expect(h.refunds.refundNotifications(refund.outTradeNo, refund.outRefundNo)).toEqual([
      kept(1, { outTradeNo: refund.outTradeNo }),
    ]);
    expect((await h.orders.get(refund.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('answers ok to a duplicate and keeps it once, beside the one that made the change', async () => {
    const codec = codecFor(refundReport(refund, 'SUCCESS'));
    await h.receiveRefundNotification.execute(codec, raw);
    for (let i = 0; i < 3; i += 1) {
      expect(await h.receiveRefundNotification.execute(codec, raw)).toMatchObject({
        ok: true,
        outcome: { kind: 'duplicate' },
      });
    }
    expect(await h.orders.listNotifications(refund.outTradeNo)).toEqual([kept(2, { outTradeNo: refund.outTradeNo })]);
    expect((await stored())?.history.map((e) => e.to)).toEqual(['PROCESSING', 'SUCCESS']);
  });

  it('of 20 identical notifications at once, makes one transition and answers every one ok', async () => {
    const codec = codecFor(refundReport(refund, 'SUCCESS'));
    const results = await Promise.all(
      Array.from({ length: 20 }, () => h.receiveRefundNotification.execute(codec, raw)),
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.filter((r) => r.ok && r.outcome.kind === 'applied')).toHaveLength(1);
    expect((await stored())?.history.map((e) => e.to)).toEqual(['PROCESSING', 'SUCCESS']);
    expect((await h.orders.get(refund.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
  });

  it('reports an ABNORMAL refund once however often it is notified', async () => {
    const codec = codecFor(refundReport(refund, 'ABNORMAL'));
    await Promise.all(Array.from({ length: 4 }, () => h.receiveRefundNotification.execute(codec, raw)));
    expect(h.observer.events).toEqual([
      { kind: 'refundAbnormal', outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo },
    ]);
  });

  it.each([
    ['another amount', { amount: { refund: 1999, total: 1999 } }, 'AMOUNT_MISMATCH'],
    ['another refund_id', { refundId: '5000000000000000000000000001' }, 'REFUND_ID_MISMATCH'],
    ['another merchant', { mchid: '1900000109' }, 'FOREIGN_MERCHANT'],
  ] as const)(
    'refuses a report with %s: kept under its order, reported, nothing changed, not ok',
    async (_, overrides, reason) => {
      const before = await stored();
      const result = await h.receiveRefundNotification.execute(
        codecFor(refundReport(refund, 'SUCCESS', overrides)),
        raw,
      );

      expect(result).toEqual({
        ok: false,
        refusal: 'refused',
        reason,
        outTradeNo: refund.outTradeNo,
        outRefundNo: refund.outRefundNo,
      });
      expect(await stored()).toEqual(before);
      expect((await h.orders.get(refund.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
      expect(h.observer.refundRejections).toEqual([reason]);
      expect(await h.orders.listNotifications(refund.outTradeNo)).toEqual([
        kept(1, {
          outTradeNo: refund.outTradeNo,
          outcome: 'rejected',
          reason: `${reason} (out_trade_no ${refund.outTradeNo}, out_refund_no RF0001)`,
        }),
      ]);
    },
  );

  it('keeps a report naming no order of ours apart from every order', async () => {
    const result = await h.receiveRefundNotification.execute(
      codecFor(refundReport({ ...refund, outTradeNo: 'T-not-ours' }, 'SUCCESS')),
      raw,
    );
    expect(result).toMatchObject({ ok: false, refusal: 'refused', reason: 'UNKNOWN_REFUND' });
    expect(h.orders.unmatchedNotifications()).toEqual([
      kept(1, { outcome: 'rejected', reason: 'UNKNOWN_REFUND (out_trade_no T-not-ours, out_refund_no RF0001)' }),
    ]);
  });

  it('keeps an unknown refund of an order of ours under that order', async () => {
    await h.receiveRefundNotification.execute(
      codecFor(refundReport({ ...refund, outRefundNo: 'RF-x' }, 'SUCCESS')),
      raw,
    );
    expect(await h.orders.listNotifications(refund.outTradeNo)).toMatchObject([
      { outcome: 'rejected', reason: expect.stringMatching(/^UNKNOWN_REFUND/) },
    ]);
  });

  it('stores nothing of a notification whose req_info our key does not decrypt: traces only', async () => {
    const codec = new ScriptedRefundCodec(
      { kind: 'rejected', code: 'UNDECRYPTABLE', reason: 'req_info does not decrypt', outTradeNo: refund.outTradeNo },
      'v2',
    );
    const forged = { ...raw, sourceIp: '198.51.100.7' };
    const result = await h.receiveRefundNotification.execute(codec, forged);

    expect(result).toEqual({
      ok: false,
      refusal: 'unverified',
      reason: 'UNDECRYPTABLE',
      claimedOutTradeNo: refund.outTradeNo,
    });
    expect(h.orders.unverifiedNotifications()).toEqual([
      {
        id: 'N0001',
        receivedAt: at(3690),
        apiVersion: 'v2',
        reason: 'UNDECRYPTABLE',
        bodySha256: sha256(raw.body),
        bodyBytes: Buffer.byteLength(raw.body),
        sourceIp: '198.51.100.7',
      },
    ]);
    expect(h.observer.events).toMatchObject([{ kind: 'unverified', reason: 'UNDECRYPTABLE' }]);
    expect(await h.orders.listNotifications(refund.outTradeNo)).toEqual([]);
    expect(h.orders.unmatchedNotifications()).toEqual([]);
    expect(await stored()).toMatchObject({ status: 'PROCESSING' });
  });

  it('keeps and reports WeChat’s own message that cannot be read as a refund report', async () => {
    const codec = new ScriptedRefundCodec({
      kind: 'unusable',
      reason: 'unknown event_type REFUND.SOMETHING',
      outTradeNo: refund.outTradeNo,
    });
    const result = await h.receiveRefundNotification.execute(codec, raw);

    expect(result).toEqual({
      ok: false,
      refusal: 'unusable',
      reason: UNUSABLE_NOTIFICATION,
      outTradeNo: refund.outTradeNo,
    });
    expect(h.observer.refundRejections).toEqual([UNUSABLE_NOTIFICATION]);
    expect(await h.orders.listNotifications(refund.outTradeNo)).toEqual([
      kept(1, {
        outTradeNo: refund.outTradeNo,
        outcome: 'rejected',
        reason: `${UNUSABLE_NOTIFICATION}: unknown event_type REFUND.SOMETHING`,
      }),
    ]);
  });

  it('traces an oversized body refused unread', async () => {
    const result = await h.receiveRefundNotification.refuseUnread('v3', raw, 'TOO_LARGE');
    expect(result).toEqual({ ok: false, refusal: 'unverified', reason: 'TOO_LARGE' });
    expect(h.orders.unverifiedNotifications()).toMatchObject([{ reason: 'TOO_LARGE', apiVersion: 'v3' }]);
  });
});
