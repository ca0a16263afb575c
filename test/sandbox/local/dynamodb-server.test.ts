import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeTableCommand, DescribeTimeToLiveCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import type { Order } from '#shared/domain/order';
import { LocalServerError, loopbackIsolation, startDynamoDbLocal } from '#sandbox/local/dynamodb-server';
import { ensureTable, localDocumentClient, localDynamoDbClient } from '#sandbox/local/resources';
import { localEndpoint, uniqueName } from '#test/helpers/aws';

const order: Order = {
  outTradeNo: '0000000042',
  status: 'PENDING',
  request: {
    outTradeNo: '0000000042',
    description: 'Kept across restarts',
    amount: { total: 1, currency: 'CNY' },
    tradeType: 'APP',
    payerClientIp: '198.51.100.2',
    expiresAt: '2030-01-01T02:00:00.000Z',
  },
  requestHash: 'a'.repeat(64),
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:01.000Z',
  nextCheckAt: '2030-01-01T00:05:00.000Z',
  history: [{ at: '2030-01-01T00:00:00.000Z', from: null, to: 'CREATED', source: 'api' }],
};

async function answers(endpoint: string): Promise<boolean> {
  try {
    await localDynamoDbClient(endpoint).send(new ListTablesCommand({}));
    return true;
  } catch {
    return false;
  }
}

/** This machine's addresses other than loopback: where another machine (or a container) would connect. */
function outsideAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && (a.family === 'IPv4' || !a.address.startsWith('fe80:')))
    .map((a) => a!.address);
}

/** Whether a TCP connection to the address and port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

describe('DynamoDB Local on loopback only', () => {
  const addresses = outsideAddresses();
  // A machine without namespaces whose owner accepted an unconfined server (see .ci/run).
  const acceptedUnconfined = process.env.DYNAMODB_LOCAL_ALL_INTERFACES === '1' && !loopbackIsolation().available;

  it.skipIf(addresses.length === 0 || acceptedUnconfined)(
    'cannot be reached through any other address of this machine',
    async () => {
      const port = Number(new URL(localEndpoint('dynamodbEndpoint')).port);
      expect(await accepts('127.0.0.1', port)).toBe(true);
      for (const address of addresses)
        expect({ address, accepted: await accepts(address, port) }).toEqual({ address, accepted: false });
    },
  );

  it('starts confined and answers on its 127.0.0.1 endpoint', async () => {
    const server = await startDynamoDbLocal();
    try {
      expect(await answers(server.endpoint)).toBe(true);
      expect(new URL(server.endpoint).hostname).toBe('127.0.0.1');
    } finally {
      await server.stop();
    }
  });

  it.skipIf(acceptedUnconfined)('is confined on this machine (unprivileged network namespaces and `ip`)', () => {
    expect(loopbackIsolation()).toEqual({ available: true });
  });

  it('refuses to start, saying why and what to do, when the confinement is not available', async () => {
    // A machine without network namespaces cannot be made here: the probe's answer is replaced.
    const attempt = startDynamoDbLocal({
      isolation: () => ({ available: false, reason: 'unshare: unshare failed: Operation not permitted' }),
      allowAllInterfaces: false,
    });
    await expect(attempt).rejects.toBeInstanceOf(LocalServerError);
    await expect(attempt).rejects.toThrow(
      /every network interface[\s\S]*Operation not permitted[\s\S]*DYNAMODB_LOCAL_ALL_INTERFACES=1/,
    );
  });
});

describe('startDynamoDbLocal', () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'dynamodb-local-'));
  });

  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('keeps tables and items on disk across a stop and a start', async () => {
    const tableName = uniqueName('orders');
    const first = await startDynamoDbLocal({ dataDir });
    try {
      await ensureTable(localDynamoDbClient(first.endpoint), tableName);
      const store = new DynamoDbOrderStore({ tableName, client: localDocumentClient(first.endpoint) });
      expect((await store.create(order)).kind).toBe('created');
    } finally {
      await first.stop();
    }
    expect(await answers(first.endpoint)).toBe(false);
    // -sharedDb: one database file, whatever region and credentials the clients used.
    expect(await readdir(dataDir)).toEqual(['shared-local-instance.db']);

    const second = await startDynamoDbLocal({ dataDir });
    try {
      // Creating the table again finds it there and leaves it as it is.
      await ensureTable(localDynamoDbClient(second.endpoint), tableName);
      const store = new DynamoDbOrderStore({ tableName, client: localDocumentClient(second.endpoint) });
      expect(await store.get(order.outTradeNo)).toEqual(order);
      expect(await store.findDue('2030-01-01T00:05:00.000Z', 10)).toEqual([
        { outTradeNo: '0000000042', nextCheckAt: '2030-01-01T00:05:00.000Z' },
      ]);
    } finally {
      await second.stop();
    }
  });

  it('refuses a port that is already taken, quickly and clearly', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const attempt = startDynamoDbLocal({ port });
      await expect(attempt).rejects.toBeInstanceOf(LocalServerError);
      await expect(attempt).rejects.toThrow(`port ${port}`);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});

describe('ensureTable on the run’s DynamoDB Local', () => {
  it('creates the orders table with its keys, its three indexes, stream and TTL, runs again', async () => {
    const client = localDynamoDbClient(localEndpoint('dynamodbEndpoint'));
    const tableName = uniqueName('orders');
    await ensureTable(client, tableName);
    await ensureTable(client, tableName);

    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    expect(table?.TableStatus).toBe('ACTIVE');
    expect(table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ]);
    expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(table?.GlobalSecondaryIndexes).toHaveLength(3);
    expect(table?.GlobalSecondaryIndexes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          IndexName: 'due-index',
          KeySchema: [
            { AttributeName: 'dueKey', KeyType: 'HASH' },
            { AttributeName: 'nextCheckAt', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
          IndexStatus: 'ACTIVE',
        }),
        expect.objectContaining({
          IndexName: 'settled-index',
          KeySchema: [{ AttributeName: 'settledKey', KeyType: 'HASH' }],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['settledFen', 'settledId'] },
          IndexStatus: 'ACTIVE',
        }),
        expect.objectContaining({
          IndexName: 'events-index',
          KeySchema: [
            { AttributeName: 'eventsKey', KeyType: 'HASH' },
            { AttributeName: 'eventsSortKey', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
          IndexStatus: 'ACTIVE',
        }),
      ]),
    );
    expect(table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' });
    const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    expect(ttl).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: 'ttl' });
  });
});
