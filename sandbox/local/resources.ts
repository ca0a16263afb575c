import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { TableDescription } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { AppError } from '#shared/domain/errors';
import { DUE_INDEX, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from '#shared/adapters/table-schema';

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

/** Creates the orders table if it is missing, waits until it and its index are ACTIVE, turns on TTL. */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [PARTITION_KEY, SORT_KEY, DUE_INDEX.partitionKey, DUE_INDEX.sortKey].map((name) => ({
          AttributeName: name,
          AttributeType: 'S' as const,
        })),
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
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
  } catch (error) {
    // Already there (made by an earlier start, or concurrently): carry on to the checks below.
    if (!(error instanceof Error && error.name === 'ResourceInUseException')) throw error;
  }
  await waitUntilActive(client, tableName);
  await enableTtl(client, tableName);
}

async function waitUntilActive(client: DynamoDBClient, tableName: string): Promise<void> {
  const deadline = Date.now() + TABLE_READY_TIMEOUT_MS;
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    if (table && isActive(table)) return;
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
  const dlq = await ensureQueue(client, settings.dlqName, {
    MessageRetentionPeriod: String(DLQ_RETENTION_SECONDS),
  });
  const queue = await ensureQueue(client, settings.queueName, {
    VisibilityTimeout: String(settings.visibilityTimeoutSeconds),
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: settings.maxReceiveCount }),
  });
  return { queueUrl: queue.url, dlqUrl: dlq.url, queueArn: queue.arn, dlqArn: dlq.arn };
}

async function ensureQueue(
  client: SQSClient,
  name: string,
  attributes: Record<string, string>,
): Promise<{ url: string; arn: string }> {
  // Created without attributes: CreateQueue refuses an existing name with different attributes,
  // whereas a bare CreateQueue of an existing queue just returns its URL.
  const { QueueUrl: url } = await client.send(new CreateQueueCommand({ QueueName: name }));
  if (!url) throw new LocalResourceError(`CreateQueue returned no URL for ${name}`);
  await client.send(new SetQueueAttributesCommand({ QueueUrl: url, Attributes: attributes }));
  const { Attributes: current } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  const arn = current?.QueueArn;
  if (!arn) throw new LocalResourceError(`queue ${name} has no ARN`);
  return { url, arn };
}
