import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type RequestListener,
} from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';

import { type Classified, classifyDynamoDb, classifySqs, withConsumedCapacity } from './aws-classify';

/**
 * A loopback HTTP proxy in front of one local server (DynamoDB Local, fauxqs, the WeChat Pay
 * simulator) that classifies and counts every exchange. It needs nothing from the code it watches:
 * the clients are simply given the proxy's address as their endpoint.
 */

export interface Exchange {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  requestBody: string;
  status: number;
  responseBody: string;
}

export interface CountingProxyOptions {
  upstream: string;
  classify: (exchange: Exchange) => Classified;
  /** May change the request body before it goes upstream (e.g. ask DynamoDB for consumed capacity). */
  rewriteBody?: (headers: IncomingHttpHeaders, body: string) => string;
  /**
   * Serve HTTPS and reach an HTTPS upstream (the simulator's /secapi/ wants mutual TLS): the proxy
   * shows `server` to its clients and `client` (the merchant's API certificate) upstream.
   */
  tls?: {
    server: { certPem: string; keyPem: string };
    client: { certPem: string; keyPem: string };
    caPem: string;
  };
}

export interface Tally {
  /** Requests per `kind` (read, write, send, …). */
  byKind: Record<string, number>;
  /** Requests per operation (GetItem, SendMessage, unifiedorder, …). */
  byOp: Record<string, number>;
  /** Capacity units per kind, summed over the answers that reported them … */
  capacityByKind: Record<string, number>;
  /** … and how many answers per kind did (a refused conditional write reports none, yet is billed). */
  reportedByKind: Record<string, number>;
}

export interface CountingProxy {
  url: string;
  /** The counts since the last reset. */
  tally(): Tally;
  reset(): void;
  close(): Promise<void>;
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'host']);

export function emptyTally(): Tally {
  return { byKind: {}, byOp: {}, capacityByKind: {}, reportedByKind: {} };
}

export function addToTally(tally: Tally, c: Classified): void {
  tally.byKind[c.kind] = (tally.byKind[c.kind] ?? 0) + 1;
  tally.byOp[c.op] = (tally.byOp[c.op] ?? 0) + 1;
  if (c.capacityUnits !== undefined) {
    tally.capacityByKind[c.kind] = (tally.capacityByKind[c.kind] ?? 0) + c.capacityUnits;
    tally.reportedByKind[c.kind] = (tally.reportedByKind[c.kind] ?? 0) + 1;
  }
}

export async function startCountingProxy(options: CountingProxyOptions): Promise<CountingProxy> {
  const upstream = new URL(options.upstream);
  const tls = options.tls;
  const agent = tls
    ? new HttpsAgent({
        keepAlive: true,
        maxSockets: 64,
        ca: tls.caPem,
        cert: tls.client.certPem,
        key: tls.client.keyPem,
      })
    : new Agent({ keepAlive: true, maxSockets: 64 });
  const send = tls ? httpsRequest : httpRequest;
  let tally = emptyTally();

  const listener: RequestListener = (req, res) => {
    void (async () => {
      const original = (await readAll(req)).toString('utf8');
      const body = options.rewriteBody ? options.rewriteBody(req.headers, original) : original;
      const headers: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
      }
      headers['content-length'] = String(Buffer.byteLength(body, 'utf8'));
      headers.host = upstream.host;
      const answer = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = send(
          { hostname: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent },
          resolve,
        );
        out.on('error', reject);
        out.end(body);
      });
      const responseBody = await readAll(answer);
      addToTally(
        tally,
        options.classify({
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          requestBody: original,
          status: answer.statusCode ?? 0,
          responseBody: responseBody.toString('utf8'),
        }),
      );
      const outHeaders: Record<string, string | string[]> = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) outHeaders[name] = value;
      }
      outHeaders['content-length'] = String(responseBody.length);
      res.writeHead(answer.statusCode ?? 502, outHeaders);
      res.end(responseBody);
    })().catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bench proxy: ${(error as Error).message}`);
    });
  };
  const server = tls
    ? createHttpsServer({ cert: tls.server.certPem, key: tls.server.keyPem, ca: tls.caPem }, listener)
    : createServer(listener);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    tally: () => structuredClone(tally),
    reset: () => {
      tally = emptyTally();
    },
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * A proxy in front of DynamoDB that counts every request by kind and asks each data request to report
 * the capacity it consumed (withConsumedCapacity), as the cost benches bill it.
 */
export function startDynamoDbCountingProxy(upstream: string): Promise<CountingProxy> {
  return startCountingProxy({
    upstream,
    classify: (e) => classifyDynamoDb(e.headers['x-amz-target'] as string | undefined, e.responseBody),
    rewriteBody: (headers, body) => withConsumedCapacity(headers['x-amz-target'] as string | undefined, body),
  });
}

/** A proxy in front of SQS that counts every request by kind (sends, receives, empty receives, …). */
export function startSqsCountingProxy(upstream: string): Promise<CountingProxy> {
  return startCountingProxy({
    upstream,
    classify: (e) => classifySqs(e.headers['x-amz-target'] as string | undefined, e.responseBody),
  });
}
