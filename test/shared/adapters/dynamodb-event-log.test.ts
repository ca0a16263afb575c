import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventLog, EVENT_PUT_TIMEOUT_MS, EVENTS_SETTLE_MS } from '#shared/adapters/dynamodb-event-log';
import { EVENT_RETENTION_DAYS } from '#shared/domain/events';
import { testTable } from '#test/helpers/aws';
import { eventLogContract, sampleEvent } from '#test/helpers/event-log-contract';
import { TestClock } from '#test/helpers/test-clock';

// What any EventLog must do is in the contract, which the in-memory log keeps too; a fresh table each.
eventLogContract('DynamoDbEventLog on DynamoDB Local', async (clock) => {
  const { tableName, documentClient } = await testTable();
  return new DynamoDbEventLog({ tableName, client: documentClient, clock });
});

describe('DynamoDbEventLog', () => {
  it('stores an event as the table schema says: its own partition, the index keys of its day, a TTL', async () => {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    const event = sampleEvent('refund.succeeded', 'RF42');
    await log.record(event);
    const { Item: item } = await documentClient.send(
      new GetCommand({ TableName: tableName, Key: { pk: `EVENT#${event.id}`, sk: 'EVENT' } }),
    );
    expect(item).toEqual({
      pk: `EVENT#${event.id}`,
      sk: 'EVENT',
      eventId: event.id,
      eventType: 'refund.succeeded',
      createdAt: event.createdAt,
      outTradeNo: event.subject.outTradeNo,
      outRefundNo: 'RF42',
      data: event.data,
      recordedAt: '2030-05-06T07:08:09.123Z',
      ttl: Math.floor(Date.parse('2030-05-06T07:08:09.123Z') / 1000) + EVENT_RETENTION_DAYS * 86400,
      eventsKey: 'EVENTS#2030-05-06',
      eventsSortKey: `2030-05-06T07:08:09.123Z#${event.id}`,
    });
  });

  it('records an event once when twenty recorders race with it', async () => {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    const event = sampleEvent();
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => log.record(event)));
    expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'already_recorded')).toHaveLength(19);
  });

  it('fails a listing on a malformed event item instead of leaving it out', async () => {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    const event = sampleEvent();
    await log.record(event);
    const key = { pk: `EVENT#${event.id}`, sk: 'EVENT' };
    const { Item: item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key }));
    await documentClient.send(
      new PutCommand({ TableName: tableName, Item: { ...item, eventType: 'payment.refunded' } }),
    );
    clock.advance(10);
    await expect(log.list({ limit: 10 })).rejects.toThrow(/malformed[\s\S]*eventType/);
  });

  it('pages through a day holding more events than one query returns', async () => {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    // ~9 KB of data each: DynamoDB returns at most 1 MB per query page, so 150 of them take two pages.
    const events = Array.from({ length: 150 }, () => {
      const event = sampleEvent();
      return { ...event, data: { ...event.data, description: 'x'.repeat(9000) } };
    });
    for (const event of events) {
      await log.record(event);
      clock.advance(0.001);
    }
    clock.advance(EVENTS_SETTLE_MS / 1000);
    const queries = countQueries(documentClient);
    const page = await log.list({ limit: 150 });
    expect(page.events.map((e) => e.id)).toEqual(events.map((e) => e.id));
    // One query per retained day before today (all empty), and today's in two pages.
    expect(queries()).toBe(EVENT_RETENTION_DAYS + 2);
  });

  it('lets an idle poller with an old cursor read only the days since its last poll', async () => {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    await log.record(sampleEvent());
    clock.advance(EVENTS_SETTLE_MS / 1000);
    let { next } = await log.list({ limit: 10 });
    clock.advance(20 * 24 * 3600);
    const queries = countQueries(documentClient);
    ({ next } = await log.list({ after: next, limit: 10 }));
    expect(queries()).toBe(21); // the cursor's day to today
    for (let poll = 0; poll < 3; poll += 1) {
      clock.advance(5);
      ({ next } = await log.list({ after: next, limit: 10 }));
    }
    expect(queries()).toBe(21 + 3); // then today's alone
  });

  it('gives a put up within its bound, without retrying, so recordedAt cannot fall far behind the commit', async () => {
    // A DynamoDB that never answers: the one fault a real table cannot be made to show on demand.
    let requests = 0;
    const server = createServer(() => {
      requests += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const client = DynamoDBDocumentClient.from(
        new DynamoDBClient({
          region: 'us-east-1',
          endpoint: `http://127.0.0.1:${port}`,
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
      );
      const log = new DynamoDbEventLog({ tableName: 'events', client, putTimeoutMs: 300 });
      const started = Date.now();
      await expect(log.record(sampleEvent())).rejects.toMatchObject({ name: 'AbortError' });
      expect(Date.now() - started).toBeLessThan(2000);
      expect(requests).toBe(1);
      server.closeAllConnections();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    // The listing waits out a put's bound and more before it shows what was recorded.
    expect(EVENTS_SETTLE_MS).toBeGreaterThanOrEqual(EVENT_PUT_TIMEOUT_MS + 5000);
  });
});

/** Counts the queries the client sends from now on. */
function countQueries(client: DynamoDBDocumentClient): () => number {
  let queries = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') queries += 1;
      return next(args);
    },
    { step: 'initialize', name: `countQueries${Math.random()}` },
  );
  return () => queries;
}
