import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP server standing in for the AWS Parameters and Secrets Lambda Extension: it answers
 * `GET /secretsmanager/get?secretId=…` with GetSecretValue's JSON when the request carries the expected
 * session token, 401 without it (the extension refuses requests from outside the environment) and 404
 * for a secret it does not hold. `delayMs` holds each answer back, `failNext` answers the next requests
 * with a status, for the reader's timeout and retry.
 */
export interface SecretsExtensionStandIn {
  port: number;
  /** Secret id → SecretString. */
  secrets: Map<string, string>;
  /** Every request's path and token, in order. */
  requests: Array<{ path: string; token: string | undefined }>;
  delayMs: number;
  failNext: number[];
  close(): Promise<void>;
}

export async function startSecretsExtensionStandIn(sessionToken: string): Promise<SecretsExtensionStandIn> {
  const standIn: Omit<SecretsExtensionStandIn, 'port' | 'close'> = {
    secrets: new Map(),
    requests: [],
    delayMs: 0,
    failNext: [],
  };
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const token = req.headers['x-aws-parameters-secrets-token'];
    const failure = standIn.failNext.shift();
    if (failure !== undefined) {
      res.writeHead(failure).end('stand-in failure');
      return;
    }
    if (token !== sessionToken) {
      res.writeHead(401).end('not authorized');
      return;
    }
    const secretId = url.searchParams.get('secretId');
    if (req.method !== 'GET' || url.pathname !== '/secretsmanager/get' || secretId === null) {
      res.writeHead(400).end('bad request');
      return;
    }
    const value = standIn.secrets.get(secretId);
    if (value === undefined) {
      res.writeHead(404).end('ResourceNotFoundException: Secrets Manager cannot find the specified secret');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${secretId}-AbCdEf`,
        Name: secretId,
        SecretString: value,
        VersionId: '00000000-0000-0000-0000-000000000000',
        VersionStages: ['AWSCURRENT'],
        CreatedDate: '2024-01-01T00:00:00.000Z',
      }),
    );
  };
  const server = createServer((req, res) => {
    const token = req.headers['x-aws-parameters-secrets-token'];
    standIn.requests.push({ path: req.url ?? '/', token: typeof token === 'string' ? token : undefined });
    if (standIn.delayMs > 0) setTimeout(() => answer(req, res), standIn.delayMs);
    else answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(standIn, {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}
