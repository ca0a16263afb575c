import { buildApp } from 'fauxqs';
import { LocalServerError } from './dynamodb-server';
import type { LocalServer } from './dynamodb-server';

/**
 * An SQS-API server in this process: fauxqs, which speaks the AWS JSON 1.0 protocol the current
 * @aws-sdk/client-sqs uses. Its own starter listens on every interface, so its app is built here
 * and bound to loopback.
 *
 * Queue URLs it hands out look like http://sqs.<region>.localhost:<port>/000000000000/<name>; they
 * are names to the server, not addresses, so clients must be given the endpoint (localClients does).
 */

export interface SqsLocalOptions {
  /** 0 or absent: a free port is chosen. */
  port?: number;
  host?: string;
}

export async function startSqsLocal(options: SqsLocalOptions = {}): Promise<LocalServer> {
  const host = options.host ?? '127.0.0.1';
  const app = buildApp({ logger: false });
  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  if (!address || typeof address !== 'object') {
    await app.close();
    throw new LocalServerError('the SQS server is not listening on a TCP port');
  }
  return {
    endpoint: `http://${host}:${address.port}`,
    stop: () => app.close(),
  };
}
