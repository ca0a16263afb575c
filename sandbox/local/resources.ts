import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { GlobalSecondaryIndex, TableDescription } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AppError } from '#shared/domain/errors';
import {
  DUE_INDEX,
  EVENTS_INDEX,
  PARTITION_KEY,
  SETTLED_INDEX,
  SORT_KEY,
  TABLE_STREAM_VIEW,
  TTL_ATTRIBUTE,
} from '#shared/adapters/table-schema';

/**
 * The table and queues the stack needs, made on the local servers the way the CDK stack makes them
 * in AWS; each function can run any number of times.
 */

export class LocalResourceError extends AppError {
  constructor(message: string) {
    super('LOCAL_RESOURCE', message);
  }
}

// ---- Clients ----------------------------------------------------------------------------------

export interface LocalEndpoints {
  dynamodb: string;
  sqs: string;
}

export interface LocalClients {
  dynamodb: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  sqs: SQSClient;
}

/**
 * Clients for the local servers. Region and credentials are fixed dummies so the SDK never looks
 * for real AWS credentials (environment, ~/.aws, instance metadata) on a developer's machine.
 */
const LOCAL_CLIENT_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
};

export function localDynamoDbClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
}

export function localDocumentClient(endpoint: string): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(localDynamoDbClient(endpoint));
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
}

/** DynamoDB Local serves the Streams API on the same endpoint as the tables. */
export function localStreamsClient(endpoint: string): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({ ...LOCAL_CLIENT_CONFIG, endpoint });
}

export function localClients(endpoints: LocalEndpoints): LocalClients {
  const dynamodb = localDynamoDbClient(endpoints.dynamodb);
  return {
    dynamodb,
    documentClient: DynamoDBDocumentClient.from(dynamodb),
    sqs: localSqsClient(endpoints.sqs),
  };
}

// ---- Table ------------------------------------------------------------------------------------

const TABLE_READY_POLL_MS = 100;
const TABLE_READY_TIMEOUT_MS = 30_000;

/** The table's indexes, as the CDK stack declares them. */
const INDEXES = [DUE_INDEX, EVENTS_INDEX, SETTLED_INDEX] as const;
type Index = (typeof INDEXES)[number];

/** The index's key attributes: its partition key, and its sort key when it has one. */
function indexKeys(index: Index): string[] {
  return 'sortKey' in index ? [index.partitionKey, index.sortKey] : [index.partitionKey];
}

function indexDefinition(index: Index): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      ...('sortKey' in index ? [{ AttributeName: index.sortKey, KeyType: 'RANGE' as const }] : []),
    ],
    Projection:
      'nonKeyAttributes' in index
        ? { ProjectionType: index.projection, NonKeyAttributes: [...index.nonKeyAttributes] }
        : { ProjectionType: index.projection },
  };
}

function stringAttributes(names: readonly string[]) {
  return [...new Set(names)].map((name) => ({ AttributeName: name, AttributeType: 'S' as const }));
}

/**
 * Creates the orders table if it is missing, brings a table made by an older start up to date (an
 * index or the stream it lacks), waits until it and its indexes are ACTIVE, turns on TTL, and answers
 * the table's current stream ARN.
 */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<{ streamArn: string }> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: stringAttributes([PARTITION_KEY, SORT_KEY, ...INDEXES.flatMap(indexKeys)]),
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: INDEXES.map(indexDefinition),
        StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW },
      }),
    );
  } catch (error) {
    // Already there (made by an earlier start, or concurrently): carry on to the checks below.
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  let table = await waitUntilActive(client, tableName);
  // DynamoDB takes one index creation or stream change per UpdateTable, each after the last is done.
  for (const index of INDEXES) {
    if ((table.GlobalSecondaryIndexes ?? []).some((existing) => existing.IndexName === index.name)) continue;
    await updateTable(client, tableName, {
      AttributeDefinitions: stringAttributes(indexKeys(index)),
      GlobalSecondaryIndexUpdates: [{ Create: indexDefinition(index) }],
    });
    table = await waitUntilActive(client, tableName);
  }
  if (table.StreamSpecification?.StreamEnabled !== true) {
    await updateTable(client, tableName, {
      StreamSpecification: { StreamEnabled: true, StreamViewType: TABLE_STREAM_VIEW },
    });
    table = await waitUntilActive(client, tableName);
  }
  await enableTtl(client, tableName);
  const streamArn = table.LatestStreamArn;
  if (streamArn === undefined) throw new LocalResourceError(`table ${tableName} has no stream`);
  return { streamArn };
}

