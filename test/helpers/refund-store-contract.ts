import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Order } from '#shared/domain/order';
import type { NotificationRecord, OrderStore } from '#shared/domain/ports';
import { MAX_REFUNDS_PER_ORDER } from '#shared/domain/refund';
import type { Refund, RefundStatus } from '#shared/domain/refund';
import type { RefundStore, RefundTransitionCommand } from '#shared/domain/refund-ports';
import { sha256 } from '#shared/domain/notification-receipts';
import { at, orderFixture, tradeNo } from '#test/helpers/order-fixtures';

/** A RefundStore with the orders it refunds, and the notifications it keeps with each refund. */
export interface RefundStores {
  orders: OrderStore;
  refunds: RefundStore & {
    refundNotifications(outTradeNo: string, outRefundNo: string): Promise<NotificationRecord[]> | NotificationRecord[];
  };
}

/** A PAID order of `total` fen (19.99 CNY by default), out of the due index as a paid order is. */
export function paidOrder(total = 1999, overrides: Partial<Order> = {}): Order {
  const base = orderFixture();
  return orderFixture({
    outTradeNo: base.outTradeNo,
    status: 'PAID',
    nextCheckAt: undefined,
    request: { ...base.request, amount: { total, currency: 'CNY' } },
    payment: {
      transactionId: '4200001234567890123456789012',
      amountTotal: total,
      currency: 'CNY',
      paidAt: '20300101080510',
      bankType: 'OTHERS',
    },
    ...overrides,
  });
}

let refundCounter = 0;

/** Unique per call, in WeChat's out_refund_no alphabet. */
export function refundNo(): string {
  refundCounter += 1;
  return `R${randomUUID().replace(/-/g, '').slice(0, 16)}${refundCounter}`;
}

/** A new PROCESSING refund of `fen` from `order`, created at T0 + 10 s, due for a check at T0 + 70 s. */
export function newRefund(order: Order, fen: number, overrides: Partial<Refund> = {}): Refund {
  return {
    outRefundNo: refundNo(),
    outTradeNo: order.outTradeNo,
    status: 'PROCESSING',
    amount: { refund: fen, total: order.payment?.amountTotal ?? order.request.amount.total, currency: 'CNY' },
    reason: '退款',
    requestHash: 'r'.repeat(64),
    createdAt: at(10),
    updatedAt: at(10),
    nextCheckAt: at(70),
    history: [{ at: at(10), from: null, to: 'PROCESSING', source: 'api' }],
    ...overrides,
  };
}

function notification(outTradeNo: string, body = `<xml>${randomUUID()}</xml>`): NotificationRecord {
  return {
    id: randomUUID(),
    bodySha256: sha256(body),
    outTradeNo,
    receivedAt: at(200),
    apiVersion: 'v2',
    outcome: 'accepted',
    body,
  };
}

/**
 * What every RefundStore must do, as the domain relies on it. It runs against the DynamoDB store on
 * DynamoDB Local (integration tier) and against the in-memory store (unit tier), so the test double
 * cannot drift from the real thing. `newStores` gives empty stores: the due index spans a whole table.
 */
