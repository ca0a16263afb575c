import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
} from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbEventLog, EVENT_PUT_TIMEOUT_MS, EVENTS_SETTLE_MS } from '#shared/adapters/dynamodb-event-log';
import { type DomainEvent, EVENT_RETENTION_DAYS, eventIdOf } from '#shared/domain/events';
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

describe('DynamoDbEventLog.getByIds', () => {
  async function logWith(events: DomainEvent[]) {
    const { tableName, documentClient } = await testTable();
    const clock = new TestClock('2030-05-06T07:08:09.123Z');
    const log = new DynamoDbEventLog({ tableName, client: documentClient, clock });
    for (const event of events) await log.record(event);
    return { log, documentClient };
  }

  /** `count` events, created a second apart, in shuffled order. */
  function eventsCreatedApart(count: number): DomainEvent[] {
    return Array.from({ length: count }, (_, i) => ({
      ...sampleEvent(),
      createdAt: new Date(Date.parse('2030-05-06T00:00:00.000Z') + i * 1000).toISOString(),
    }));
  }

  it('reads the events of the ids given, oldest first, straight after recording, leaving out unknown ids', async () => {
    const events = eventsCreatedApart(3);
    const { log } = await logWith([...events].reverse());
    const unknown = eventIdOf({ outTradeNo: 'NEVER2030010100001' }, 'payment.succeeded');
    const ids = events.map((e) => e.id);
    // No settling: unlike list(), an id lookup cannot skip an event that lands later.
    await expect(log.getByIds([ids[1] ?? '', unknown, ...ids.slice(2), ids[0] ?? ''])).resolves.toEqual(events);
    await expect(log.getByIds([unknown])).resolves.toEqual([]);
    await expect(log.getByIds([])).resolves.toEqual([]);
  });

  it('orders events created at the same instant by id', async () => {
    const events = [sampleEvent(), sampleEvent(), sampleEvent()];
    const { log } = await logWith(events);
    const found = await log.getByIds(events.map((e) => e.id).reverse());
    expect(found.map((e) => e.id)).toEqual(events.map((e) => e.id).sort());
  });

  it('reads more ids than one BatchGetItem takes, and the same id named twice once', async () => {
    const events = eventsCreatedApart(130);
    const { log, documentClient } = await logWith(events);
    const batchGets = countCommands(documentClient, 'BatchGetItemCommand');
    const ids = events.map((e) => e.id);
    const found = await log.getByIds([...ids, ...ids.slice(0, 1), ...ids.slice(-1)]);
    expect(found.map((e) => e.id)).toEqual(ids);
    expect(batchGets()).toBe(2);
  });

  it('asks again for the keys DynamoDB leaves unprocessed', async () => {
    const events = eventsCreatedApart(4);
    const { log, documentClient } = await logWith(events);
    const calls = throttleBatchGets(documentClient, (call) => (call === 1 ? 3 : 0));
    await expect(log.getByIds(events.map((e) => e.id))).resolves.toEqual(events);
    expect(calls()).toEqual([4, 3]);
  });

  it('gives up, saying so, when DynamoDB keeps leaving keys unprocessed', async () => {
    const events = eventsCreatedApart(2);
    const { log, documentClient } = await logWith(events);
    const calls = throttleBatchGets(documentClient, () => 1);
    await expect(log.getByIds(events.map((e) => e.id))).rejects.toThrow(/1 events not read.*unprocessed 5 times/);
    expect(calls()).toEqual([2, 1, 1, 1, 1]);
  });
});

/**
 * Throttling, which DynamoDB Local never does: the `held(call)` last keys of each BatchGet go back
 * unprocessed instead of being read (the rest are read from the real table). Returns the number of
 * keys each call asked for.
 */
function throttleBatchGets(client: DynamoDBDocumentClient, held: (call: number) => number): () => number[] {
  const asked: number[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'BatchGetItemCommand') return next(args);
      const [table, request] = Object.entries((args.input as BatchGetCommandInput).RequestItems ?? {})[0] ?? [];
      if (table === undefined || request?.Keys === undefined) throw new Error('a BatchGet of one table expected');
      asked.push(request.Keys.length);
      const split = Math.max(0, request.Keys.length - held(asked.length));
      const [sent, kept] = [request.Keys.slice(0, split), request.Keys.slice(split)];
      const answer: Awaited<ReturnType<typeof next>> =
        sent.length === 0
          ? { response: {}, output: { Responses: { [table]: [] }, $metadata: {} } }
          : await next({ ...args, input: { RequestItems: { [table]: { ...request, Keys: sent } } } });
      const output: BatchGetCommandOutput = {
        ...(answer.output as BatchGetCommandOutput),
        UnprocessedKeys: kept.length === 0 ? {} : { [table]: { ...request, Keys: kept } },
      };
      return { ...answer, output };
    },
    { step: 'initialize', name: `throttleBatchGets${Math.random()}` },
  );
  return () => asked;
}

/** Counts the commands of this name the client sends from now on. */
function countCommands(client: DynamoDBDocumentClient, commandName: string): () => number {
  let sent = 0;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) sent += 1;
      return next(args);
    },
    { step: 'initialize', name: `countCommands${Math.random()}` },
  );
  return () => sent;
}

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
