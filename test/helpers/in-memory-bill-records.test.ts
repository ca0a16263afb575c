import { describe, expect, it } from 'vitest';

import type { SettledRecord } from '#shared/domain/bill-reconciliation';
import { InMemorySettledRecords } from '#test/helpers/in-memory-bill-records';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { paidOrder } from '#test/helpers/refund-harness';

async function listAll(records: InMemorySettledRecords, billDate: string): Promise<SettledRecord[]> {
  const listed: SettledRecord[] = [];
  for await (const record of records.listSettled(billDate)) listed.push(record);
  return listed;
}

/** The DynamoDB settled index's rule (dynamodb-order-item.ts), kept by the in-memory stand-in. */
describe('InMemorySettledRecords', () => {
  it('lists a PAID order on the Beijing day of its payment', async () => {
    const orders = new InMemoryOrderStore();
    const records = new InMemorySettledRecords(orders, new InMemoryRefundStore(orders));
    const order = paidOrder();
    await orders.create(order);
    expect(await listAll(records, '2030-01-01')).toEqual([
      {
        kind: 'payment',
        outTradeNo: order.outTradeNo,
        transactionId: order.payment?.transactionId,
        total: 1999,
      },
    ]);
  });

  it('a paidAt naming no instant: on the day of the move to PAID, as the DynamoDB store files it', async () => {
    const orders = new InMemoryOrderStore();
    const records = new InMemorySettledRecords(orders, new InMemoryRefundStore(orders));
    const base = paidOrder();
    // Moved to PAID at 00:30 on 2030-01-02 in Beijing; the order changed again later (updatedAt).
    const order = paidOrder({
      payment: { ...base.payment!, paidAt: 'not a time' },
      history: [
        { at: '2030-01-01T00:00:00.000Z', from: null, to: 'CREATED', source: 'api' },
        { at: '2030-01-01T16:30:00.000Z', from: 'CREATED', to: 'PAID', source: 'notify' },
      ],
      updatedAt: '2030-01-03T16:30:00.000Z',
    });
    await orders.create(order);
    expect(await listAll(records, '2030-01-01')).toEqual([]);
    expect((await listAll(records, '2030-01-02')).map((r) => r.outTradeNo)).toEqual([order.outTradeNo]);
    expect(await listAll(records, '2030-01-04')).toEqual([]);
  });
});