export function refundStoreContract(name: string, newStores: () => Promise<RefundStores>): void {
  describe(`${name} keeps the RefundStore contract`, () => {
    let orders: OrderStore;
    let refunds: RefundStores['refunds'];

    beforeAll(async () => {
      ({ orders, refunds } = await newStores());
    });

    async function paid(total = 1999): Promise<Order> {
      const order = paidOrder(total);
      await orders.create(order);
      return order;
    }

    function command(refund: Refund, to: RefundStatus, extra: Partial<RefundTransitionCommand> = {}) {
      return {
        outTradeNo: refund.outTradeNo,
        outRefundNo: refund.outRefundNo,
        to,
        at: at(100),
        source: 'notify' as const,
        ...extra,
      };
    }

    /** Creates the refund, failing the test unless it was created. */
    async function created(refund: Refund): Promise<Refund> {
      const result = await refunds.createRefund(refund);
      if (result.kind !== 'created') throw new Error(`refund not created: ${result.kind}`);
      return result.refund;
    }

    describe('createRefund', () => {
      it('stores the refund and moves the order counters in one step', async () => {
        const order = await paid();
        expect((await orders.get(order.outTradeNo))?.refunds).toBeUndefined();
        const refund = newRefund(order, 500);
        const result = await refunds.createRefund(refund);
        const after = { ...order, refunds: { refunded: 0, pending: 500, count: 1 } };
        expect(result).toEqual({ kind: 'created', refund, order: after });
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(refund);
        expect(await orders.get(order.outTradeNo)).toEqual(after);
      });

      it('answers a reused out_refund_no with the stored refund, and moves nothing', async () => {
        const order = await paid();
        const first = newRefund(order, 500);
        await created(first);
        const reuse = { ...first, amount: { ...first.amount, refund: 700 }, requestHash: 'x'.repeat(64) };
        expect(await refunds.createRefund(reuse)).toEqual({ kind: 'exists', refund: first });
        expect(await refunds.createRefund(first)).toEqual({ kind: 'exists', refund: first });
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
      });

      it('answers a retry with the refund even when the order has no room left for another', async () => {
        const order = await paid(1000);
        const whole = newRefund(order, 1000);
        await created(whole);
        expect(await refunds.createRefund(whole)).toEqual({ kind: 'exists', refund: whole });
      });

      it('refuses a refund of an unknown order and writes nothing', async () => {
        const ghost = paidOrder();
        const refund = newRefund(ghost, 100);
        expect(await refunds.createRefund(refund)).toEqual({ kind: 'order_not_found' });
        expect(await refunds.getRefund(ghost.outTradeNo, refund.outRefundNo)).toBeUndefined();
        expect(await orders.get(ghost.outTradeNo)).toBeUndefined();
      });

      it('refuses a refund of an order that is not PAID and writes nothing', async () => {
        for (const status of ['CREATED', 'PENDING', 'FAILED', 'CLOSED'] as const) {
          const order = orderFixture({ status });
          await orders.create(order);
          const refund = newRefund(order, 100);
          expect(await refunds.createRefund(refund)).toEqual({ kind: 'order_not_paid', order });
          expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toBeUndefined();
          expect(await orders.get(order.outTradeNo)).toEqual(order);
        }
      });

      it('refuses more than is left to refund, counting PROCESSING refunds, and writes nothing', async () => {
        const order = await paid(1999);
        await created(newRefund(order, 1500));
        const over = newRefund(order, 500);
        const result = await refunds.createRefund(over);
        const current = { ...order, refunds: { refunded: 0, pending: 1500, count: 1 } };
        expect(result).toEqual({ kind: 'amount_exceeded', order: current });
        expect(await refunds.getRefund(order.outTradeNo, over.outRefundNo)).toBeUndefined();
        expect(await orders.get(order.outTradeNo)).toEqual(current);
        // Exactly what is left still fits; then nothing does.
        await created(newRefund(order, 499));
        expect((await refunds.createRefund(newRefund(order, 1))).kind).toBe('amount_exceeded');
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 1999, count: 2 });
      });

      it('refuses a first refund larger than the payment', async () => {
        const order = await paid(1000);
        const result = await refunds.createRefund(newRefund(order, 1001));
        expect(result).toEqual({ kind: 'amount_exceeded', order });
        expect(await refunds.listRefunds(order.outTradeNo)).toEqual([]);
      });

      it(`refuses refund number ${MAX_REFUNDS_PER_ORDER + 1}, CLOSED ones counted`, async () => {
        const order = await paid(1000);
        const made: Refund[] = [];
        for (let i = 0; i < MAX_REFUNDS_PER_ORDER; i += 1) made.push(await created(newRefund(order, 1)));
        const first = made[0] as Refund;
        await refunds.transitionRefund(command(first, 'CLOSED'));
        const last = newRefund(order, 1);
        const result = await refunds.createRefund(last);
        const refundsNow = { refunded: 0, pending: MAX_REFUNDS_PER_ORDER - 1, count: MAX_REFUNDS_PER_ORDER };
        expect(result).toEqual({ kind: 'too_many_refunds', order: { ...order, refunds: refundsNow } });
        expect(await refunds.getRefund(order.outTradeNo, last.outRefundNo)).toBeUndefined();
        expect(await refunds.listRefunds(order.outTradeNo)).toHaveLength(MAX_REFUNDS_PER_ORDER);
      });

      it('accepts exactly one of 20 concurrent refunds of 60% each', async () => {
        const order = await paid(1000);
        const results = await Promise.all(
          Array.from({ length: 20 }, () => refunds.createRefund(newRefund(order, 600))),
        );
        const kinds = results.map((result) => result.kind);
        expect(kinds.filter((kind) => kind === 'created')).toHaveLength(1);
        expect(kinds.filter((kind) => kind === 'amount_exceeded')).toHaveLength(19);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 600, count: 1 });
        expect(await refunds.listRefunds(order.outTradeNo)).toHaveLength(1);
      });

      it('refuses, as a programming error, a refund that is not new or not a positive number of fen', async () => {
        const order = await paid();
        await expect(refunds.createRefund(newRefund(order, 100, { status: 'SUCCESS' }))).rejects.toThrow();
        await expect(refunds.createRefund(newRefund(order, 0))).rejects.toThrow(RangeError);
        await expect(refunds.createRefund(newRefund(order, -5))).rejects.toThrow(RangeError);
        expect(await refunds.listRefunds(order.outTradeNo)).toEqual([]);
      });

      it("refuses, as a programming error, a refund whose total is not the order's paid amount", async () => {
        const order = await paid(1000);
        const refund = newRefund(order, 100, { amount: { refund: 100, total: 999, currency: 'CNY' } });
        await expect(refunds.createRefund(refund)).rejects.toThrow(/paid amount/);
        expect(await refunds.listRefunds(order.outTradeNo)).toEqual([]);
        expect(await orders.get(order.outTradeNo)).toEqual(order);
      });

      it("refuses an out_refund_no another order's refund holds, naming that order, and writes nothing", async () => {
        const holder = await paid();
        const other = await paid();
        const refund = await created(newRefund(holder, 500));
        const reuse = newRefund(other, 300, { outRefundNo: refund.outRefundNo });
        expect(await refunds.createRefund(reuse)).toEqual({
          kind: 'out_refund_no_used',
          outTradeNo: holder.outTradeNo,
        });
        expect(await refunds.getRefund(other.outTradeNo, refund.outRefundNo)).toBeUndefined();
        expect(await refunds.listRefunds(other.outTradeNo)).toEqual([]);
        expect(await orders.get(other.outTradeNo)).toEqual(other);
        // The holder's own retry is still answered with its refund, and moves nothing.
        expect(await refunds.createRefund(refund)).toEqual({ kind: 'exists', refund });
        expect((await orders.get(holder.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
      });

      it("keeps a CLOSED refund's out_refund_no used, whatever the state of the order asking", async () => {
        const holder = await paid(1000);
        const refund = await created(newRefund(holder, 1000));
        await refunds.transitionRefund(command(refund, 'CLOSED'));
        const full = await paid(1000);
        await created(newRefund(full, 1000));
        const unpaid = orderFixture();
        await orders.create(unpaid);
        const unknown = paidOrder();
        for (const asking of [full, unpaid, unknown]) {
          const reuse = newRefund(asking, 1000, { outRefundNo: refund.outRefundNo });
          expect(await refunds.createRefund(reuse)).toEqual({
            kind: 'out_refund_no_used',
            outTradeNo: holder.outTradeNo,
          });
        }
        expect((await orders.get(full.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 1000, count: 1 });
        expect(await orders.get(unpaid.outTradeNo)).toEqual(unpaid);
        expect(await orders.get(unknown.outTradeNo)).toBeUndefined();
      });

      it('claims no out_refund_no for a refund it refused', async () => {
        const full = await paid(1000);
        await created(newRefund(full, 1000));
        const refused = newRefund(full, 1);
        expect((await refunds.createRefund(refused)).kind).toBe('amount_exceeded');
        const other = await paid();
        await created(newRefund(other, 1, { outRefundNo: refused.outRefundNo }));
        expect(await refunds.createRefund(refused)).toEqual({
          kind: 'out_refund_no_used',
          outTradeNo: other.outTradeNo,
        });
      });

      it('gives one out_refund_no to exactly one of 10 orders asking for it at once', async () => {
        const asking = await Promise.all(Array.from({ length: 10 }, () => paid()));
        const outRefundNo = refundNo();
        const results = await Promise.all(
          asking.map((order) => refunds.createRefund(newRefund(order, 100, { outRefundNo }))),
        );
        const holders = asking.filter((_, i) => results[i]?.kind === 'created');
        expect(holders).toHaveLength(1);
        const holder = (holders[0] as Order).outTradeNo;
        expect(results.filter((result) => result.kind !== 'created')).toEqual(
          Array.from({ length: 9 }, () => ({ kind: 'out_refund_no_used', outTradeNo: holder })),
        );
        for (const order of asking) {
          const mine = order.outTradeNo === holder;
          expect(await refunds.listRefunds(order.outTradeNo)).toHaveLength(mine ? 1 : 0);
          expect((await orders.get(order.outTradeNo))?.refunds).toEqual(
            mine ? { refunded: 0, pending: 100, count: 1 } : undefined,
          );
        }
      });

      it('keeps out_refund_no exactly, leading zeros and all', async () => {
        const order = await paid();
        const refund = newRefund(order, 100, { outRefundNo: '000123' });
        await created(refund);
        expect((await refunds.getRefund(order.outTradeNo, '000123'))?.outRefundNo).toBe('000123');
        expect(await refunds.getRefund(order.outTradeNo, '123')).toBeUndefined();
      });
    });

    describe('transitionRefund', () => {
      it('SUCCESS moves the refund from pending to refunded, with its facts and notification', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        const evidence = notification(order.outTradeNo);
        const result = await refunds.transitionRefund(
          command(refund, 'SUCCESS', {
            refundId: '50000000382019052709732678859',
            successTime: '2030-01-01T08:01:40+08:00',
            userReceivedAccount: '支付用户零钱',
            notification: evidence,
            note: 'REFUND.SUCCESS',
          }),
        );
        const after: Refund = {
          ...refund,
          status: 'SUCCESS',
          updatedAt: at(100),
          refundId: '50000000382019052709732678859',
          successTime: '2030-01-01T08:01:40+08:00',
          userReceivedAccount: '支付用户零钱',
          history: [
            ...refund.history,
            { at: at(100), from: 'PROCESSING', to: 'SUCCESS', source: 'notify', note: 'REFUND.SUCCESS' },
          ],
        };
        delete after.nextCheckAt;
        expect(result).toEqual({ kind: 'applied', refund: after });
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(after);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 500, pending: 0, count: 1 });
        expect(await refunds.refundNotifications(order.outTradeNo, refund.outRefundNo)).toEqual([evidence]);
      });

      it('CLOSED releases what the refund held, so it can be refunded again', async () => {
        const order = await paid(1000);
        const refund = await created(newRefund(order, 1000));
        const failure = { code: 'USER_ACCOUNT_ABNORMAL', message: '退款请求失败' };
        const result = await refunds.transitionRefund(command(refund, 'CLOSED', { failure, source: 'reconcile' }));
        expect(result).toMatchObject({ kind: 'applied', refund: { status: 'CLOSED', failure } });
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });
        await created(newRefund(order, 1000));
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 1000, count: 2 });
      });

      it('ABNORMAL keeps the refund pending and watched; it may still succeed', async () => {
        const order = await paid(1000);
        const refund = await created(newRefund(order, 400));
        const abnormal = await refunds.transitionRefund(command(refund, 'ABNORMAL', { nextCheckAt: at(3600) }));
        expect(abnormal).toMatchObject({ kind: 'applied', refund: { status: 'ABNORMAL', nextCheckAt: at(3600) } });
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 400, count: 1 });
        // Still counted against what is left.
        expect((await refunds.createRefund(newRefund(order, 601))).kind).toBe('amount_exceeded');

        const success = await refunds.transitionRefund(
          command(refund, 'SUCCESS', { at: at(4000), source: 'reconcile' }),
        );
        expect(success).toMatchObject({ kind: 'applied', refund: { status: 'SUCCESS' } });
        if (success.kind !== 'applied') return;
        expect(success.refund.nextCheckAt).toBeUndefined();
        expect(success.refund.history.map((entry) => [entry.from, entry.to])).toEqual([
          [null, 'PROCESSING'],
          ['PROCESSING', 'ABNORMAL'],
          ['ABNORMAL', 'SUCCESS'],
        ]);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 400, pending: 0, count: 1 });
      });

      it('ABNORMAL then CLOSED releases the refund', async () => {
        const order = await paid(1000);
        const refund = await created(newRefund(order, 400));
        await refunds.transitionRefund(command(refund, 'ABNORMAL'));
        expect(await refunds.transitionRefund(command(refund, 'CLOSED'))).toMatchObject({ kind: 'applied' });
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });
      });

      it('answers a duplicate with already, a move out of a final state with conflict; writes nothing', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        await refunds.transitionRefund(command(refund, 'SUCCESS'));
        const stored = await refunds.getRefund(order.outTradeNo, refund.outRefundNo);
        const counters = (await orders.get(order.outTradeNo))?.refunds;
        const duplicate = await refunds.transitionRefund(
          command(refund, 'SUCCESS', { at: at(500), notification: notification(order.outTradeNo) }),
        );
        expect(duplicate).toEqual({ kind: 'already', refund: stored });
        for (const to of ['CLOSED', 'ABNORMAL', 'PROCESSING'] as const) {
          expect(await refunds.transitionRefund(command(refund, to))).toEqual({ kind: 'conflict', refund: stored });
        }
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(stored);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual(counters);
        expect(await refunds.refundNotifications(order.outTradeNo, refund.outRefundNo)).toEqual([]);
      });

      it('answers PROCESSING on a PROCESSING refund with already', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        expect(await refunds.transitionRefund(command(refund, 'PROCESSING'))).toEqual({ kind: 'already', refund });
      });

      it('refuses a report for another amount and writes nothing', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        for (const expectAmount of [
          { refund: 501, total: 1999 },
          { refund: 500, total: 2000 },
        ]) {
          const result = await refunds.transitionRefund(
            command(refund, 'SUCCESS', { expectAmount, notification: notification(order.outTradeNo) }),
          );
          expect(result).toEqual({ kind: 'amount_mismatch', refund });
        }
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(refund);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 500, count: 1 });
        expect(await refunds.refundNotifications(order.outTradeNo, refund.outRefundNo)).toEqual([]);
        const right = await refunds.transitionRefund(
          command(refund, 'SUCCESS', { expectAmount: { refund: 500, total: 1999 } }),
        );
        expect(right.kind).toBe('applied');
      });

      it('refuses with expectUnaccepted to close a refund WeChat accepted, and writes nothing', async () => {
        const order = await paid(1000);
        const failure = { code: 'INVALID_REQUEST', message: '参数错误' };
        const processing = await created(newRefund(order, 400));
        const abnormal = await created(newRefund(order, 300));
        await refunds.transitionRefund(command(abnormal, 'ABNORMAL', { nextCheckAt: at(3600) }));
        for (const refund of [processing, abnormal]) {
          const accepted = await refunds.recordAcceptance(order.outTradeNo, refund.outRefundNo, { acceptedAt: at(20) });
          const close = command(refund, 'CLOSED', {
            failure,
            expectUnaccepted: true,
            source: 'reconcile',
            notification: notification(order.outTradeNo),
          });
          expect(await refunds.transitionRefund(close)).toEqual({ kind: 'conflict', refund: accepted });
          expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(accepted);
          expect(await refunds.refundNotifications(order.outTradeNo, refund.outRefundNo)).toEqual([]);
        }
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 700, count: 2 });
        // What WeChat itself reports closed still closes it.
        expect(await refunds.transitionRefund(command(processing, 'CLOSED'))).toMatchObject({
          kind: 'applied',
          refund: { status: 'CLOSED', acceptedAt: at(20) },
        });
      });

      it('closes with expectUnaccepted a refund WeChat never accepted', async () => {
        const order = await paid(1000);
        const refund = await created(newRefund(order, 400));
        const failure = { code: 'INVALID_REQUEST', message: '参数错误' };
        const result = await refunds.transitionRefund(
          command(refund, 'CLOSED', { failure, expectUnaccepted: true, source: 'reconcile' }),
        );
        expect(result).toMatchObject({ kind: 'applied', refund: { status: 'CLOSED', failure } });
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 0, pending: 0, count: 1 });
        // Once closed, the same command again is a duplicate.
        const again = command(refund, 'CLOSED', { failure, expectUnaccepted: true, source: 'reconcile' });
        expect((await refunds.transitionRefund(again)).kind).toBe('already');
      });

      it('reports not_found for an unknown refund and creates nothing', async () => {
        const order = await paid();
        const ghost = newRefund(order, 100);
        for (const to of ['PROCESSING', 'SUCCESS', 'CLOSED', 'ABNORMAL'] as const) {
          expect(await refunds.transitionRefund(command(ghost, to))).toEqual({ kind: 'not_found' });
        }
        expect(await refunds.getRefund(order.outTradeNo, ghost.outRefundNo)).toBeUndefined();
        expect((await orders.get(order.outTradeNo))?.refunds).toBeUndefined();
      });

      it('applies exactly one of 20 concurrent identical transitions', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 700));
        const results = await Promise.all(
          Array.from({ length: 20 }, () =>
            refunds.transitionRefund(command(refund, 'SUCCESS', { notification: notification(order.outTradeNo) })),
          ),
        );
        const kinds = results.map((result) => result.kind);
        expect(kinds.filter((kind) => kind === 'applied')).toHaveLength(1);
        expect(kinds.filter((kind) => kind === 'already')).toHaveLength(19);
        expect((await orders.get(order.outTradeNo))?.refunds).toEqual({ refunded: 700, pending: 0, count: 1 });
        expect(await refunds.refundNotifications(order.outTradeNo, refund.outRefundNo)).toHaveLength(1);
        expect((await refunds.getRefund(order.outTradeNo, refund.outRefundNo))?.history).toHaveLength(2);
      });
    });

    describe('recordAcceptance', () => {
      it("records WeChat's acceptance of an open refund, keeping the first time", async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        const accepted = await refunds.recordAcceptance(order.outTradeNo, refund.outRefundNo, {
          acceptedAt: at(20),
          refundId: '50000000382019052709732678859',
        });
        const expected = { ...refund, acceptedAt: at(20), refundId: '50000000382019052709732678859' };
        expect(accepted).toEqual(expected);
        expect(await refunds.recordAcceptance(order.outTradeNo, refund.outRefundNo, { acceptedAt: at(30) })).toEqual(
          expected,
        );
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(expected);
      });

      it('changes nothing on a final or missing refund', async () => {
        const order = await paid();
        const refund = await created(newRefund(order, 500));
        await refunds.transitionRefund(command(refund, 'CLOSED'));
        const closed = await refunds.getRefund(order.outTradeNo, refund.outRefundNo);
        expect(
          await refunds.recordAcceptance(order.outTradeNo, refund.outRefundNo, { acceptedAt: at(20) }),
        ).toBeUndefined();
        expect(await refunds.getRefund(order.outTradeNo, refund.outRefundNo)).toEqual(closed);
        expect(await refunds.recordAcceptance(order.outTradeNo, 'R-none', { acceptedAt: at(20) })).toBeUndefined();
        expect(await refunds.getRefund(order.outTradeNo, 'R-none')).toBeUndefined();
      });
    });

    describe('listRefunds', () => {
      it("lists only the order's refunds, oldest first, whatever their numbers", async () => {
        const order = await paid();
        const other = await paid();
        const b = await created(newRefund(order, 100, { outRefundNo: 'b-1', createdAt: at(1) }));
        const a = await created(newRefund(order, 100, { outRefundNo: 'a-2', createdAt: at(2) }));
        const zero = await created(newRefund(order, 100, { outRefundNo: '007', createdAt: at(3) }));
        await created(newRefund(other, 100));
        await refunds.transitionRefund(command(b, 'SUCCESS', { notification: notification(order.outTradeNo) }));
        const listed = await refunds.listRefunds(order.outTradeNo);
        expect(listed.map((refund) => refund.outRefundNo)).toEqual(['b-1', 'a-2', '007']);
        expect(listed[1]).toEqual(a);
        expect(listed[2]).toEqual(zero);
        expect(listed[0]?.status).toBe('SUCCESS');
        expect(await refunds.listRefunds(tradeNo())).toEqual([]);
      });
    });

    describe('the due index', () => {
      let own: RefundStores;

      beforeAll(async () => {
        own = await newStores();
      });

      it('finds refunds not final whose check is due, oldest first, and drops them once final', async () => {
        const order = paidOrder(10_000);
        await own.orders.create(order);
        const late = await createdIn(own, newRefund(order, 100, { nextCheckAt: at(300) }));
        const early = await createdIn(own, newRefund(order, 100, { nextCheckAt: at(100) }));
        const later = await createdIn(own, newRefund(order, 100, { nextCheckAt: at(900) }));
        const due = (refund: Refund, nextCheckAt: string) => ({
          outTradeNo: refund.outTradeNo,
          outRefundNo: refund.outRefundNo,
          nextCheckAt,
        });
        expect(await own.refunds.findDueRefunds(at(500), 10)).toEqual([due(early, at(100)), due(late, at(300))]);
        expect(await own.refunds.findDueRefunds(at(500), 1)).toEqual([due(early, at(100))]);
        expect(await own.refunds.findDueRefunds(at(500), 0)).toEqual([]);

        await own.refunds.setRefundNextCheck(order.outTradeNo, early.outRefundNo, at(400));
        expect((await own.refunds.getRefund(order.outTradeNo, early.outRefundNo))?.nextCheckAt).toBe(at(400));
        await own.refunds.transitionRefund({ ...dueCommand(late, 'ABNORMAL'), nextCheckAt: at(450) });
        expect(await own.refunds.findDueRefunds(at(500), 10)).toEqual([due(early, at(400)), due(late, at(450))]);

        await own.refunds.transitionRefund(dueCommand(early, 'SUCCESS'));
        await own.refunds.transitionRefund(dueCommand(late, 'CLOSED'));
        // A final refund's check is not moved back into the index.
        await own.refunds.setRefundNextCheck(order.outTradeNo, early.outRefundNo, at(10));
        await own.refunds.setRefundNextCheck(order.outTradeNo, 'R-none', at(10));
        expect(await own.refunds.findDueRefunds(at(10_000), 10)).toEqual([due(later, at(900))]);
        expect(await own.refunds.getRefund(order.outTradeNo, 'R-none')).toBeUndefined();
      });

      it("never puts a refund among the orders' due checks", async () => {
        const order = paidOrder();
        await own.orders.create(order);
        await createdIn(own, newRefund(order, 100, { nextCheckAt: at(5) }));
        const dueOrders = await own.orders.findDue(at(10_000), 1000);
        expect(dueOrders.map((due) => due.outTradeNo)).not.toContain(order.outTradeNo);
        const pending = orderFixture({ nextCheckAt: at(5) });
        await own.orders.create(pending);
        expect(await own.orders.findDue(at(10_000), 1000)).toContainEqual({
          outTradeNo: pending.outTradeNo,
          nextCheckAt: at(5),
        });
        // Nor an order among the refunds'.
        const dueRefunds = await own.refunds.findDueRefunds(at(10_000), 1000);
        expect(dueRefunds.map((due) => due.outTradeNo)).not.toContain(pending.outTradeNo);
      });

      function dueCommand(refund: Refund, to: RefundStatus): RefundTransitionCommand {
        return { outTradeNo: refund.outTradeNo, outRefundNo: refund.outRefundNo, to, at: at(460), source: 'reconcile' };
      }
    });
  });
}

async function createdIn(stores: RefundStores, refund: Refund): Promise<Refund> {
  const result = await stores.refunds.createRefund(refund);
  if (result.kind !== 'created') throw new Error(`refund not created: ${result.kind}`);
  return result.refund;
}
