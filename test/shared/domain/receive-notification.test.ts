import { beforeEach, describe, expect, it } from 'vitest';
import type { Order } from '#shared/domain/order';
import type { NotificationRecord, TradeReport } from '#shared/domain/ports';
import { at, orderFixture } from '#test/helpers/order-fixtures';
import {
  paymentFacts,
  type PaymentHarness,
  paymentHarness,
  pendingOrder,
  rawNotification,
  ScriptedCodec,
  tradeReport,
} from '#test/helpers/payment-harness';

describe('ReceiveNotification', () => {
  let h: PaymentHarness;
  let pending: Order;
  const raw = rawNotification('{"id":"EV-1","resource":{}}');

  beforeEach(async () => {
    h = paymentHarness();
    pending = pendingOrder();
    await h.store.create(pending);
    h.clock.set(at(90));
  });

  function trade(report: TradeReport): ScriptedCodec {
    return new ScriptedCodec({ kind: 'trade', report });
  }

  /** The record the endpoint keeps of `raw`, as the n-th notification received. */
  function kept(n: number, extra: Partial<NotificationRecord>): NotificationRecord {
    return {
      id: `N${String(n).padStart(4, '0')}`,
      receivedAt: at(90),
      apiVersion: 'v3',
      body: raw.body,
      headers: { 'wechatpay-serial': 'PUB_KEY_ID_0114' },
      outcome: 'accepted',
      ...extra,
    };
  }

  describe('rejected by the codec', () => {
    it('keeps it apart from the order it claims, reports it, and answers a failure', async () => {
      const codec = new ScriptedCodec({ kind: 'rejected', reason: 'SIGNATURE', outTradeNo: pending.outTradeNo });
      const result = await h.receiveNotification.execute(codec, raw);

      expect(result).toEqual({ ok: false, reason: 'SIGNATURE', outTradeNo: pending.outTradeNo });
      expect(codec.verified).toEqual([raw]);
      expect(h.store.unmatchedNotifications()).toEqual([
        kept(1, { outcome: 'rejected', reason: `SIGNATURE (claims out_trade_no ${pending.outTradeNo})` }),
      ]);
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([]);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'SIGNATURE', outTradeNo: pending.outTradeNo, source: 'notify' },
      ]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('words the kept reason without a claim when none could be read', async () => {
      const codec = new ScriptedCodec({ kind: 'rejected', reason: 'NOT_XML' }, 'v2');
      const result = await h.receiveNotification.execute(codec, { headers: {}, body: 'garbage' });
      expect(result).toEqual({ ok: false, reason: 'NOT_XML', outTradeNo: undefined });
      expect(h.store.unmatchedNotifications()).toEqual([
        { id: 'N0001', receivedAt: at(90), apiVersion: 'v2', body: 'garbage', outcome: 'rejected', reason: 'NOT_XML' },
      ]);
    });
  });

  describe('refused by the domain', () => {
    it('FOREIGN_MERCHANT: kept with the order it names, reported, nothing moved', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', { appid: 'wx-someone-else' });
      const result = await h.receiveNotification.execute(trade(report), raw);

      expect(result).toEqual({ ok: false, reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, {
          outTradeNo: pending.outTradeNo,
          outcome: 'rejected',
          reason: `FOREIGN_MERCHANT (out_trade_no ${pending.outTradeNo})`,
        }),
      ]);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'FOREIGN_MERCHANT', outTradeNo: pending.outTradeNo, source: 'notify' },
      ]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('UNKNOWN_ORDER: a payment for no order of ours is kept apart, so a later order starts clean', async () => {
      const result = await h.receiveNotification.execute(trade(tradeReport('GHOST', 'SUCCESS')), raw);
      expect(result).toEqual({ ok: false, reason: 'UNKNOWN_ORDER', outTradeNo: 'GHOST' });
      expect(await h.store.listNotifications('GHOST')).toEqual([]);
      expect(h.store.unmatchedNotifications()).toEqual([
        kept(1, { outcome: 'rejected', reason: 'UNKNOWN_ORDER (out_trade_no GHOST)' }),
      ]);
      expect(await h.store.get('GHOST')).toBeUndefined();
      expect(h.observer.rejections).toEqual(['UNKNOWN_ORDER']);
    });

    it('UNKNOWN_ORDER: a failed payment for no order of ours too, though it moves nothing', async () => {
      const result = await h.receiveNotification.execute(trade(tradeReport('GHOST', 'PAYERROR')), raw);
      expect(result).toEqual({ ok: false, reason: 'UNKNOWN_ORDER', outTradeNo: 'GHOST' });
      expect(h.store.unmatchedNotifications()).toHaveLength(1);
      expect(h.observer.rejections).toEqual(['UNKNOWN_ORDER']);
    });

    it('AMOUNT_MISMATCH: a payment of another amount than the order asks moves nothing', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', {
        amount: { total: 1, currency: 'CNY' },
        payment: paymentFacts(1),
      });
      const result = await h.receiveNotification.execute(trade(report), raw);

      expect(result).toEqual({ ok: false, reason: 'AMOUNT_MISMATCH', outTradeNo: pending.outTradeNo });
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, {
          outTradeNo: pending.outTradeNo,
          outcome: 'rejected',
          reason: `AMOUNT_MISMATCH (out_trade_no ${pending.outTradeNo})`,
        }),
      ]);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'AMOUNT_MISMATCH', outTradeNo: pending.outTradeNo, source: 'notify' },
      ]);
    });

    it('AMOUNT_MISMATCH: a report that disagrees with itself is refused before the order is touched', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', { amount: { total: 1999, currency: 'CNY' } });
      report.payment = paymentFacts(1998);
      const result = await h.receiveNotification.execute(trade(report), raw);
      expect(result).toMatchObject({ ok: false, reason: 'AMOUNT_MISMATCH' });
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('MISSING_PAYMENT: a success without payment facts moves nothing', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', { payment: undefined });
      const result = await h.receiveNotification.execute(trade(report), raw);
      expect(result).toEqual({ ok: false, reason: 'MISSING_PAYMENT', outTradeNo: pending.outTradeNo });
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
      expect(await h.store.listNotifications(pending.outTradeNo)).toMatchObject([
        { outcome: 'rejected', reason: `MISSING_PAYMENT (out_trade_no ${pending.outTradeNo})` },
      ]);
      expect(h.observer.rejections).toEqual(['MISSING_PAYMENT']);
    });
  });

  describe('accepted', () => {
    it('a payment moves the order to PAID and stores the notification with it, once', async () => {
      const result = await h.receiveNotification.execute(trade(tradeReport(pending.outTradeNo, 'SUCCESS')), raw);

      expect(result).toMatchObject({ ok: true, outcome: { kind: 'applied', order: { status: 'PAID' } } });
      const stored = await h.store.get(pending.outTradeNo);
      expect(stored).toMatchObject({ status: 'PAID', payment: paymentFacts(), updatedAt: at(90) });
      expect(stored?.history.at(-1)).toEqual({ at: at(90), from: 'PENDING', to: 'PAID', source: 'notify' });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
      ]);
      expect(h.observer.events).toEqual([]);
    });

    it('a duplicate is acknowledged as already done and stored too; the order moves once', async () => {
      const codec = trade(tradeReport(pending.outTradeNo, 'SUCCESS'));
      await h.receiveNotification.execute(codec, raw);
      h.clock.advance(15);
      const again = await h.receiveNotification.execute(codec, raw);

      expect(again).toMatchObject({ ok: true, outcome: { kind: 'already', order: { status: 'PAID' } } });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
        kept(2, { outTradeNo: pending.outTradeNo, receivedAt: at(105) }),
      ]);
      const history = (await h.store.get(pending.outTradeNo))?.history ?? [];
      expect(history.filter((entry) => entry.to === 'PAID')).toHaveLength(1);
      expect(h.observer.events).toEqual([]);
    });

    it('PAID_AFTER_FINAL: a payment for a closed order is observed, stored and acknowledged', async () => {
      const closed = orderFixture({ status: 'CLOSED', nextCheckAt: undefined, reason: 'closed unpaid' });
      await h.store.create(closed);
      const result = await h.receiveNotification.execute(trade(tradeReport(closed.outTradeNo, 'SUCCESS')), raw);

      expect(result).toEqual({ ok: true, outcome: { kind: 'conflict', order: closed } });
      expect(await h.store.get(closed.outTradeNo)).toEqual(closed);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: 'PAID_AFTER_FINAL', outTradeNo: closed.outTradeNo, source: 'notify' },
      ]);
      expect(await h.store.listNotifications(closed.outTradeNo)).toEqual([kept(1, { outTradeNo: closed.outTradeNo })]);
    });

    it('PAYERROR moves nothing: the payer may still pay; the notification is stored', async () => {
      const report = tradeReport(pending.outTradeNo, 'PAYERROR', { description: 'bank refused' });
      const result = await h.receiveNotification.execute(trade(report), raw);

      expect(result).toEqual({ ok: true, outcome: { kind: 'unchanged', order: pending } });
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
      ]);
      expect(h.observer.events).toEqual([]);
    });

    it('a close reported by WeChat closes the order here, with WeChat’s words, notification kept', async () => {
      const report = tradeReport(pending.outTradeNo, 'CLOSED', { description: '订单已关闭' });
      const result = await h.receiveNotification.execute(trade(report), raw);
      expect(result).toMatchObject({ ok: true, outcome: { kind: 'applied', order: { status: 'CLOSED' } } });
      expect(await h.store.get(pending.outTradeNo)).toMatchObject({ status: 'CLOSED', reason: '订单已关闭' });
      expect(await h.store.listNotifications(pending.outTradeNo)).toHaveLength(1);
    });

    it('keeps each receipt under its own id, and the headers the codec chose', async () => {
      const codec = trade(tradeReport(pending.outTradeNo, 'NOTPAY'));
      await h.receiveNotification.execute(codec, raw);
      await h.receiveNotification.execute(codec, { headers: { 'x-other': '1' }, body: 'again' });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
        {
          id: 'N0002',
          receivedAt: at(90),
          apiVersion: 'v3',
          body: 'again',
          outTradeNo: pending.outTradeNo,
          outcome: 'accepted',
        },
      ]);
    });
  });
});
