import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbReconciliationStore } from '#shared/adapters/dynamodb-reconciliation-store';
import { testTable } from '#test/helpers/aws';
import type { TestTable } from '#test/helpers/aws';
import { reconciliationReport } from '#test/helpers/reconciliation-fixtures';

describe('DynamoDbReconciliationStore on DynamoDB Local', () => {
  let table: TestTable;
  let store: DynamoDbReconciliationStore;

  beforeAll(async () => {
    table = await testTable();
    store = new DynamoDbReconciliationStore({ tableName: table.tableName, client: table.documentClient });
  });

  it('gives back the report it kept, as it was', async () => {
    await store.save(reconciliationReport());
    expect(await store.get('2030-01-01')).toEqual(reconciliationReport());
  });

  it('has no report for a day never reconciled', async () => {
    expect(await store.get('2030-02-01')).toBeUndefined();
  });

  it("replaces the day's report with the next run's, and leaves other days alone", async () => {
    await store.save(reconciliationReport({ billDate: '2030-01-03' }));
    await store.save(reconciliationReport({ billDate: '2030-01-04', apiVersion: 'v2' }));
    const matched = reconciliationReport({
      billDate: '2030-01-03',
      status: 'MATCHED',
      counts: { wechat: 3, here: 3, matched: 3, discrepancies: 0 },
      discrepancies: [],
      reconciledAt: '2030-01-04T03:30:00.000Z',
    });
    await store.save(matched);
    expect(await store.get('2030-01-03')).toEqual(matched);
    expect(await store.get('2030-01-04')).toEqual(reconciliationReport({ billDate: '2030-01-04', apiVersion: 'v2' }));
  });

  it('keeps an empty day, and drops members left undefined', async () => {
    const empty = reconciliationReport({
      billDate: '2030-01-05',
      status: 'MATCHED',
      counts: { wechat: 0, here: 0, matched: 0, discrepancies: 0 },
      discrepancies: [
        { kind: 'MISSING_AT_WECHAT', outTradeNo: 'T9', outRefundNo: undefined, here: { status: 'PAID', amount: 5 } },
      ],
      billFound: false,
    });
    await store.save(empty);
    const read = await store.get('2030-01-05');
    expect(read?.billFound).toBe(false);
    expect(read?.discrepancies[0]).toEqual({
      kind: 'MISSING_AT_WECHAT',
      outTradeNo: 'T9',
      here: { status: 'PAID', amount: 5 },
    });
    expect(read?.discrepancies[0]).not.toHaveProperty('outRefundNo');
  });

  it('keeps the report in its own item, expiring 400 days after the run', async () => {
    await store.save(reconciliationReport({ billDate: '2030-01-06' }));
    const { Item } = await table.documentClient.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: 'RECONCILIATION#2030-01-06', sk: 'RECONCILIATION' } }),
    );
    expect(Item).toMatchObject({ billDate: '2030-01-06', report: { billDate: '2030-01-06', status: 'DISCREPANCIES' } });
    expect(Item?.ttl).toBe(Math.floor(Date.parse('2030-01-02T02:30:07.123Z') / 1000) + 400 * 86_400);
    // No top-level status: the table stream's filter drops it (no event is made of a report).
    expect(Item).not.toHaveProperty('status');
  });

  it('refuses a stored report that is not one', async () => {
    await table.documentClient.send(
      new PutCommand({
        TableName: table.tableName,
        Item: {
          pk: 'RECONCILIATION#2030-01-07',
          sk: 'RECONCILIATION',
          report: { billDate: '2030-01-07', status: 'FINE' },
        },
      }),
    );
    await expect(store.get('2030-01-07')).rejects.toThrow();
  });
});
