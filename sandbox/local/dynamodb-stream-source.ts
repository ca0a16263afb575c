import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import type { Context, DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';

import { EVENT_RELAY_BATCH_SIZE } from '#shared/config/event-relay';
import { toDynamoDbStreamEvent } from './dynamodb-stream-events';
import { describeFunctionError, invoke, type LocalFunction } from './lambda-context';

export type DynamoDbStreamHandler = (
  event: DynamoDBStreamEvent,
  context: Context,
) => Promise<DynamoDBBatchResponse | void>;

export interface DynamoDbStreamSourceOptions {
  /** A Streams client on the DynamoDB endpoint (localStreamsClient). */
  client: DynamoDBStreamsClient;
  /** The stream to read (ensureTable answers it). */
  streamArn: string;
  handler: DynamoDbStreamHandler;
  /** The function the handler stands for (name, timeout, region), as in lambda-context. */
  function: LocalFunction;
  /**
   * The event source mapping's filter criteria, as a predicate: records it refuses are passed over
   * without an invocation, as Lambda drops the records its filters do not match.
   */
  filter?: (record: DynamoDBRecord) => boolean;
  /** Records per invocation at most; by default the events function's in AWS (EVENT_RELAY_BATCH_SIZE). */
  batchSize?: number;
  /** The wait between polls of a shard that had nothing new (Lambda polls each shard 4 times a second). */
  pollIntervalMs?: number;
  /** The first wait before a failed batch is read again; it doubles on each failure in a row, up to maxRetryDelayMs. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** How often the stream's shards are listed again, to find new ones. */
  shardRefreshMs?: number;
  /** Function errors and retries, as Lambda writes them to the function's log. */
  log?: (line: string) => void;
  /** A failure of the poller itself (the Streams API); it carries on after a pause. */
  onError?: (error: unknown) => void;
  /**
   * Where the position in each shard is kept across starts (stream-positions-file.ts); absent: in
   * memory only, and every start reads the stream from its trim horizon.
   */
  checkpoint?: StreamCheckpoint;
}

/** The last record handled in each shard of a stream, kept across starts of the source. */
export interface StreamCheckpoint {
  /** The positions saved for this stream, by shard id; none for another stream. */
  load(streamArn: string): Readonly<Record<string, string>>;
  /** Called after each batch that moved a shard's position on, with every shard's. */
  save(streamArn: string, shards: Readonly<Record<string, string>>): void;
}

export interface DynamoDbStreamSource {
  /** Stops polling, lets the invocation in hand finish, then resolves. */
  stop(): Promise<void>;
}

export const STREAM_SOURCE_DEFAULTS = {
  batchSize: EVENT_RELAY_BATCH_SIZE,
  pollIntervalMs: 200,
  retryDelayMs: 500,
  maxRetryDelayMs: 10_000,
  shardRefreshMs: 1_000,
  /** After a failure of the Streams API itself. */
  errorPauseMs: 1_000,
} as const;

/** Where reading a shard goes on from. */
type Position =
  | { kind: 'start' }
  /** Everything up to and including this record was handled. */
  | { kind: 'after'; sequenceNumber: string }
  /** This record failed: it is read again, and all after it. */
  | { kind: 'at'; sequenceNumber: string };

interface ShardState {
  shardId: string;
  parentShardId: string | undefined;
  position: Position;
  iterator: string | undefined;
  /** Failures of the same batch in a row, for the retry back-off. */
  failures: number;
  notBefore: number;
}

/**
 * The record a DynamoDBBatchResponse asks to resume from, by Lambda's rules for a stream with
 * ReportBatchItemFailures: the earliest record named; no answer or an empty list is full success; an
 * identifier that is empty or not a record of the batch fails the whole batch (resume at its first).
 */
export function resumeIndex(event: DynamoDBStreamEvent, response: DynamoDBBatchResponse | void): number | undefined {
  const failures = response ? response.batchItemFailures : [];
  if (failures.length === 0) return undefined;
  const sequence = event.Records.map((r) => r.dynamodb?.SequenceNumber);
  const indexes = failures.map(({ itemIdentifier }) => (itemIdentifier === '' ? -1 : sequence.indexOf(itemIdentifier)));
  return indexes.includes(-1) ? 0 : Math.min(...indexes);
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}

/**
 * Feeds a table's DynamoDB stream to a handler the way Lambda's DynamoDB event source mapping does
 * (starting position TRIM_HORIZON, ReportBatchItemFailures on, bisect off, retried until it succeeds):
 * each shard is read in order, a parent shard to its end before its children, and a batch's failure
 * holds its shard back, so records of one item always reach the handler in order and none is skipped.
 *
 * Like the mapping, which keeps its place in each shard across deployments, the source saves the last
 * record handled per shard in its checkpoint after each batch, and a new start goes on after it
 * (AFTER_SEQUENCE_NUMBER); a shard it has no position for is read from its trim horizon. Without a
 * checkpoint a new start reads the last 24 hours again: the events consumer keeps each event once by
 * its id, but webhooks past the queue's five-minute deduplication window would be sent again.
 */
export function startDynamoDbStreamSource(options: DynamoDbStreamSourceOptions): DynamoDbStreamSource {
  const batchSize = Math.min(1000, Math.max(1, options.batchSize ?? STREAM_SOURCE_DEFAULTS.batchSize));
  const pollIntervalMs = options.pollIntervalMs ?? STREAM_SOURCE_DEFAULTS.pollIntervalMs;
  const retryDelayMs = options.retryDelayMs ?? STREAM_SOURCE_DEFAULTS.retryDelayMs;
  const maxRetryDelayMs = options.maxRetryDelayMs ?? STREAM_SOURCE_DEFAULTS.maxRetryDelayMs;
  const shardRefreshMs = options.shardRefreshMs ?? STREAM_SOURCE_DEFAULTS.shardRefreshMs;
  const log = options.log ?? ((line: string) => console.log(line));
  const onError =
    options.onError ??
    ((error: unknown) =>
      log(`dynamodb stream source: ${error instanceof Error ? error.message : String(error)}; retrying`));
  const { client } = options;
  const abort = new AbortController();
  const send = { abortSignal: abort.signal };
  let stopped = false;

  const { streamArn } = options;
  /** Shards not yet read to their end, by id. */
  const shards = new Map<string, ShardState>();
  /** Shards read to their end: their children may start. */
  const finished = new Set<string>();
  let refreshedAt = -Infinity;
  /** The last record handled per shard, as the checkpoint holds it. */
  const saved = new Map(Object.entries(options.checkpoint?.load(streamArn) ?? {}));

  /** Everything up to and including `sequenceNumber` was handled: kept, and saved when there is a checkpoint. */
  function handledUpTo(arn: string, shard: ShardState, sequenceNumber: string): void {
    shard.position = { kind: 'after', sequenceNumber };
    if (options.checkpoint === undefined || sequenceNumber === '') return;
    saved.set(shard.shardId, sequenceNumber);
    options.checkpoint.save(arn, Object.fromEntries(saved));
  }

  async function listShards(arn: string): Promise<Shard[]> {
    const all: Shard[] = [];
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription: d } = await client.send(
        new DescribeStreamCommand({ StreamArn: arn, ExclusiveStartShardId: exclusiveStartShardId }),
        send,
      );
      all.push(...(d?.Shards ?? []));
      exclusiveStartShardId = d?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return all;
  }

  async function refreshShards(arn: string): Promise<void> {
    const listed = await listShards(arn);
    const ids = new Set(listed.map((s) => s.ShardId));
    for (const shard of listed) {
      const shardId = shard.ShardId;
      if (shardId === undefined || shards.has(shardId) || finished.has(shardId)) continue;
      const after = saved.get(shardId);
      shards.set(shardId, {
        shardId,
        parentShardId: shard.ParentShardId,
        position: after === undefined ? { kind: 'start' } : { kind: 'after', sequenceNumber: after },
        iterator: undefined,
        failures: 0,
        notBefore: 0,
      });
    }
    // Shards past the stream's retention are gone from the listing: nothing more to read or wait for.
    for (const id of shards.keys()) if (!ids.has(id)) shards.delete(id);
    for (const id of finished) if (!ids.has(id)) finished.delete(id);
    for (const id of saved.keys()) if (!ids.has(id)) saved.delete(id);
    refreshedAt = Date.now();
  }

  /** A shard may be read once its parent has been read to its end (or is no longer in the stream). */
  function readyShards(now: number): ShardState[] {
    return [...shards.values()].filter(
      (s) => s.notBefore <= now && (s.parentShardId === undefined || !shards.has(s.parentShardId)),
    );
  }

  async function iteratorFor(arn: string, shard: ShardState): Promise<string | undefined> {
    const { position } = shard;
    const [type, sequenceNumber]: [ShardIteratorType, string | undefined] =
      position.kind === 'start'
        ? ['TRIM_HORIZON', undefined]
        : position.kind === 'after'
          ? ['AFTER_SEQUENCE_NUMBER', position.sequenceNumber]
          : ['AT_SEQUENCE_NUMBER', position.sequenceNumber];
    const { ShardIterator: iterator } = await client.send(
      new GetShardIteratorCommand({
        StreamArn: arn,
        ShardId: shard.shardId,
        ShardIteratorType: type,
        SequenceNumber: sequenceNumber,
      }),
      send,
    );
    return iterator;
  }

  function finish(shard: ShardState): void {
    shards.delete(shard.shardId);
    finished.add(shard.shardId);
    // Its children, if any, are listed at the next refresh: make it now.
    refreshedAt = -Infinity;
  }

  function retryLater(shard: ShardState, from: string): void {
    shard.position = { kind: 'at', sequenceNumber: from };
    shard.iterator = undefined;
    shard.failures += 1;
    shard.notBefore = Date.now() + Math.min(maxRetryDelayMs, retryDelayMs * 2 ** (shard.failures - 1));
  }

  /** One GetRecords on a shard and, when it brings records, one invocation; true when records came. */
  async function pollShard(arn: string, shard: ShardState): Promise<boolean> {
    shard.iterator ??= await iteratorFor(arn, shard);
    if (shard.iterator === undefined) {
      finish(shard);
      return false;
    }
    let records: _Record[];
    let next: string | undefined;
    try {
      const answer = await client.send(
        new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: batchSize }),
        send,
      );
      records = answer.Records ?? [];
      next = answer.NextShardIterator;
    } catch (error) {
      // An iterator lives 15 minutes: one held across a long invocation is simply asked for again.
      if (errorName(error) === 'ExpiredIteratorException') {
        shard.iterator = undefined;
        return false;
      }
      if (errorName(error) === 'TrimmedDataAccessException') {
        // The position fell past the 24-hour retention: what is left is read from the horizon.
        shard.position = { kind: 'start' };
        shard.iterator = undefined;
        return false;
      }
      throw error;
    }
    if (records.length === 0) {
      shard.iterator = next;
      // No next iterator: the shard is closed and read to its end.
      if (next === undefined) finish(shard);
      return false;
    }

    const all = toDynamoDbStreamEvent(records, arn, options.function.region);
    const event: DynamoDBStreamEvent =
      options.filter === undefined ? all : { Records: all.Records.filter(options.filter) };
    // A batch the filter left empty is done without an invocation.
    const failedAt = event.Records.length === 0 ? undefined : await invokeOn(event);
    if (failedAt === undefined) {
      handledUpTo(arn, shard, all.Records.at(-1)?.dynamodb?.SequenceNumber ?? '');
      shard.iterator = next;
      shard.failures = 0;
      if (next === undefined) finish(shard);
      return true;
    }
    // The records before the failed one are done; the failed one and all after it come again.
    retryLater(shard, event.Records[failedAt]?.dynamodb?.SequenceNumber ?? '');
    log(
      `[${options.function.functionName}] batch of ${event.Records.length} from shard ${shard.shardId}: ` +
        `${failedAt} done, retrying from record ${failedAt + 1} (attempt ${shard.failures + 1})`,
    );
    return true;
  }

  /** The handler on one batch: the index of the record to resume from, undefined when all succeeded. */
  async function invokeOn(event: DynamoDBStreamEvent): Promise<number | undefined> {
    const outcome = await invoke(options.function, options.handler, event);
    if (outcome.ok) return resumeIndex(event, outcome.result);
    log(describeFunctionError(options.function, outcome));
    return 0;
  }

  async function pause(ms: number): Promise<void> {
    if (stopped) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        abort.signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      abort.signal.addEventListener('abort', done, { once: true });
    });
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let busy = false;
      try {
        if (Date.now() - refreshedAt >= shardRefreshMs) await refreshShards(streamArn);
        for (const shard of readyShards(Date.now())) {
          if (stopped) return;
          if (await pollShard(streamArn, shard)) busy = true;
        }
      } catch (error) {
        if (stopped) return;
        onError(error);
        await pause(STREAM_SOURCE_DEFAULTS.errorPauseMs);
        continue;
      }
      // A shard that just gave records may hold more: read on at once.
      if (!busy) await pause(pollIntervalMs);
    }
  }

  const running = loop();
  return {
    async stop() {
      stopped = true;
      abort.abort();
      await running;
    },
  };
}