async function updateTable(
  client: DynamoDBClient,
  tableName: string,
  update: Omit<ConstructorParameters<typeof UpdateTableCommand>[0], 'TableName'>,
): Promise<void> {
  await client.send(new UpdateTableCommand({ TableName: tableName, ...update }));
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<TableDescription> {
  const deadline = Date.now() + TABLE_READY_TIMEOUT_MS;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (table && isActive(table)) return table;
    if (Date.now() > deadline)
      throw new LocalResourceError(`table ${tableName} is not ACTIVE after ${TABLE_READY_TIMEOUT_MS} ms`);
    await new Promise((resolve) => setTimeout(resolve, TABLE_READY_POLL_MS));
  }
}

function isActive(table: TableDescription): boolean {
  const indexes = table.GlobalSecondaryIndexes ?? [];
  return table.TableStatus === 'ACTIVE' && indexes.every((index) => index.IndexStatus === 'ACTIVE');
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<void> {
  const { TimeToLiveDescription: ttl } = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
  // Enabling twice is an error in DynamoDB, not a no-op.
  if (ttl?.TimeToLiveStatus === 'ENABLED' || ttl?.TimeToLiveStatus === 'ENABLING') return;
  await client.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
    }),
  );
}

// ---- Queues -----------------------------------------------------------------------------------

export interface QueueSettings {
  queueName: string;
  dlqName: string;
  /** Receives before a message is moved to the dead-letter queue. */
  maxReceiveCount: number;
  visibilityTimeoutSeconds: number;
  /**
   * FIFO queues (both names must end in `.fifo`): messages of a group are received in order, one
   * group's at a time, and deduplicated by MessageDeduplicationId (no content-based deduplication).
   */
  fifo?: boolean;
}

export interface QueueUrls {
  queueUrl: string;
  dlqUrl: string;
  queueArn: string;
  dlqArn: string;
}

/** SQS's longest retention: dead letters wait two weeks for someone to look at them. */
const DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60;

/**
 * Creates the queue and its dead-letter queue if missing and (re)applies their settings, so a
 * changed setting takes effect on the next start too.
 */
export async function ensureQueues(client: SQSClient, settings: QueueSettings): Promise<QueueUrls> {
  // A FIFO queue's dead-letter queue must be FIFO too; FifoQueue can only be given at creation.
  const creation: Record<string, string> = settings.fifo === true ? { FifoQueue: 'true' } : {};
  const fifoSettings: Record<string, string> = settings.fifo === true ? { ContentBasedDeduplication: 'false' } : {};
  const dlq = await ensureQueue(client, settings.dlqName, creation, {
    MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
    ...fifoSettings,
  });
  const queue = await ensureQueue(client, settings.queueName, creation, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: settings.maxReceiveCount }),
    ...fifoSettings,
  });
  return { queueUrl: queue.url, dlqUrl: dlq.url, queueArn: queue.arn, dlqArn: dlq.arn };
}

async function ensureQueue(
  client: SQSClient,
  name: string,
  creation: Record<string, string>,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  // Created with only what cannot change later: CreateQueue refuses an existing name with different
  // attributes, whereas a CreateQueue of an existing queue with the same ones just returns its URL.
  const { QueueUrl: url } = await client.send(
    new CreateQueueCommand({ QueueName: name, ...(Object.keys(creation).length > 0 ? { Attributes: creation } : {}) }),
  );
  if (!url) throw new LocalResourceError(`CreateQueue returned no URL for ${name}`);
  await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const { Attributes: current } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = current?.QueueArn;
  if (!arn) throw new LocalResourceError(`queue ${name} has no ARN`);
  return { url, arn };
}
