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
  /** The same two per operation, so a phase can say where its write units go (PutItem, UpdateItem, …). */
  capacityByOp: Record<string, number>;
  reportedByOp: Record<string, number>;
  /**
   * Milliseconds per operation from the request's arrival at the proxy to the upstream's whole answer:
   * what a handler awaiting that call waited for the server (its own SDK work and any event-loop lag
   * on the way back are not in it).
   */
  msByOp: Record<string, number>;
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
  return {
    byKind: {},
    byOp: {},
    capacityByKind: {},
    reportedByKind: {},
    capacityByOp: {},
    reportedByOp: {},
    msByOp: {},
  };
}

const add = (record: Record<string, number>, key: string, x: number) => {
  record[key] = (record[key] ?? 0) + x;
};

export function addToTally(tally: Tally, c: Classified, ms = 0): void {
  add(tally.byKind, c.kind, 1);
  add(tally.byOp, c.op, 1);
  add(tally.msByOp, c.op, ms);
  if (c.capacityUnits !== undefined) {
    add(tally.capacityByKind, c.kind, c.capacityUnits);
    add(tally.reportedByKind, c.kind, 1);
    add(tally.capacityByOp, c.op, c.capacityUnits);
    add(tally.reportedByOp, c.op, 1);
  }
}

/**
 * Capacity units billed per operation: what the answers reported, plus one unit for each request of
 * that operation whose answer reported none (a refused conditional write is billed at least one).
 * Only operations of the given kinds (e.g. `write`) are listed.
 */
export function billedUnitsByOp(tally: Tally, ops: ReadonlySet<string>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(tally.byOp)
      .filter(([op]) => ops.has(op))
      .map(([op, requests]) => [op, (tally.capacityByOp[op] ?? 0) + (requests - (tally.reportedByOp[op] ?? 0))]),
  );
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
      const arrived = performance.now();
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
      const ms = performance.now() - arrived;
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
        ms,
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
