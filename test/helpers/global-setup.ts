import type { TestProject } from 'vitest/node';
import { startDynamoDbLocal } from '#sandbox/local/dynamodb-server';
import { startSqsLocal } from '#sandbox/local/sqs-server';

declare module 'vitest' {
  export interface ProvidedContext {
    /** DynamoDB Local, in memory, shared by every test file; each file makes its own tables. */
    dynamodbEndpoint: string;
    /** fauxqs, shared by every test file; each file makes its own queues. */
    sqsEndpoint: string;
  }
}

/**
 * Starts the local DynamoDB and SQS servers once per test run and stops them at the end. The JVM
 * behind DynamoDB Local is the slow part (about a second); fauxqs starts meanwhile.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const [dynamodb, sqs] = await Promise.allSettled([startDynamoDbLocal(), startSqsLocal()]);
  if (dynamodb.status === 'rejected' || sqs.status === 'rejected') {
    // One failed: stop the other, so nothing outlives the failed run.
    for (const server of [dynamodb, sqs]) if (server.status === 'fulfilled') await server.value.stop();
    throw dynamodb.status === 'rejected' ? dynamodb.reason : (sqs as PromiseRejectedResult).reason;
  }

  project.provide('dynamodbEndpoint', dynamodb.value.endpoint);
  project.provide('sqsEndpoint', sqs.value.endpoint);

  return async () => {
    await Promise.all([dynamodb.value.stop(), sqs.value.stop()]);
  };
}
