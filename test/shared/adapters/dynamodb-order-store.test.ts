import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { planTransition } from '#shared/domain/lifecycle';
import { ORDER_STATUSES } from '#shared/domain/order';
import type { OrderStatus, PaymentFacts } from '#shared/domain/order';
import type { NotificationRecord, TransitionCommand } from '#shared/domain/ports';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { at, orderFixture, T0, tradeNo } from '#test/helpers/order-fixtures';

const order = orderFixture;

const payment: PaymentFacts = {
  transactionId: '4200001234567890123456789012',
  amountTotal: 1999,
  currency: 'CNY',
  paidAt: '20300101080510',
  bankType: 'OTHERS',
};

function command(outTradeNo: string, to: OrderStatus, extra: Partial<TransitionCommand> = {}): TransitionCommand {
  return { outTradeNo, to, at: at(100), source: 'notify', ...extra };
}

describe('DynamoDbOrderStore', () => {
  let table: TestTable;
  let store: DynamoDbOrderStore;

  beforeAll(async () => {
    table = await testTable();
    store = table.store;
  });

  async function rawOrderItem(outTradeNo: string): Promise<Record<string, unknown> | undefined> {
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: `ORDER#${outTradeNo}`, sk: 'ORDER' } }),
    );
    return Item;
  }

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

    it('puts an open order in the due index and keeps a final one out of it', async () => {
      const open = order();
      const paid = order({ status: 'PAID', nextCheckAt: undefined, payment });
      await store.create(open);
      await store.create(paid);
      expect((await rawOrderItem(open.outTradeNo))?.dueKey).toBe('DUE');
      expect(await rawOrderItem(paid.outTradeNo)).not.toHaveProperty('dueKey');
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

    it('reports not_found for an unknown order, whatever the target', async () => {
      for (const to of ORDER_STATUSES) {
        expect(await store.transition(command(tradeNo(), to))).toEqual({ kind: 'not_found' });
      }
    });

    it('does not create an item for an unknown order', async () => {
      const outTradeNo = tradeNo();
      await store.transition(command(outTradeNo, 'PAID', { payment }));
      expect(await rawOrderItem(outTradeNo)).toBeUndefined();
    });

    it('records the facts that come with a transition', async () => {
      const created = order();
      await store.create(created);
      const prepay = {
        prepayId: 'wx201410272009395522657a690389285100',
        client: { code_url: 'weixin://wxpay/bizpayurl?pr=abc' },
        validUntil: at(7200),
      };
      const pending = await store.transition(
        command(created.outTradeNo, 'PENDING', { prepay, nextCheckAt: at(300), source: 'api' }),
      );
      expect(pending).toMatchObject({ kind: 'applied', order: { status: 'PENDING', prepay, nextCheckAt: at(300) } });

      const closed = await store.transition(
        command(created.outTradeNo, 'CLOSED', { reason: 'expired unpaid', source: 'sweep', at: at(7300) }),
      );
      expect(closed).toMatchObject({ kind: 'applied', order: { status: 'CLOSED', reason: 'expired unpaid', prepay } });
    });

    it('appends one history entry per applied transition, each naming the state it left', async () => {
      const created = order();
      await store.create(created);
      await store.transition(command(created.outTradeNo, 'PENDING', { source: 'api', at: at(1) }));
      await store.transition(command(created.outTradeNo, 'FAILED', { source: 'notify', at: at(2), note: 'PAYERROR' }));
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

    it('takes a final order out of the due index and keeps an open one in it', async () => {
      const created = order();
      await store.create(created);
      await store.transition(command(created.outTradeNo, 'PENDING', { nextCheckAt: at(600) }));
      expect(await rawOrderItem(created.outTradeNo)).toMatchObject({ dueKey: 'DUE', nextCheckAt: at(600) });

      const paid = await store.transition(command(created.outTradeNo, 'PAID', { payment, nextCheckAt: at(900) }));
      const item = await rawOrderItem(created.outTradeNo);
      expect(item).not.toHaveProperty('dueKey');
      expect(item).not.toHaveProperty('nextCheckAt');
      expect(paid.kind === 'applied' && paid.order.nextCheckAt).toBeUndefined();
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
  });

  describe('setNextCheck', () => {
    it('moves the next check of an open order', async () => {
      const created = order();
      await store.create(created);
      await store.setNextCheck(created.outTradeNo, at(999));
      expect((await store.get(created.outTradeNo))?.nextCheckAt).toBe(at(999));
    });

    it('leaves a final order out of the due index', async () => {
      const created = order();
      await store.create(created);
      await store.transition(command(created.outTradeNo, 'CLOSED'));
      await store.setNextCheck(created.outTradeNo, at(999));
      const item = await rawOrderItem(created.outTradeNo);
      expect(item).not.toHaveProperty('nextCheckAt');
      expect(item).not.toHaveProperty('dueKey');
    });

    it('does nothing for an unknown order', async () => {
      const outTradeNo = tradeNo();
      await store.setNextCheck(outTradeNo, at(999));
      expect(await rawOrderItem(outTradeNo)).toBeUndefined();
    });
  });

  describe('renewPrepay', () => {
    const prepay = (prepayId: string) => ({
      prepayId,
      client: { code_url: `weixin://wxpay/bizpayurl?pr=${prepayId}` },
      validUntil: at(9000),
    });

    it('replaces the prepay of an order awaiting payment, pending or failed', async () => {
      for (const status of ['PENDING', 'FAILED'] as const) {
        const created = order({ status, prepay: { ...prepay('old'), validUntil: at(10) } });
        await store.create(created);
        const result = await store.renewPrepay(created.outTradeNo, prepay('new'), at(200));
        expect(result).toMatchObject({ kind: 'applied', order: { status, prepay: prepay('new'), updatedAt: at(200) } });
        expect((await store.get(created.outTradeNo))?.prepay?.prepayId).toBe('new');
      }
    });

    it('leaves a paid order as it is and reports it', async () => {
      const created = order({ status: 'PAID', payment, prepay: prepay('old') });
      await store.create(created);
      const result = await store.renewPrepay(created.outTradeNo, prepay('new'), at(200));
      expect(result).toMatchObject({ kind: 'conflict', order: { status: 'PAID', prepay: { prepayId: 'old' } } });
    });

    it('reports an unknown order', async () => {
      expect(await store.renewPrepay(tradeNo(), prepay('new'), at(200))).toEqual({ kind: 'not_found' });
    });
  });

  describe('notifications', () => {
    function notification(overrides: Partial<NotificationRecord> = {}): NotificationRecord {
      return {
        id: randomUUID(),
        receivedAt: at(10),
        apiVersion: 'v2',
        outcome: 'accepted',
        body: '<xml><return_code><![CDATA[SUCCESS]]></return_code></xml>',
        ...overrides,
      };
    }

    it('keeps the notification that pays an order in the same write, and only if the write applies', async () => {
      const created = order({ status: 'PENDING' });
      await store.create(created);
      const paying = notification({ outTradeNo: created.outTradeNo, receivedAt: at(20) });
      const expectAmount = { total: 1999, currency: 'CNY' as const };
      const paid = await store.transition(
        command(created.outTradeNo, 'PAID', { payment, expectAmount, notification: paying }),
      );
      expect(paid).toMatchObject({ kind: 'applied', order: { status: 'PAID' } });
      expect(paid.kind === 'applied' && 'appliedNotifications' in paid.order).toBe(false);

      const copy = notification({ outTradeNo: created.outTradeNo, receivedAt: at(30) });
      const again = await store.transition(
        command(created.outTradeNo, 'PAID', { payment, expectAmount, notification: copy }),
      );
      expect(again.kind).toBe('already');
      await store.recordNotification({
        ...notification({ outTradeNo: created.outTradeNo, receivedAt: at(10) }),
        outcome: 'rejected',
        reason: 'forged',
      });
      expect((await store.listNotifications(created.outTradeNo)).map((n) => [n.receivedAt, n.outcome])).toEqual([
        [at(10), 'rejected'],
        [at(20), 'accepted'],
      ]);
    });

    it('refuses a payment of another amount than the order asks, and writes nothing', async () => {
      const created = order({ status: 'PENDING' });
      await store.create(created);
      for (const expectAmount of [
        { total: 1, currency: 'CNY' as const },
        { total: 1999, currency: 'USD' as unknown as 'CNY' },
      ]) {
        const result = await store.transition(
          command(created.outTradeNo, 'PAID', {
            payment,
            expectAmount,
            notification: notification({ outTradeNo: created.outTradeNo }),
          }),
        );
        expect(result).toMatchObject({ kind: 'amount_mismatch', order: { status: 'PENDING' } });
      }
      expect(await store.listNotifications(created.outTradeNo)).toEqual([]);
      expect((await store.get(created.outTradeNo))?.history).toHaveLength(1);
    });

    it('lists the notifications of an order in the order they arrived, duplicates included', async () => {
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
      const duplicate = { ...second, id: randomUUID() };
      for (const record of [third, first, second, duplicate]) await store.recordNotification(record);

      const listed = await store.listNotifications(created.outTradeNo);
      expect(listed).toHaveLength(4);
      expect(listed.slice(0, 1)).toEqual([first]);
      expect(new Set(listed.slice(1, 3))).toEqual(new Set([second, duplicate]));
      expect(listed[3]).toEqual(third);
      // The order item shares the partition but is not a notification.
      expect(await store.get(created.outTradeNo)).toEqual(created);
    });

    it('lists nothing for an order without notifications', async () => {
      expect(await store.listNotifications(tradeNo())).toEqual([]);
    });

    it('keeps an unmatched notification apart, expiring 400 days after it arrived', async () => {
      const unmatched = notification({ outcome: 'rejected', reason: 'not XML', body: 'garbage', receivedAt: at(50) });
      const matched = notification({ outTradeNo: tradeNo(), receivedAt: at(50) });
      await store.recordNotification(unmatched);
      await store.recordNotification(matched);

      const { Items: unmatchedItems = [] } = await table.documentClient.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': 'NOTIFY#UNMATCHED' },
        }),
      );
      const stored = unmatchedItems.find((item) => item.id === unmatched.id);
      expect(stored).toMatchObject({ body: 'garbage', ttl: Math.floor(T0 / 1000) + 50 + 400 * 86_400 });

      const [matchedItem] =
        (
          await table.documentClient.send(
            new QueryCommand({
              TableName: table.tableName,
              KeyConditionExpression: 'pk = :pk',
              ExpressionAttributeValues: { ':pk': `ORDER#${matched.outTradeNo}` },
            }),
          )
        ).Items ?? [];
      expect(matchedItem).toMatchObject({ id: matched.id });
      expect(matchedItem).not.toHaveProperty('ttl');
    });
  });

  describe('findDue', () => {
    it('returns the open orders whose check is due, oldest first, up to the limit', async () => {
      // A table of its own: the due index spans the whole table.
      const own = (await testTable()).store;
      const now = at(1000);
      const late = order({ nextCheckAt: at(700) });
      const later = order({ outTradeNo: '000042', nextCheckAt: at(900) });
      const exactlyNow = order({ status: 'PENDING', nextCheckAt: now });
      const future = order({ nextCheckAt: at(1001) });
      const paid = order({ status: 'PENDING', nextCheckAt: at(500) });
      const postponed = order({ nextCheckAt: at(600) });
      for (const o of [future, exactlyNow, later, paid, late, postponed]) await own.create(o);
      await own.transition(command(paid.outTradeNo, 'PAID', { payment }));
      await own.setNextCheck(postponed.outTradeNo, at(5000));

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
    });
  });

  it('lets errors other than a refused condition through', async () => {
    const missing = new DynamoDbOrderStore({ tableName: 'no-such-table', client: table.documentClient });
    await expect(missing.get('x')).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
    await expect(missing.transition(command('x', 'PAID'))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});
