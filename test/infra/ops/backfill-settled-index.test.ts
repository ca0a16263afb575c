import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';

import { backfillArguments, BackfillUsageError } from '#infra/ops/backfill-settled-index';
import { localEndpoint, testTable } from '#test/helpers/aws';
import { paidOrder } from '#test/helpers/refund-store-contract';

const run = promisify(execFile);

describe('backfillArguments', () => {
  it('reads the table, and the region, endpoint and segments when given', () => {
    expect(backfillArguments(['--table', 'orders'])).toEqual({ table: 'orders' });
    expect(
      backfillArguments([
        '--table',
        'orders',
        '--region',
        'ap-east-1',
        '--endpoint',
        'http://127.0.0.1:8000',
        '--segments',
        '8',
      ]),
    ).toEqual({ table: 'orders', region: 'ap-east-1', endpoint: 'http://127.0.0.1:8000', segments: 8 });
  });

  it.each([
    [[], /--table is required/],
    [['--table', 'orders', '--segments', '0'], /--segments/],
    [['--table', 'orders', '--endpoint', 'nowhere'], /--endpoint/],
    [['--table', 'orders', '--tabel', 'x'], /tabel/],
  ])('refuses %j with what is wrong and the usage', (argv, message) => {
    expect(() => backfillArguments(argv)).toThrow(BackfillUsageError);
    expect(() => backfillArguments(argv)).toThrow(message);
    expect(() => backfillArguments(argv)).toThrow(/usage: npm run backfill:settled-index/);
  });
});

describe('npm run backfill:settled-index (infra/ops/backfill-settled-index.ts)', () => {
  it('files an old PAID order of the table at the endpoint, and prints the counts', async () => {
    const table = await testTable();
    const order = paidOrder();
    await table.store.create(order);
    const key = { pk: `ORDER#${order.outTradeNo}`, sk: 'ORDER' };
    await table.documentClient.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: key,
        UpdateExpression: 'REMOVE settledKey, settledFen, settledId',
      }),
    );

    const env: NodeJS.ProcessEnv = { ...process.env, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
    delete env.AWS_PROFILE;
    const args = ['--table', table.tableName, '--region', 'us-east-1', '--endpoint', localEndpoint('dynamodbEndpoint')];
    const { stdout } = await run(
      process.execPath,
      ['--import', 'tsx', 'infra/ops/backfill-settled-index.ts', ...args],
      {
        env,
      },
    );
    expect(JSON.parse(stdout)).toMatchObject({ table: table.tableName, orders: 1, refunds: 0, skipped: 0 });
    const { Item } = await table.documentClient.send(new GetCommand({ TableName: table.tableName, Key: key }));
    expect(Item).toMatchObject({
      settledKey: expect.stringMatching(/^SETTLED#\d{4}-\d{2}-\d{2}#[0-7]$/),
      settledFen: 1999,
    });
  });
});
