import { randomUUID } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';
import { DynamoDbOrderStore } from '#shared/adapters/dynamodb-order-store';
import { ensureQueues, ensureTable, localDynamoDbClient, localSqsClient } from '#sandbox/local/resources';
import type { QueueSettings, QueueUrls } from '#sandbox/local/resources';

/**
 * An endpoint the global setup provided. Without one a client would fall back to AWS itself:
 * tests talk to loopback only, so that is an error.
 */
export function localEndpoint(name: 'dynamodbEndpoint' | 'sqsEndpoint'): string {
  const endpoint = inject(name);
  if (!endpoint || new URL(endpoint).hostname !== '127.0.0.1') {
    throw new Error(
      `${name} is not a loopback endpoint (${String(endpoint)}); is test/helpers/global-setup.ts the globalSetup?`,
    );
  }
  return endpoint;
}

/** A name no other test file will use, so files can run in parallel against the same servers. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 12)}`;
}

export interface TestTable {
  tableName: string;
  client: DynamoDBClient;
  documentClient: DynamoDBDocumentClient;
  store: DynamoDbOrderStore;
}

/** A fresh orders table on the run's DynamoDB Local, with a store over it. */
export async function testTable(): Promise<TestTable> {
  const tableName = uniqueName('orders');
  const client = localDynamoDbClient(localEndpoint('dynamodbEndpoint'));
  await ensureTable(client, tableName);
  const documentClient = DynamoDBDocumentClient.from(client);
  return { tableName, client, documentClient, store: new DynamoDbOrderStore({ tableName, client: documentClient }) };
}

export interface TestQueues extends QueueUrls {
  client: SQSClient;
}

/** A fresh queue and dead-letter queue on the run's SQS server. */
export async function testQueues(
  settings: Partial<Omit<QueueSettings, 'queueName' | 'dlqName'>> = {},
): Promise<TestQueues> {
  const client = localSqsClient(localEndpoint('sqsEndpoint'));
  const queueName = uniqueName('checks');
  const urls = await ensureQueues(client, {
    queueName,
    dlqName: `${queueName}-dlq`,
    maxReceiveCount: settings.maxReceiveCount ?? 5,
    visibilityTimeoutSeconds: settings.visibilityTimeoutSeconds ?? 30,
  });
  return { ...urls, client };
}
