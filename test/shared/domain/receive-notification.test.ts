import { beforeEach, describe, expect, it } from 'vitest';
import type { Order } from '#shared/domain/order';
import { UNVERIFIED_RECORDED_PER_MINUTE, UNVERIFIED_SAMPLE_ONE_IN } from '#shared/domain/flood-sampler';
import type { NotificationRecord, TradeReport } from '#shared/domain/ports';
import { sha256, UNUSABLE_NOTIFICATION } from '#shared/domain/notification-receipts';
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
      bodySha256: sha256(raw.body),
      receivedAt: at(90),
      apiVersion: 'v3',
      body: raw.body,
      headers: { 'wechatpay-serial': 'PUB_KEY_ID_0114' },
      outcome: 'accepted',
      ...extra,
    };
  }

  describe('not proven WeChat’s (rejected by the codec)', () => {
    it('stores no body: only its hash, length, source and reason code, apart from the order it claims', async () => {
      const codec = new ScriptedCodec({
        kind: 'rejected',
        reason: 'signature does not verify <echo>',
        outTradeNo: pending.outTradeNo,
        code: 'BAD_SIGNATURE',
      });
      const forged = { ...raw, sourceIp: '198.51.100.7' };
      const result = await h.receiveNotification.execute(codec, forged);

      expect(result).toEqual({
        ok: false,
        refusal: 'unverified',
        reason: 'BAD_SIGNATURE',
        claimedOutTradeNo: pending.outTradeNo,
      });
      expect(codec.verified).toEqual([forged]);
      expect(h.store.unverifiedNotifications()).toEqual([
        {
          id: 'N0001',
          receivedAt: at(90),
          apiVersion: 'v3',
          reason: 'BAD_SIGNATURE',
          bodySha256: sha256(raw.body),
          bodyBytes: Buffer.byteLength(raw.body),
          sourceIp: '198.51.100.7',
        },
      ]);
      expect(h.store.unmatchedNotifications()).toEqual([]);
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('reports it as unverified traffic under the order it claims, never as a refused WeChat report', async () => {
      const codec = new ScriptedCodec({
        kind: 'rejected',
        reason: 'x'.repeat(5000),
        outTradeNo: pending.outTradeNo,
        code: 'UNREADABLE',
      });
      await h.receiveNotification.execute(codec, raw);
      expect(h.observer.rejections).toEqual([]);
      expect(h.observer.events).toEqual([
        {
          kind: 'unverified',
          reason: 'UNREADABLE',
          detail: {
            apiVersion: 'v3',
            bodyBytes: Buffer.byteLength(raw.body),
            bodySha256: sha256(raw.body),
            recorded: true,
            claimedOutTradeNo: pending.outTradeNo,
            detail: 'x'.repeat(200),
          },
        },
      ]);
      expect(JSON.stringify(h.observer.events)).not.toContain('"outTradeNo"');
    });

    it('traces a refusal coded UNVERIFIED (a verification out of time) under that code', async () => {
      const codec = new ScriptedCodec({ kind: 'rejected', reason: 'NOT_XML', code: 'UNVERIFIED' }, 'v2');
      const result = await h.receiveNotification.execute(codec, { headers: {}, body: 'garbage' });
      expect(result).toEqual({ ok: false, refusal: 'unverified', reason: 'UNVERIFIED' });
      expect(h.store.unverifiedNotifications()).toMatchObject([
        { apiVersion: 'v2', reason: 'UNVERIFIED', bodySha256: sha256('garbage'), bodyBytes: 7 },
      ]);
    });

    it('under a flood, records the first of each minute and then one in many, and counts every one', async () => {
      const codec = new ScriptedCodec({ kind: 'rejected', reason: 'bad', code: 'BAD_SIGNATURE' });
      const total = UNVERIFIED_RECORDED_PER_MINUTE + 3 * UNVERIFIED_SAMPLE_ONE_IN;
      for (let i = 0; i < total; i += 1) await h.receiveNotification.execute(codec, raw);
      expect(h.store.unverifiedNotifications()).toHaveLength(UNVERIFIED_RECORDED_PER_MINUTE + 3);
      expect(h.observer.events).toHaveLength(total);

      // A new minute starts a new allowance.
      h.clock.advance(60);
      await h.receiveNotification.execute(codec, raw);
      expect(h.store.unverifiedNotifications()).toHaveLength(UNVERIFIED_RECORDED_PER_MINUTE + 4);
    });

    it('refuses a body before any codec reads it (too large) the same way', async () => {
      const huge = { headers: {}, body: 'A'.repeat(40_000), sourceIp: '203.0.113.5' };
      const result = await h.receiveNotification.refuseUnread('v2', huge, 'TOO_LARGE');
      expect(result).toEqual({ ok: false, refusal: 'unverified', reason: 'TOO_LARGE' });
      expect(h.store.unverifiedNotifications()).toMatchObject([
        { reason: 'TOO_LARGE', bodyBytes: 40_000, sourceIp: '203.0.113.5', bodySha256: sha256(huge.body) },
      ]);
      expect(JSON.stringify(h.store.unverifiedNotifications())).not.toContain('AAAA');
    });
  });

  describe('proven WeChat’s but unusable (the signature verified; the content is not a trade we can apply)', () => {
    it('is kept whole under the order it names when that order is ours, and reported as rejected', async () => {
      const codec = new ScriptedCodec({
        kind: 'unusable',
        reason: 'unsupported fee_type USD',
        outTradeNo: pending.outTradeNo,
      });
      const result = await h.receiveNotification.execute(codec, raw);

      expect(result).toEqual({
        ok: false,
        refusal: 'unusable',
        reason: UNUSABLE_NOTIFICATION,
        outTradeNo: pending.outTradeNo,
      });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, {
          outTradeNo: pending.outTradeNo,
          outcome: 'rejected',
          reason: `${UNUSABLE_NOTIFICATION}: unsupported fee_type USD`,
        }),
      ]);
      expect(h.store.unverifiedNotifications()).toEqual([]);
      expect(h.observer.events).toEqual([
        { kind: 'rejected', reason: UNUSABLE_NOTIFICATION, outTradeNo: pending.outTradeNo, source: 'notify' },
      ]);
      expect(await h.store.get(pending.outTradeNo)).toEqual(pending);
    });

    it('is kept apart when it names no order of ours, or none at all', async () => {
      await h.receiveNotification.execute(
        new ScriptedCodec({ kind: 'unusable', reason: 'paid notification lacks transaction_id', outTradeNo: 'GHOST' }),
        raw,
      );
      const undecryptable = { ...raw, body: '{"id":"EV-2"}' };
      const result = await h.receiveNotification.execute(
        new ScriptedCodec({ kind: 'unusable', reason: `resource not decrypted: ${'x'.repeat(500)}` }),
        undecryptable,
      );

      expect(result).toEqual({ ok: false, refusal: 'unusable', reason: UNUSABLE_NOTIFICATION });
      expect(await h.store.listNotifications('GHOST')).toEqual([]);
      const apart = h.store.unmatchedNotifications();
      expect(apart.map((n) => [n.outTradeNo, n.body])).toEqual([
        [undefined, raw.body],
        [undefined, undecryptable.body],
      ]);
      // The codec's wording is kept with the body, shortened.
      expect(apart[1]?.reason?.length).toBeLessThanOrEqual(UNUSABLE_NOTIFICATION.length + 2 + 200);
      expect(h.observer.rejections).toEqual([UNUSABLE_NOTIFICATION, UNUSABLE_NOTIFICATION]);
      expect(h.observer.events.filter((e) => e.kind === 'unverified')).toEqual([]);
    });
  });

  describe('refused by the domain', () => {
    it('FOREIGN_MERCHANT: kept with the order it names, reported, nothing moved', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', { appid: 'wx-someone-else' });
      const result = await h.receiveNotification.execute(trade(report), raw);

      expect(result).toEqual({
        ok: false,
        refusal: 'refused',
        reason: 'FOREIGN_MERCHANT',
        outTradeNo: pending.outTradeNo,
      });
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
      expect(result).toEqual({ ok: false, refusal: 'refused', reason: 'UNKNOWN_ORDER', outTradeNo: 'GHOST' });
      expect(await h.store.listNotifications('GHOST')).toEqual([]);
      expect(h.store.unmatchedNotifications()).toEqual([
        kept(1, { outcome: 'rejected', reason: 'UNKNOWN_ORDER (out_trade_no GHOST)' }),
      ]);
      expect(await h.store.get('GHOST')).toBeUndefined();
      expect(h.observer.rejections).toEqual(['UNKNOWN_ORDER']);
    });

    it('UNKNOWN_ORDER: a failed payment for no order of ours too, though it moves nothing', async () => {
      const result = await h.receiveNotification.execute(trade(tradeReport('GHOST', 'PAYERROR')), raw);
      expect(result).toEqual({ ok: false, refusal: 'refused', reason: 'UNKNOWN_ORDER', outTradeNo: 'GHOST' });
      expect(h.store.unmatchedNotifications()).toHaveLength(1);
      expect(h.observer.rejections).toEqual(['UNKNOWN_ORDER']);
    });

    it('AMOUNT_MISMATCH: a payment of another amount than the order asks moves nothing', async () => {
      const report = tradeReport(pending.outTradeNo, 'SUCCESS', {
        amount: { total: 1, currency: 'CNY' },
        payment: paymentFacts(1),
      });
      const result = await h.receiveNotification.execute(trade(report), raw);

      expect(result).toEqual({
        ok: false,
        refusal: 'refused',
        reason: 'AMOUNT_MISMATCH',
        outTradeNo: pending.outTradeNo,
      });
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
      expect(result).toEqual({
        ok: false,
        refusal: 'refused',
        reason: 'MISSING_PAYMENT',
        outTradeNo: pending.outTradeNo,
      });
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

    it('duplicates are acknowledged as already done and stored once; the order moves once', async () => {
      const codec = trade(tradeReport(pending.outTradeNo, 'SUCCESS'));
      await h.receiveNotification.execute(codec, raw);
      h.clock.advance(15);
      const again = await h.receiveNotification.execute(codec, raw);
      h.clock.advance(15);
      const third = await h.receiveNotification.execute(codec, raw);

      expect(again).toMatchObject({ ok: true, outcome: { kind: 'already', order: { status: 'PAID' } } });
      expect(third).toMatchObject({ ok: true, outcome: { kind: 'already', order: { status: 'PAID' } } });
      // The one that paid, with the order; the first copy of it that changed nothing, once.
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
        kept(2, { outTradeNo: pending.outTradeNo, receivedAt: at(105) }),
      ]);
      const history = (await h.store.get(pending.outTradeNo))?.history ?? [];
      expect(history.filter((entry) => entry.to === 'PAID')).toHaveLength(1);
      expect(h.observer.events).toEqual([]);
    });

    it('a payment for a CLOSED order is kept on it as a late payment, reported, and acknowledged', async () => {
      const closed = orderFixture({ status: 'CLOSED', nextCheckAt: undefined, reason: 'closed unpaid' });
      await h.store.create(closed);
      const result = await h.receiveNotification.execute(trade(tradeReport(closed.outTradeNo, 'SUCCESS')), raw);

      const latePayment = {
        transactionId: paymentFacts().transactionId,
        amountTotal: 1999,
        currency: 'CNY',
        paidAt: paymentFacts().paidAt,
        receivedAt: at(90),
        source: 'notify',
      };
      const withLatePayment = { ...closed, latePayment };
      expect(result).toEqual({ ok: true, outcome: { kind: 'conflict', order: withLatePayment } });
      expect(await h.store.get(closed.outTradeNo)).toEqual(withLatePayment);
      expect(h.observer.events).toEqual([
        {
          kind: 'latePayment',
          outTradeNo: closed.outTradeNo,
          transactionId: paymentFacts().transactionId,
          amountTotal: 1999,
          source: 'notify',
        },
      ]);
      expect(await h.store.listNotifications(closed.outTradeNo)).toEqual([kept(1, { outTradeNo: closed.outTradeNo })]);

      // WeChat resends it until acknowledged: the first payment kept stays as it was.
      h.clock.advance(30);
      await h.receiveNotification.execute(trade(tradeReport(closed.outTradeNo, 'SUCCESS')), raw);
      expect(await h.store.get(closed.outTradeNo)).toEqual(withLatePayment);
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

    it('keeps each different body under its own id, with the headers the codec chose', async () => {
      const codec = trade(tradeReport(pending.outTradeNo, 'NOTPAY'));
      await h.receiveNotification.execute(codec, raw);
      await h.receiveNotification.execute(codec, { headers: { 'x-other': '1' }, body: 'again' });
      expect(await h.store.listNotifications(pending.outTradeNo)).toEqual([
        kept(1, { outTradeNo: pending.outTradeNo }),
        {
          id: 'N0002',
          bodySha256: sha256('again'),
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
