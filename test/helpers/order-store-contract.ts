import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { ValidationError } from '#shared/domain/errors';
import { planTransition } from '#shared/domain/lifecycle';
import { ORDER_STATUSES } from '#shared/domain/order';
import type { LatePayment, OrderStatus, PaymentFacts, Prepay } from '#shared/domain/order';
import type { NotificationRecord, OrderStore, TransitionCommand, UnverifiedNotification } from '#shared/domain/ports';
import { sha256 } from '#shared/domain/notification-receipts';
import { at, orderFixture, tradeNo } from '#test/helpers/order-fixtures';

/**
 * What every OrderStore must do, as the domain relies on it. It runs against the DynamoDB store on
 * DynamoDB Local (integration tier) and against the in-memory store (unit tier), so the test double
 * cannot drift from the real thing. `newStore` gives an empty store: the due index spans a whole store.
 */
export function orderStoreContract(name: string, newStore: () => Promise<OrderStore>): void {
  describe(`${name} keeps the OrderStore contract`, () => {
    let store: OrderStore;

    beforeAll(async () => {
      store = await newStore();
    });

    describe('create and get', () => {
      it('stores a new order and reads it back as it was', async () => {
        const created = order({ reason: undefined, prepay: undefined });
        const result = await store.create(created);
        expect(result).toEqual({ kind: 'created', order: created });
        expect(await store.get(created.outTradeNo)).toEqual(created);
      });

      it('refuses a second order with the same out_trade_no and returns the stored one unchanged', async () => {
        const first = order();
        await store.create(first);
        const second = { ...first, requestHash: 'x'.repeat(64), request: { ...first.request, description: 'Coffee' } };
        const result = await store.create(second);
        expect(result).toEqual({ kind: 'exists', order: first });
        expect(await store.get(first.outTradeNo)).toEqual(first);
      });

      it('returns undefined for an unknown order', async () => {
        expect(await store.get(tradeNo())).toBeUndefined();
      });

      it('keeps identifiers as exact strings: leading zeros and 28-digit transaction ids', async () => {
        const outTradeNo = '000123';
        const zeroes = order({ outTradeNo, status: 'PENDING', request: { ...order().request, outTradeNo } });
        await store.create(zeroes);
        await store.transition(command(outTradeNo, 'PAID', { payment }));
        const stored = await store.get(outTradeNo);
        expect(stored?.outTradeNo).toBe(outTradeNo);
        expect(stored?.request.outTradeNo).toBe(outTradeNo);
        expect(stored?.payment?.transactionId).toBe('4200001234567890123456789012');
        expect(stored?.payment?.amountTotal).toBe(1999);
      });

      it('hands out copies: changing what it was given or what it returned changes nothing stored', async () => {
        const given = order();
        const created = await store.create(given);
        given.status = 'PAID';
        given.request.amount.total = 1;
        created.order.history.push({ at: at(1), from: 'CREATED', to: 'CLOSED', source: 'close' });
        const read = await store.get(given.outTradeNo);
        if (!read) throw new Error('stored order missing');
        read.request.description = 'changed';
        const again = await store.get(given.outTradeNo);
        expect(again).toMatchObject({ status: 'CREATED', request: { amount: { total: 1999 } } });
        expect(again?.request.description).toBe('Tea, 2 cups');
        expect(again?.history).toHaveLength(1);
      });
    });

    describe('transition', () => {
      const cases = ORDER_STATUSES.flatMap((from) => ORDER_STATUSES.map((to) => [from, to] as const));
      const expectedKind = { apply: 'applied', already: 'already', conflict: 'conflict' } as const;

      it.each(cases)('%s → %s gives the result the lifecycle says', async (from, to) => {
        const before = order({ status: from });
        await store.create(before);
        const result = await store.transition(command(before.outTradeNo, to));
        const kind = expectedKind[planTransition(from, to)];
        expect(result.kind).toBe(kind);
        const after = await store.get(before.outTradeNo);
        expect(result).toEqual({ kind, order: after });
        if (kind === 'applied') {
          expect(after?.status).toBe(to);
          expect(after?.updatedAt).toBe(at(100));
          expect(after?.history).toHaveLength(before.history.length + 1);
        } else {
          // Refused or already done: nothing was written.
          expect(after).toEqual(before);
        }
      });

      it('reports not_found for an unknown order, whatever the target, and creates no order', async () => {
        for (const to of ORDER_STATUSES) {
          const outTradeNo = tradeNo();
          expect(await store.transition(command(outTradeNo, to, { payment }))).toEqual({ kind: 'not_found' });
          expect(await store.get(outTradeNo)).toBeUndefined();
        }
      });

      it('records the facts that come with a transition', async () => {
        const created = order();
        await store.create(created);
        const pending = await store.transition(
          command(created.outTradeNo, 'PENDING', { prepay: prepay('wx2014'), nextCheckAt: at(300), source: 'api' }),
        );
        expect(pending).toMatchObject({
          kind: 'applied',
          order: { status: 'PENDING', prepay: prepay('wx2014'), nextCheckAt: at(300) },
        });

        const closed = await store.transition(
          command(created.outTradeNo, 'CLOSED', { reason: 'expired unpaid', source: 'reconcile', at: at(7300) }),
        );
        expect(closed).toMatchObject({
          kind: 'applied',
          order: { status: 'CLOSED', reason: 'expired unpaid', prepay: prepay('wx2014'), updatedAt: at(7300) },
        });

        const paid = order({ status: 'PENDING' });
        await store.create(paid);
        const result = await store.transition(command(paid.outTradeNo, 'PAID', { payment }));
        expect(result).toMatchObject({ kind: 'applied', order: { status: 'PAID', payment } });
        expect(await store.get(paid.outTradeNo)).toMatchObject({ payment });
      });

      it('keeps the next check of an open order when the transition names none', async () => {
        const created = order({ nextCheckAt: at(60) });
        await store.create(created);
        const failed = await store.transition(command(created.outTradeNo, 'FAILED'));
        expect(failed).toMatchObject({ kind: 'applied', order: { status: 'FAILED', nextCheckAt: at(60) } });
      });

      it('appends one history entry per applied transition, each naming the state it left', async () => {
        const created = order();
        await store.create(created);
        await store.transition(command(created.outTradeNo, 'PENDING', { source: 'api', at: at(1) }));
        await store.transition(
          command(created.outTradeNo, 'FAILED', { source: 'notify', at: at(2), note: 'PAYERROR' }),
        );
        await store.transition(command(created.outTradeNo, 'FAILED', { source: 'notify', at: at(3) }));
        await store.transition(command(created.outTradeNo, 'PAID', { source: 'reconcile', at: at(4), payment }));
        await store.transition(command(created.outTradeNo, 'CLOSED', { source: 'close', at: at(5) }));

        expect((await store.get(created.outTradeNo))?.history).toEqual([
          { at: at(0), from: null, to: 'CREATED', source: 'api' },
          { at: at(1), from: 'CREATED', to: 'PENDING', source: 'api' },
          { at: at(2), from: 'PENDING', to: 'FAILED', source: 'notify', note: 'PAYERROR' },
          { at: at(4), from: 'FAILED', to: 'PAID', source: 'reconcile' },
        ]);
      });

      it('fills in the state an entry left from the entry before it, null for the first', async () => {
        const bare = order({ history: [] });
        await store.create(bare);
        await store.transition(command(bare.outTradeNo, 'PENDING', { at: at(1) }));
        await store.transition(command(bare.outTradeNo, 'PAID', { at: at(2), payment }));
        expect((await store.get(bare.outTradeNo))?.history).toEqual([
          { at: at(1), from: null, to: 'PENDING', source: 'notify' },
          { at: at(2), from: 'PENDING', to: 'PAID', source: 'notify' },
        ]);
      });

      it('drops the next check of an order it settles, whatever the command says', async () => {
        const created = order();
        await store.create(created);
        await store.transition(command(created.outTradeNo, 'PENDING', { nextCheckAt: at(600) }));
        expect((await store.get(created.outTradeNo))?.nextCheckAt).toBe(at(600));

        const paid = await store.transition(command(created.outTradeNo, 'PAID', { payment, nextCheckAt: at(900) }));
        expect(paid.kind === 'applied' && paid.order.nextCheckAt).toBeUndefined();
        expect((await store.get(created.outTradeNo))?.nextCheckAt).toBeUndefined();
      });

      it('applies exactly one of 50 concurrent identical transitions and tells every caller it succeeded', async () => {
        const pending = order({ status: 'PENDING' });
        await store.create(pending);

        const results = await Promise.all(
          Array.from({ length: 50 }, () => store.transition(command(pending.outTradeNo, 'PAID', { payment }))),
        );

        const kinds = results.map((result) => result.kind);
        expect(kinds.filter((kind) => kind === 'applied')).toHaveLength(1);
        expect(kinds.filter((kind) => kind === 'already')).toHaveLength(49);
        for (const result of results) {
          expect(result.kind !== 'not_found' && result.order.status).toBe('PAID');
        }
        const history = (await store.get(pending.outTradeNo))?.history ?? [];
        expect(history.filter((entry) => entry.to === 'PAID')).toHaveLength(1);
      });

      it('lets exactly one of two concurrent conflicting transitions win', async () => {
        const pending = order({ status: 'PENDING' });
        await store.create(pending);
        const [paid, closed] = await Promise.all([
          store.transition(command(pending.outTradeNo, 'PAID', { payment })),
          store.transition(command(pending.outTradeNo, 'CLOSED', { reason: 'closed unpaid' })),
        ]);
        const final = await store.get(pending.outTradeNo);
        expect([paid.kind, closed.kind].sort()).toEqual(['applied', 'conflict']);
        expect(final?.status).toBe(paid.kind === 'applied' ? 'PAID' : 'CLOSED');
      });
    });

    describe('a payment of the amount asked', () => {
      it('applies when the order asks for exactly that amount', async () => {
        const pending = order({ status: 'PENDING' });
        await store.create(pending);
        const result = await store.transition(command(pending.outTradeNo, 'PAID', { payment, expectAmount: asked }));
        expect(result).toMatchObject({ kind: 'applied', order: { status: 'PAID' } });
      });

      it('refuses another amount or currency as amount_mismatch and writes nothing', async () => {
        const pending = order({ status: 'PENDING' });
        await store.create(pending);
        for (const expectAmount of [
          { total: 1, currency: 'CNY' as const },
          { total: 1999, currency: 'USD' as unknown as 'CNY' },
        ]) {
          const result = await store.transition(
            command(pending.outTradeNo, 'PAID', {
              payment,
              expectAmount,
              notification: notification({ outTradeNo: pending.outTradeNo }),
            }),
          );
          expect(result).toEqual({ kind: 'amount_mismatch', order: pending });
        }
        expect(await store.get(pending.outTradeNo)).toEqual(pending);
        expect(await store.listNotifications(pending.outTradeNo)).toEqual([]);
      });

      it('reports amount_mismatch before already and conflict: the amount is told first', async () => {
        for (const status of ['PAID', 'CLOSED'] as const) {
          const settled = order({ status, nextCheckAt: undefined });
          await store.create(settled);
          const result = await store.transition(
            command(settled.outTradeNo, 'PAID', { payment, expectAmount: { total: 1, currency: 'CNY' } }),
          );
          expect(result).toEqual({ kind: 'amount_mismatch', order: settled });
        }
      });

      it('reports already and conflict as usual when the amount agrees', async () => {
        const paid = order({ status: 'PAID', payment, nextCheckAt: undefined });
        const closed = order({ status: 'CLOSED', nextCheckAt: undefined });
        await store.create(paid);
        await store.create(closed);
        expect(await store.transition(command(paid.outTradeNo, 'PAID', { payment, expectAmount: asked }))).toEqual({
          kind: 'already',
          order: paid,
        });
        expect(await store.transition(command(closed.outTradeNo, 'PAID', { payment, expectAmount: asked }))).toEqual({
          kind: 'conflict',
          order: closed,
        });
      });
    });

    describe('extendWatch', () => {
      it('moves the watch bound of an open order from the one it holds, and nothing else', async () => {
        const own = await newStore();
        const created = order({ nextCheckAt: at(100) });
        await own.create(created);
        expect(await own.extendWatch(created.outTradeNo, at(100), at(999))).toEqual({ kind: 'extended' });
        expect(await own.get(created.outTradeNo)).toEqual({ ...created, nextCheckAt: at(999) });
        expect(await own.findDue(at(998), 10)).toEqual([]);
        expect(await own.findDue(at(999), 10)).toEqual([{ outTradeNo: created.outTradeNo, nextCheckAt: at(999) }]);
      });

      it('refuses, writing nothing, when the bound is another: the chain asking no longer owns the order', async () => {
        const created = order({ nextCheckAt: at(100) });
        await store.create(created);
        await store.extendWatch(created.outTradeNo, at(100), at(200));
        // A twin (an SQS duplicate) asks to move the bound it started from: another chain moved it first.
        expect(await store.extendWatch(created.outTradeNo, at(100), at(300))).toEqual({
          kind: 'superseded',
          bound: at(200),
        });
        expect((await store.get(created.outTradeNo))?.nextCheckAt).toBe(at(200));
      });

      it('refuses for an order put back by the sweep since, and leaves its count', async () => {
        const created = order({ nextCheckAt: at(100) });
        await store.create(created);
        await store.requeueCheck(created.outTradeNo, at(150), 5);
        expect(await store.extendWatch(created.outTradeNo, at(100), at(300))).toEqual({
          kind: 'superseded',
          bound: at(150),
        });
        expect(await store.get(created.outTradeNo)).toEqual({ ...created, nextCheckAt: at(150), requeues: 1 });
      });

      it('refuses for a settled order, which keeps no bound', async () => {
        const created = order({ nextCheckAt: at(100) });
        await store.create(created);
        await store.transition(command(created.outTradeNo, 'CLOSED'));
        const closed = await store.get(created.outTradeNo);
        expect(await store.extendWatch(created.outTradeNo, at(100), at(999))).toEqual({ kind: 'superseded' });
        expect(await store.get(created.outTradeNo)).toEqual(closed);
        expect(closed?.nextCheckAt).toBeUndefined();
      });

      it('refuses for an unknown order, creating none', async () => {
        const outTradeNo = tradeNo();
        expect(await store.extendWatch(outTradeNo, at(100), at(999))).toEqual({ kind: 'superseded' });
        expect(await store.get(outTradeNo)).toBeUndefined();
      });
    });

    describe('requeueCheck', () => {
      it('moves the check and counts each re-enqueue; at the bound, it takes the order out of the index', async () => {
        const own = await newStore();
        const created = order({ nextCheckAt: at(100) });
        await own.create(created);
        for (const [requeues, instant] of [
          [1, at(200)],
          [2, at(300)],
          [3, at(400)],
        ] as const) {
          expect(await own.requeueCheck(created.outTradeNo, instant, 3)).toEqual({ kind: 'requeued', requeues });
          // The count is read back on the order, so the reconciler can back off by it.
          expect(await own.get(created.outTradeNo)).toEqual({ ...created, nextCheckAt: instant, requeues });
          expect(await own.findDue(at(10_000), 10)).toEqual([{ outTradeNo: created.outTradeNo, nextCheckAt: instant }]);
        }

        expect(await own.requeueCheck(created.outTradeNo, at(500), 3)).toEqual({ kind: 'exhausted', requeues: 3 });
        const { nextCheckAt: _gone, ...open } = created;
        const exhausted = { ...open, requeues: 3, checksExhaustedAt: at(500) };
        expect(await own.get(created.outTradeNo)).toEqual(exhausted);
        expect(await own.findDue(at(10_000), 10)).toEqual([]);
        // Out of the index for good: neither the sweep nor a late check puts it back.
        expect(await own.requeueCheck(created.outTradeNo, at(600), 3)).toEqual({ kind: 'not_due' });
        expect(await own.extendWatch(created.outTradeNo, at(400), at(700))).toEqual({ kind: 'superseded' });
        expect(await own.get(created.outTradeNo)).toEqual(exhausted);
      });

      it('counts again from zero once a check completes and moves the watch bound on itself', async () => {
        const created = order({ nextCheckAt: at(100) });
        await store.create(created);
        expect(await store.requeueCheck(created.outTradeNo, at(200), 2)).toEqual({ kind: 'requeued', requeues: 1 });
        expect(await store.requeueCheck(created.outTradeNo, at(300), 2)).toEqual({ kind: 'requeued', requeues: 2 });
        expect(await store.extendWatch(created.outTradeNo, at(300), at(330))).toEqual({ kind: 'extended' });
        expect(await store.get(created.outTradeNo)).toEqual({ ...created, nextCheckAt: at(330) });
        expect(await store.requeueCheck(created.outTradeNo, at(400), 2)).toEqual({ kind: 'requeued', requeues: 1 });
        expect(await store.get(created.outTradeNo)).toEqual({ ...created, nextCheckAt: at(400), requeues: 1 });
      });

      it('marks the order exhausted at the instant given apart from the next check', async () => {
        const created = order({ nextCheckAt: at(100) });
        await store.create(created);
        expect(await store.requeueCheck(created.outTradeNo, at(210), 1, at(200))).toEqual({
          kind: 'requeued',
          requeues: 1,
        });
        expect((await store.get(created.outTradeNo))?.nextCheckAt).toBe(at(210));
        expect(await store.requeueCheck(created.outTradeNo, at(330), 1, at(300))).toEqual({
          kind: 'exhausted',
          requeues: 1,
        });
        expect(await store.get(created.outTradeNo)).toMatchObject({ checksExhaustedAt: at(300), requeues: 1 });
      });

      it('leaves a settled or unknown order alone', async () => {
        const settled = order({ status: 'CLOSED', nextCheckAt: undefined });
        await store.create(settled);
        expect(await store.requeueCheck(settled.outTradeNo, at(200), 3)).toEqual({ kind: 'not_due' });
        expect(await store.get(settled.outTradeNo)).toEqual(settled);
        const outTradeNo = tradeNo();
        expect(await store.requeueCheck(outTradeNo, at(200), 3)).toEqual({ kind: 'not_due' });
        expect(await store.get(outTradeNo)).toBeUndefined();
      });
    });

    describe('renewPrepay', () => {
      it('replaces the prepay of an order awaiting payment, pending or failed, and nothing else', async () => {
        for (const status of ['PENDING', 'FAILED'] as const) {
          const created = order({ status, prepay: { ...prepay('old'), validUntil: at(10) } });
          await store.create(created);
          const result = await store.renewPrepay(created.outTradeNo, prepay('new'), at(200));
          const renewed = { ...created, prepay: prepay('new'), updatedAt: at(200) };
          expect(result).toEqual({ kind: 'applied', order: renewed });
          expect(await store.get(created.outTradeNo)).toEqual(renewed);
        }
      });

      it('puts an order whose checks were given up on back in the due index when asked to', async () => {
        const own = await newStore();
        const created = order({
          status: 'PENDING',
          nextCheckAt: at(100),
          prepay: { ...prepay('old'), validUntil: at(10) },
        });
        await own.create(created);
        await own.requeueCheck(created.outTradeNo, at(200), 1);
        expect(await own.requeueCheck(created.outTradeNo, at(300), 1)).toMatchObject({ kind: 'exhausted' });
        expect(await own.findDue(at(10_000), 10)).toEqual([]);

        const result = await own.renewPrepay(created.outTradeNo, prepay('new'), at(7200), at(7230));
        // Watched again, counting from zero, no longer marked.
        const renewed = { ...created, prepay: prepay('new'), updatedAt: at(7200), nextCheckAt: at(7230) };
        expect(result).toEqual({ kind: 'applied', order: renewed });
        expect(await own.get(created.outTradeNo)).toEqual(renewed);
        expect(await own.findDue(at(10_000), 10)).toEqual([{ outTradeNo: created.outTradeNo, nextCheckAt: at(7230) }]);
        expect(await own.requeueCheck(created.outTradeNo, at(7300), 1)).toEqual({ kind: 'requeued', requeues: 1 });
      });

      it('does not put a settled order back in the due index', async () => {
        const closed = order({ status: 'CLOSED', nextCheckAt: undefined, prepay: prepay('old') });
        await store.create(closed);
        expect(await store.renewPrepay(closed.outTradeNo, prepay('new'), at(200), at(230))).toEqual({
          kind: 'conflict',
          order: closed,
        });
        expect(await store.get(closed.outTradeNo)).toEqual(closed);
      });

      it('leaves an order not awaiting payment as it is and reports it as a conflict', async () => {
        for (const status of ['CREATED', 'PAID', 'CLOSED'] as const) {
          const created = order({ status, payment: status === 'PAID' ? payment : undefined, prepay: prepay('old') });
          await store.create(created);
          const result = await store.renewPrepay(created.outTradeNo, prepay('new'), at(200));
          expect(result).toEqual({ kind: 'conflict', order: created });
          expect(await store.get(created.outTradeNo)).toEqual(created);
        }
      });

      it('reports an unknown order', async () => {
        const outTradeNo = tradeNo();
        expect(await store.renewPrepay(outTradeNo, prepay('new'), at(200))).toEqual({ kind: 'not_found' });
        expect(await store.get(outTradeNo)).toBeUndefined();
      });
    });

    describe('notifications', () => {
      it('keeps the notification that pays an order in the same write, and only if the write applies', async () => {
        const created = order({ status: 'PENDING' });
        await store.create(created);
        const paying = notification({ outTradeNo: created.outTradeNo, receivedAt: at(20) });
        const paid = await store.transition(
          command(created.outTradeNo, 'PAID', { payment, expectAmount: asked, notification: paying }),
        );
        expect(paid).toMatchObject({ kind: 'applied', order: { status: 'PAID' } });
        // The notification is kept with the order, not in it.
        expect(paid.kind === 'applied' && 'appliedNotifications' in paid.order).toBe(false);
        expect(await store.get(created.outTradeNo)).not.toHaveProperty('appliedNotifications');

        const copy = notification({ outTradeNo: created.outTradeNo, receivedAt: at(30) });
        const again = await store.transition(
          command(created.outTradeNo, 'PAID', { payment, expectAmount: asked, notification: copy }),
        );
        expect(again.kind).toBe('already');
        const forged = notification({
          outTradeNo: created.outTradeNo,
          receivedAt: at(10),
          outcome: 'rejected',
          reason: 'forged',
        });
        await store.recordNotification(forged);
        expect(await store.listNotifications(created.outTradeNo)).toEqual([forged, paying]);
      });

      it('keeps the notifications of every applied transition, in the order they arrived', async () => {
        const created = order({ status: 'PENDING' });
        await store.create(created);
        const failing = notification({ outTradeNo: created.outTradeNo, receivedAt: at(40) });
        const paying = notification({ outTradeNo: created.outTradeNo, receivedAt: at(50), apiVersion: 'v3' });
        await store.transition(command(created.outTradeNo, 'FAILED', { notification: failing }));
        await store.transition(command(created.outTradeNo, 'PAID', { payment, notification: paying }));
        expect(await store.listNotifications(created.outTradeNo)).toEqual([failing, paying]);
      });

      it('lists the notifications of an order in the order they arrived', async () => {
        const created = order();
        await store.create(created);
        const third = notification({ outTradeNo: created.outTradeNo, receivedAt: at(30) });
        const first = notification({
          outTradeNo: created.outTradeNo,
          receivedAt: at(10),
          outcome: 'rejected',
          reason: 'amount differs',
        });
        const second = notification({
          outTradeNo: created.outTradeNo,
          receivedAt: at(20),
          apiVersion: 'v3',
          body: '{"id":"EV-1"}',
          headers: { 'wechatpay-serial': 'PUB_KEY_ID_0114', 'wechatpay-nonce': 'n' },
        });
        for (const record of [third, first, second]) await store.recordNotification(record);

        expect(await store.listNotifications(created.outTradeNo)).toEqual([first, second, third]);
        // The order shares the notifications' keeping but is not one of them.
        expect(await store.get(created.outTradeNo)).toEqual(created);
      });

      it('keeps a duplicate (the same body, received again) once: the first receipt', async () => {
        const outTradeNo = tradeNo();
        const original = notification({ outTradeNo, receivedAt: at(20) });
        const resent = { ...original, id: randomUUID(), receivedAt: at(35) };
        await store.recordNotification(original);
        await Promise.all(Array.from({ length: 5 }, () => store.recordNotification(resent)));
        expect(await store.listNotifications(outTradeNo)).toEqual([original]);
      });

      it('keeps the same record recorded twice once', async () => {
        const outTradeNo = tradeNo();
        const record = notification({ outTradeNo });
        await store.recordNotification(record);
        await store.recordNotification(record);
        expect(await store.listNotifications(outTradeNo)).toEqual([record]);
      });

      it('keeps a notification naming an order it does not hold, under that out_trade_no', async () => {
        const outTradeNo = tradeNo();
        const record = notification({ outTradeNo, outcome: 'rejected', reason: 'AMOUNT_MISMATCH' });
        await store.recordNotification(record);
        expect(await store.listNotifications(outTradeNo)).toEqual([record]);
        expect(await store.get(outTradeNo)).toBeUndefined();
      });

      it('lists nothing for an order without notifications', async () => {
        expect(await store.listNotifications(tradeNo())).toEqual([]);
      });

      it('keeps an unmatched notification apart from every order', async () => {
        const created = order();
        await store.create(created);
        const unmatched = notification({ outcome: 'rejected', reason: 'not XML', body: 'garbage' });
        await store.recordNotification(unmatched);
        expect(await store.listNotifications(created.outTradeNo)).toEqual([]);
      });

      it('refuses a notification whose arrival is not an instant (it could not expire)', async () => {
        const unreadable = notification({ receivedAt: 'yesterday', outcome: 'rejected', reason: 'UNKNOWN_ORDER' });
        await expect(store.recordNotification(unreadable)).rejects.toBeInstanceOf(ValidationError);
        const matched = notification({ outTradeNo: tradeNo(), receivedAt: 'yesterday' });
        await expect(store.recordNotification(matched)).rejects.toBeInstanceOf(ValidationError);
        await expect(store.recordUnverified(unverified({ receivedAt: 'yesterday' }))).rejects.toBeInstanceOf(
          ValidationError,
        );
      });

      it('keeps the traces of unverified notifications apart from every order, each receipt', async () => {
        const created = order();
        await store.create(created);
        const trace = unverified();
        await store.recordUnverified(trace);
        await store.recordUnverified({ ...trace, id: randomUUID() });
        expect(await store.listNotifications(created.outTradeNo)).toEqual([]);
        expect(await store.get(created.outTradeNo)).toEqual(created);
      });
    });

    describe('recordLatePayment', () => {
      it('keeps a payment reported for a CLOSED order on it, and the order stays CLOSED', async () => {
        const closed = order({ status: 'CLOSED', nextCheckAt: undefined, reason: 'expired unpaid' });
        await store.create(closed);
        const late = latePayment();
        const result = await store.recordLatePayment(closed.outTradeNo, late);
        const kept = { ...closed, latePayment: late };
        expect(result).toEqual({ kind: 'applied', order: kept });
        expect(await store.get(closed.outTradeNo)).toEqual(kept);
      });

      it('keeps the first one: a second report is already done and changes nothing', async () => {
        const closed = order({ status: 'CLOSED', nextCheckAt: undefined });
        await store.create(closed);
        const first = latePayment();
        await store.recordLatePayment(closed.outTradeNo, first);
        const again = await store.recordLatePayment(closed.outTradeNo, latePayment({ receivedAt: at(900) }));
        expect(again).toEqual({ kind: 'already', order: { ...closed, latePayment: first } });
        const concurrent = await Promise.all(
          Array.from({ length: 5 }, () => store.recordLatePayment(closed.outTradeNo, latePayment())),
        );
        expect(concurrent.map((r) => r.kind)).toEqual(Array(5).fill('already'));
      });

      it('refuses an order that is not CLOSED as a conflict, and an unknown order as not_found', async () => {
        for (const status of ['CREATED', 'PENDING', 'PAID', 'FAILED'] as const) {
          const open = order({ status, payment: status === 'PAID' ? payment : undefined });
          await store.create(open);
          expect(await store.recordLatePayment(open.outTradeNo, latePayment())).toEqual({
            kind: 'conflict',
            order: open,
          });
          expect(await store.get(open.outTradeNo)).toEqual(open);
        }
        const outTradeNo = tradeNo();
        expect(await store.recordLatePayment(outTradeNo, latePayment())).toEqual({ kind: 'not_found' });
        expect(await store.get(outTradeNo)).toBeUndefined();
      });
    });

    describe('findDue', () => {
      it('returns the open orders whose check is due, oldest first, up to the limit', async () => {
        // A store of its own: the due index spans the whole store.
        const own = await newStore();
        const now = at(1000);
        const late = order({ nextCheckAt: at(700) });
        const later = order({ outTradeNo: '000042', nextCheckAt: at(900) });
        const exactlyNow = order({ status: 'FAILED', nextCheckAt: now });
        const future = order({ nextCheckAt: at(1001) });
        const paid = order({ status: 'PENDING', nextCheckAt: at(500) });
        const postponed = order({ nextCheckAt: at(600) });
        const neverScheduled = order({ nextCheckAt: undefined });
        const createdSettled = order({ status: 'CLOSED', nextCheckAt: at(100) });
        for (const o of [future, exactlyNow, later, paid, late, postponed, neverScheduled, createdSettled]) {
          await own.create(o);
        }
        await own.transition(command(paid.outTradeNo, 'PAID', { payment }));
        await own.extendWatch(postponed.outTradeNo, at(600), at(5000));

        expect(await own.findDue(now, 10)).toEqual([
          { outTradeNo: late.outTradeNo, nextCheckAt: at(700) },
          { outTradeNo: '000042', nextCheckAt: at(900) },
          { outTradeNo: exactlyNow.outTradeNo, nextCheckAt: now },
        ]);
        expect(await own.findDue(now, 2)).toEqual([
          { outTradeNo: late.outTradeNo, nextCheckAt: at(700) },
          { outTradeNo: '000042', nextCheckAt: at(900) },
        ]);
        expect(await own.findDue(at(0), 10)).toEqual([]);
        expect((await own.findDue(at(6000), 10)).map((due) => due.outTradeNo)).toEqual([
          late.outTradeNo,
          '000042',
          exactlyNow.outTradeNo,
          future.outTradeNo,
          postponed.outTradeNo,
        ]);
      });

      it('returns the oldest due orders of many, oldest first, however the store spreads them', async () => {
        const own = await newStore();
        // Forty orders with their checks due in a shuffled order, plus ones not yet due.
        const offsets = Array.from({ length: 40 }, (_, i) => ((i * 17) % 40) * 10);
        const orders = offsets.map((offset) => order({ nextCheckAt: at(offset) }));
        for (const o of [...orders, order({ nextCheckAt: at(5000) }), order({ nextCheckAt: at(6000) })]) {
          await own.create(o);
        }
        const expected = orders
          .map((o) => ({ outTradeNo: o.outTradeNo, nextCheckAt: o.nextCheckAt as string }))
          .sort((a, b) => a.nextCheckAt.localeCompare(b.nextCheckAt));
        expect(await own.findDue(at(1000), 12)).toEqual(expected.slice(0, 12));
        expect(await own.findDue(at(1000), 100)).toEqual(expected);
      });

      it('finds an order again once a transition keeps it open with a new check', async () => {
        const own = await newStore();
        const created = order({ nextCheckAt: undefined });
        await own.create(created);
        expect(await own.findDue(at(1000), 10)).toEqual([]);
        await own.transition(command(created.outTradeNo, 'PENDING', { nextCheckAt: at(30) }));
        expect(await own.findDue(at(1000), 10)).toEqual([{ outTradeNo: created.outTradeNo, nextCheckAt: at(30) }]);
      });
    });
  });
}

