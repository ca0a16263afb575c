import { startDynamoDbLocal, type LocalServer } from '#sandbox/local/dynamodb-server';
import { startSqsLocal } from '#sandbox/local/sqs-server';
import { type LocalStack, type LocalStackOptions, startLocalStack } from '#sandbox/local/stack';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { guardOutput } from './output';

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

/**
 * A bench command's run on local servers of its own: progress lines to stderr, the text `run` renders
 * to stdout, and what the in-process handlers print swallowed (see output.ts).
 */
export async function runOnLocalServers(
  run: (servers: LocalServers, progress: (line: string) => void) => Promise<string>,
): Promise<void> {
  const guard = guardOutput({ verbose: false });
  try {
    const servers = await startLocalServers();
    try {
      guard.result(await run(servers, (line) => guard.progress(line)));
    } finally {
      await servers.stop();
    }
  } finally {
    guard.restore();
  }
}

/**
 * The whole local stack (its own simulator, gateway and handlers) on these servers, for one part's
 * run: a table and queue of its own, so no part sees another's orders, and the sandbox merchant.
 * The sweep's timer is off: the sweep runs on a schedule whatever the traffic, and would only add
 * noise to what is timed.
 */
export function startBenchStack(
  servers: LocalServers,
  name: string,
  log: (line: string) => void,
  /**
   * A DynamoDB endpoint in front of the servers' own (a counting proxy), handler settings, a table made
   * already, and handlers of the caller's making.
   */
  options: Partial<Pick<LocalStackOptions, 'dynamodbEndpoint' | 'env' | 'skipTableCreation' | 'createHandlers'>> = {},
): Promise<LocalStack> {
  return startLocalStack({
    dynamodbEndpoint: options.dynamodbEndpoint ?? servers.dynamodbEndpoint,
    sqsEndpoint: servers.sqsEndpoint,
    tableName: name,
    queueName: name,
    port: 0,
    simulatorPort: 0,
    sweepIntervalMs: 0,
    merchant: SANDBOX_MERCHANT,
    ...(options.env ? { env: options.env } : {}),
    ...(options.skipTableCreation ? { skipTableCreation: true } : {}),
    ...(options.createHandlers ? { createHandlers: options.createHandlers } : {}),
    log,
  });
}
