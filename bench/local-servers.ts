import { startDynamoDbLocal, type LocalServer } from '../infra/local/dynamodb-server';
import { startSqsLocal } from '../infra/local/sqs-server';

/** DynamoDB Local (in memory) and fauxqs, started once for the parts that need them. */
export interface LocalServers {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  stop(): Promise<void>;
}

export async function startLocalServers(): Promise<LocalServers> {
  const [dynamodb, sqs] = await Promise.allSettled([startDynamoDbLocal(), startSqsLocal()]);
  if (dynamodb.status === 'rejected' || sqs.status === 'rejected') {
    for (const server of [dynamodb, sqs]) if (server.status === 'fulfilled') await server.value.stop();
    throw dynamodb.status === 'rejected' ? dynamodb.reason : (sqs as PromiseRejectedResult).reason;
  }
  const servers: LocalServer[] = [dynamodb.value, sqs.value];
  return {
    dynamodbEndpoint: dynamodb.value.endpoint,
    sqsEndpoint: sqs.value.endpoint,
    stop: async () => {
      await Promise.allSettled(servers.map((s) => s.stop()));
    },
  };
}
