import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';

import {
  type DynamoDbStreamHandler,
  type DynamoDbStreamSource,
  resumeIndex,
  type StreamCheckpoint,
  startDynamoDbStreamSource,
} from '#sandbox/local/dynamodb-stream-source';
import { startDynamoDbLocal } from '#sandbox/local/dynamodb-server';
import { ensureTable, localDynamoDbClient, localStreamsClient } from '#sandbox/local/resources';
import { STREAM_POSITIONS_FILE, streamPositionsFile } from '#sandbox/local/stream-positions-file';
import { DUE_INDEX, EVENTS_INDEX, SETTLED_INDEX, TABLE_STREAM_VIEW } from '#shared/adapters/table-schema';
import { waitFor } from '#test/helpers/wait-for';

let dynamodb: DynamoDBClient;
let streams: DynamoDBStreamsClient;
let source: DynamoDbStreamSource | undefined;
const logs: string[] = [];

beforeAll(() => {
  dynamodb = localDynamoDbClient(inject('dynamodbEndpoint'));
  streams = localStreamsClient(inject('dynamodbEndpoint'));
});

afterEach(async () => {
  await source?.stop();
  source = undefined;
});

afterAll(() => {
  dynamodb.destroy();
  streams.destroy();
});

const FUNCTION = { functionName: 'local-events', timeoutMs: 5_000, region: 'us-east-1' };

async function freshTable(): Promise<{ tableName: string; streamArn: string }> {
  const tableName = `stream-${randomUUID().slice(0, 8)}`;
  const { streamArn } = await ensureTable(dynamodb, tableName);
  return { tableName, streamArn };
}

async function put(tableName: string, pk: string, value: number, sk = 'ITEM'): Promise<void> {
  await dynamodb.send(
    new PutItemCommand({
      TableName: tableName,
      Item: { pk: { S: pk }, sk: { S: sk }, value: { N: String(value) }, blob: { B: Uint8Array.of(1, 2, 3) } },
    }),
  );
}

const valueOf = (r: DynamoDBRecord) => Number(r.dynamodb?.NewImage?.value?.N);

function start(streamArn: string, handler: DynamoDbStreamHandler, checkpoint?: StreamCheckpoint) {
  source = startDynamoDbStreamSource({
    client: streams,
    streamArn,
    handler,
    ...(checkpoint === undefined ? {} : { checkpoint }),
    function: FUNCTION,
    pollIntervalMs: 50,
    retryDelayMs: 50,
    log: (line) => logs.push(line),
    onError: (error) => logs.push(`error: ${String(error)}`),
  });
  return source;
}

describe('ensureTable', () => {
  it('makes the table with the stream (both images) and the events index', async () => {
    const { tableName, streamArn } = await freshTable();
    const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    expect(table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW });
    expect(table?.LatestStreamArn).toBe(streamArn);
    expect(table?.GlobalSecondaryIndexes?.map((i) => i.IndexName)).toContain(EVENTS_INDEX.name);
  });

  // On a DynamoDB Local of its own: the run's shared one, busy with every other file's tables, has been
  // seen to leave a new index CREATING for over a minute, while alone it builds it in about a second.
  it('brings a table made by an older start up to date: later indexes and the stream are added', async () => {
    const server = await startDynamoDbLocal();
    const dynamodb = localDynamoDbClient(server.endpoint);
    try {
      await upgradesAnOlderTable(dynamodb);
    } finally {
      await server.stop();
    }
  }, 90_000);
});

async function upgradesAnOlderTable(dynamodb: DynamoDBClient): Promise<void> {
  const tableName = `stream-old-${randomUUID().slice(0, 8)}`;
  await dynamodb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: ['pk', 'sk', DUE_INDEX.partitionKey, DUE_INDEX.sortKey].map((name) => ({
        AttributeName: name,
        AttributeType: 'S',
      })),
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: DUE_INDEX.name,
          KeySchema: [
            { AttributeName: DUE_INDEX.partitionKey, KeyType: 'HASH' },
            { AttributeName: DUE_INDEX.sortKey, KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: DUE_INDEX.projection },
        },
      ],
    }),
  );
  const { streamArn } = await ensureTable(dynamodb, tableName);
  const { Table: table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  expect(table?.StreamSpecification).toEqual({ StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW });
  expect(table?.LatestStreamArn).toBe(streamArn);
  expect(table?.GlobalSecondaryIndexes?.map((i) => i.IndexName).sort()).toEqual(
    [DUE_INDEX.name, EVENTS_INDEX.name, SETTLED_INDEX.name].sort(),
  );
  // And again: nothing left to change.
  expect(await ensureTable(dynamodb, tableName)).toEqual({ streamArn });
}

