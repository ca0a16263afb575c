import type { ConsumedCapacity } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';

import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { DUE_INDEX } from '#shared/adapters/table-schema';
import { DEFAULT_RECONCILE_SCHEDULE } from '#shared/config/settings';
import { ensureTable, localDynamoDbClient } from '#sandbox/local/resources';
import { localEndpoint, uniqueName } from '#test/helpers/aws';
import { at } from '#test/helpers/order-fixtures';
import {
  newPayment,
  paymentHarness,
  prepayResult,
  RECONCILE_SCHEDULE,
  tradeReport,
} from '#test/helpers/payment-harness';

/** One write request as DynamoDB billed it: write units on the table and on the due index. */
interface BilledWrite {
  operation: string;
  tableUnits: number;
  dueIndexUnits: number;
}

const WRITE_OPERATIONS = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem']);

/**
 * A store over a fresh table whose client asks DynamoDB (Local) for the capacity every request
 * consumed, index by index, and keeps what the writes were billed.
 */
async function billedStore(): Promise<{ store: DynamoDbOrderStore; writes: BilledWrite[] }> {
  const tableName = uniqueName('orders-billed');
  const client = localDynamoDbClient(localEndpoint('dynamodbEndpoint'));
  await ensureTable(client, tableName);
  const writes: BilledWrite[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ReturnConsumedCapacity?: string };
      input.ReturnConsumedCapacity = 'INDEXES';
      const result = await next(args);
      const operation = String(context.commandName).replace(/Command$/, '');
      if (WRITE_OPERATIONS.has(operation)) {
        const output = result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] };
        for (const consumed of [output.ConsumedCapacity ?? []].flat()) {
          writes.push({
            operation,
            tableUnits: consumed.Table?.CapacityUnits ?? 0,
            dueIndexUnits: consumed.GlobalSecondaryIndexes?.[DUE_INDEX.name]?.CapacityUnits ?? 0,
          });
        }
      }
      return result;
    },
    { step: 'initialize', name: 'billedWrites' },
  );
  return { store: new DynamoDbOrderStore({ tableName, client: DynamoDBDocumentClient.from(client) }), writes };
}

const units = (writes: BilledWrite[]): number => writes.reduce((sum, w) => sum + w.tableUnits + w.dueIndexUnits, 0);

/**
 * What an order that expires unpaid writes, as DynamoDB Local bills it (ReturnConsumedCapacity), run by
 * the real CreatePayment and Reconciler over a real table on a test clock: each check runs when due,
 * WeChat answering NOTPAY, until the check at the expiry closes it. A check that learns nothing writes
 * nothing, so the order's item is written at creation (twice: the order, then its prepay and watch
 * bound) and at the close, however many checks there are.
 */
describe.each([
  ['the default schedule', DEFAULT_RECONCILE_SCHEDULE.split(',').map(Number), 8],
  ['a dense schedule', RECONCILE_SCHEDULE, 62],
])('An order that expires unpaid, checked on %s, over DynamoDB Local', (_name, schedule, checks) => {
  it('writes its item three times and its due-index entry twice, whatever the number of checks', async () => {
    const { store, writes } = await billedStore();
    const h = paymentHarness({ store, reconcileSchedule: schedule });
    h.provider.onPrepay(prepayResult('wx-expiring'));
    const order = await h.createPayment.execute(newPayment({ outTradeNo: uniqueName('E').replace(/-/g, '') }));
    expect(order.request.expiresAt).toBe(at(7200));
    const creation = writes.splice(0);

    const results: string[] = [];
    for (let next = h.scheduler.scheduled.at(-1); next !== undefined; next = h.scheduler.scheduled.at(-1)) {
      const scheduled = h.scheduler.scheduled.length;
      h.clock.set(next.dueAt);
      h.provider.onQuery(tradeReport(order.outTradeNo, 'NOTPAY'));
      h.provider.onClose(undefined);
      results.push(await h.reconciler.check(next));
      if (h.scheduler.scheduled.length === scheduled) break;
    }
    expect(results).toHaveLength(checks);
    expect(results.at(-1)).toBe('closed');
    expect((await store.get(order.outTradeNo))?.status).toBe('CLOSED');

    // The order, then PENDING with its bound: the bound's entry in the due index is written once.
    expect(creation.map((w) => w.operation)).toEqual(['PutItem', 'UpdateItem']);
    expect(creation.map((w) => w.dueIndexUnits > 0)).toEqual([false, true]);
    // The checks: only the close, which takes the entry out of the index.
    expect(writes.map((w) => w.operation)).toEqual(['UpdateItem']);
    expect(writes[0]?.dueIndexUnits).toBeGreaterThan(0);
    const all = [...creation, ...writes];
    expect(all).toHaveLength(3);
    expect(units(all)).toBeLessThanOrEqual(12);
  });
});