const order = orderFixture;

const asked = { total: 1999, currency: 'CNY' as const };

const payment: PaymentFacts = {
  transactionId: '4200001234567890123456789012',
  amountTotal: 1999,
  currency: 'CNY',
  paidAt: '20300101080510',
  bankType: 'OTHERS',
};

function prepay(prepayId: string): Prepay {
  return { prepayId, client: { code_url: `weixin://wxpay/bizpayurl?pr=${prepayId}` }, validUntil: at(9000) };
}

function command(outTradeNo: string, to: OrderStatus, extra: Partial<TransitionCommand> = {}): TransitionCommand {
  return { outTradeNo, to, at: at(100), source: 'notify', ...extra };
}

/** A notification with a body of its own (unless one is given), and that body's hash. */
function notification(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  const id = overrides.id ?? randomUUID();
  const body =
    overrides.body ?? `<xml><return_code><![CDATA[SUCCESS]]></return_code><nonce_str>${id}</nonce_str></xml>`;
  return {
    id,
    receivedAt: at(10),
    apiVersion: 'v2',
    outcome: 'accepted',
    body,
    bodySha256: sha256(body),
    ...overrides,
  };
}

function unverified(overrides: Partial<UnverifiedNotification> = {}): UnverifiedNotification {
  return {
    id: randomUUID(),
    receivedAt: at(10),
    apiVersion: 'v2',
    reason: 'BAD_SIGNATURE',
    bodySha256: sha256('forged'),
    bodyBytes: 6,
    sourceIp: '198.51.100.7',
    ...overrides,
  };
}

function latePayment(overrides: Partial<LatePayment> = {}): LatePayment {
  return {
    transactionId: '4200001234567890123456789012',
    amountTotal: 1999,
    currency: 'CNY',
    paidAt: '20300101080510',
    receivedAt: at(200),
    source: 'notify',
    ...overrides,
  };
}