describe('resumeIndex (ReportBatchItemFailures rules for a stream)', () => {
  const event = {
    Records: ['10', '20', '30'].map((SequenceNumber) => ({ dynamodb: { SequenceNumber } })),
  } as DynamoDBStreamEvent;

  it('treats no response or an empty list as full success', () => {
    expect(resumeIndex(event, undefined)).toBeUndefined();
    expect(resumeIndex(event, { batchItemFailures: [] })).toBeUndefined();
  });

  it('resumes at the earliest record named', () => {
    expect(resumeIndex(event, { batchItemFailures: [{ itemIdentifier: '30' }, { itemIdentifier: '20' }] })).toBe(1);
  });

  it('retries the whole batch when an identifier is empty or not in the batch', () => {
    expect(resumeIndex(event, { batchItemFailures: [{ itemIdentifier: '' }] })).toBe(0);
    expect(resumeIndex(event, { batchItemFailures: [{ itemIdentifier: '99' }] })).toBe(0);
  });
});

describe('DynamoDB stream source on DynamoDB Local', () => {
  it('hands records written before and after its start to the handler, in order, as Lambda builds them', async () => {
    const { tableName, streamArn } = await freshTable();
    // Written before the poller starts: TRIM_HORIZON still reads them.
    for (let i = 1; i <= 3; i++) await put(tableName, 'A', i);
    const seen: DynamoDBRecord[] = [];
    start(streamArn, async (event) => {
      seen.push(...event.Records);
    });
    for (let i = 4; i <= 6; i++) await put(tableName, 'A', i);
    await waitFor(
      async () => seen.length,
      (n) => n >= 6,
    );
    expect(seen.map(valueOf)).toEqual([1, 2, 3, 4, 5, 6]);

    const [first, second] = seen as [DynamoDBRecord, DynamoDBRecord];
    expect(first).toMatchObject({
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      eventVersion: '1.1',
      eventSourceARN: streamArn,
      awsRegion: 'us-east-1',
      dynamodb: {
        Keys: { pk: { S: 'A' }, sk: { S: 'ITEM' } },
        NewImage: { value: { N: '1' }, blob: { B: 'AQID' } },
        StreamViewType: 'NEW_AND_OLD_IMAGES',
        SequenceNumber: expect.any(String),
        SizeBytes: expect.any(Number),
        ApproximateCreationDateTime: expect.any(Number),
      },
    });
    expect(first.dynamodb?.OldImage).toBeUndefined();
    expect(second).toMatchObject({ eventName: 'MODIFY', dynamodb: { OldImage: { value: { N: '1' } } } });
    // Epoch seconds, as Lambda gives them (not milliseconds).
    expect(Math.abs((first.dynamodb?.ApproximateCreationDateTime ?? 0) - Date.now() / 1000)).toBeLessThan(120);
    // Looked up by table name when no ARN is given: the same stream.
    expect(seen.every((r) => r.eventSourceARN === streamArn)).toBe(true);
  });

  it('re-delivers the failed record and those after it, never the ones before', async () => {
    const { tableName, streamArn } = await freshTable();
    for (let i = 1; i <= 5; i++) await put(tableName, 'B', i);
    const batches: number[][] = [];
    let failOnce = true;
    start(streamArn, async (event) => {
      batches.push(event.Records.map(valueOf));
      const third = event.Records.find((r) => valueOf(r) === 3);
      if (failOnce && third !== undefined) {
        failOnce = false;
        // As the events handler does: the records before succeeded, this one failed.
        return { batchItemFailures: [{ itemIdentifier: third.dynamodb?.SequenceNumber ?? '' }] };
      }
      return { batchItemFailures: [] };
    });
    await waitFor(
      async () => batches.flat().filter((v) => v === 5).length,
      (n) => n >= 2,
    );
    const all = batches.flat();
    expect(all.filter((v) => v === 1)).toHaveLength(1);
    expect(all.filter((v) => v === 2)).toHaveLength(1);
    expect(all.filter((v) => v === 3)).toHaveLength(2);
    // After the failure the next batch starts at the failed record.
    const retry = batches.find((b, i) => i > 0 && b.includes(3));
    expect(retry?.[0]).toBe(3);
    expect(retry).toEqual([3, 4, 5]);
    expect(logs.some((l) => l.includes('retrying from record 3'))).toBe(true);
  });

  it('retries the whole batch when the handler throws, holding later records back until it succeeds', async () => {
    const { tableName, streamArn } = await freshTable();
    await put(tableName, 'C', 1);
    let calls = 0;
    const delivered: number[] = [];
    start(streamArn, async (event) => {
      calls += 1;
      if (calls <= 2) throw new Error('table unavailable');
      delivered.push(...event.Records.map(valueOf));
    });
    await waitFor(
      async () => calls,
      (n) => n >= 2,
    );
    await put(tableName, 'C', 2);
    await waitFor(
      async () => delivered,
      (d) => d.includes(2),
    );
    expect(delivered).toEqual([1, 2]);
    expect(logs.some((l) => l.includes('[local-events] function error') && l.includes('table unavailable'))).toBe(true);
  });

  it('passes over the records its filter refuses, without an invocation when none is left', async () => {
    const { tableName, streamArn } = await freshTable();
    await put(tableName, 'F', 1, 'OTHER');
    await put(tableName, 'F', 2);
    await put(tableName, 'F', 3, 'OTHER');
    const batches: number[][] = [];
    source = startDynamoDbStreamSource({
      client: streams,
      streamArn,
      handler: async (event) => void batches.push(event.Records.map(valueOf)),
      function: FUNCTION,
      filter: (record) => record.dynamodb?.Keys?.sk?.S === 'ITEM',
      pollIntervalMs: 50,
      log: (line) => logs.push(line),
    });
    await waitFor(
      async () => batches.flat(),
      (values) => values.includes(2),
    );
    await put(tableName, 'F', 4, 'OTHER');
    await put(tableName, 'F', 5);
    await waitFor(
      async () => batches.flat(),
      (values) => values.includes(5),
    );
    expect(batches.flat()).toEqual([2, 5]);
    expect(batches.every((b) => b.length > 0)).toBe(true);
  });

  it('goes on after the last record handled when started again with its checkpoint, redelivering none', async () => {
    const { tableName, streamArn } = await freshTable();
    const dir = mkdtempSync(join(tmpdir(), 'stream-positions-'));
    const file = join(dir, STREAM_POSITIONS_FILE);
    try {
      for (let i = 1; i <= 3; i++) await put(tableName, 'R', i);
      const first: number[] = [];
      const firstRun = start(
        streamArn,
        async (event) => void first.push(...event.Records.map(valueOf)),
        streamPositionsFile(file),
      );
      await waitFor(
        async () => first.length,
        (n) => n === 3,
      );
      await firstRun.stop();
      // The last record of the shard is kept, by shard id, for this stream.
      const saved = JSON.parse(readFileSync(file, 'utf8')) as { streamArn: string; shards: Record<string, string> };
      expect(saved.streamArn).toBe(streamArn);
      expect(Object.values(saved.shards)).toHaveLength(1);

      // A restart (a new source, a new reader of the file): only what was written since.
      await put(tableName, 'R', 4);
      const second: number[] = [];
      const secondRun = start(
        streamArn,
        async (event) => void second.push(...event.Records.map(valueOf)),
        streamPositionsFile(file),
      );
      await waitFor(
        async () => second.length,
        (n) => n >= 1,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(second).toEqual([4]);
      await secondRun.stop();

      // Without the checkpoint (the tests' in-memory stacks) a start reads from the trim horizon, as before.
      const fresh: number[] = [];
      start(streamArn, async (event) => void fresh.push(...event.Records.map(valueOf)));
      await waitFor(
        async () => fresh.length,
        (n) => n >= 4,
      );
      expect(fresh).toEqual([1, 2, 3, 4]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads a shard its checkpoint does not know from the trim horizon', async () => {
    const { tableName, streamArn } = await freshTable();
    await put(tableName, 'U', 1);
    await put(tableName, 'U', 2);
    // Positions of other shards (of a table made again) tell nothing about this one.
    const checkpoint: StreamCheckpoint = {
      load: () => ({ 'shardId-00000000000000000000-00000000': '000000000000000000099' }),
      save: () => undefined,
    };
    const seen: number[] = [];
    start(streamArn, async (event) => void seen.push(...event.Records.map(valueOf)), checkpoint);
    await waitFor(
      async () => seen.length,
      (n) => n >= 2,
    );
    expect(seen).toEqual([1, 2]);
  });

  it('stops promptly, and delivers nothing after stop', async () => {
    const { tableName, streamArn } = await freshTable();
    const seen: number[] = [];
    const running = start(streamArn, async (event) => void seen.push(...event.Records.map(valueOf)));
    await put(tableName, 'D', 1);
    await waitFor(
      async () => seen.length,
      (n) => n === 1,
    );
    const began = Date.now();
    await running.stop();
    expect(Date.now() - began).toBeLessThan(500);
    source = undefined;
    await put(tableName, 'D', 2);
    await new Promise((r) => setTimeout(r, 300));
    expect(seen).toEqual([1]);
  });
});
