import { Agent, request } from 'node:http';

import { runPool } from '#shared/domain/run-pool';

// The pool lives with the code that uses it in production (bill reconciliation); the benches share it.
export { runPool };

export interface Posted {
  status: number;
  text: string;
  ms: number;
}

/** A keep-alive HTTP client for a load test: one socket per concurrent request, reused. */
export function httpClient(maxSockets: number) {
  const agent = new Agent({ keepAlive: true, maxSockets });
  return {
    send(url: string, method: string, body: string | undefined, contentType: string): Promise<Posted> {
      const started = performance.now();
      const target = new URL(url);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            hostname: target.hostname,
            port: target.port,
            path: `${target.pathname}${target.search}`,
            method,
            agent,
            headers:
              body === undefined
                ? {}
                : { 'content-type': contentType, 'content-length': Buffer.byteLength(body, 'utf8') },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({
                status: res.statusCode ?? 0,
                text: Buffer.concat(chunks).toString('utf8'),
                ms: performance.now() - started,
              }),
            );
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close(): void {
      agent.destroy();
    },
  };
}

export interface TimedRequests {
  /** Each request's latency in ms, as the client saw it. */
  latencies: number[];
  /** Requests whose answer `succeeded` refused. */
  failures: number;
  /** From the first request sent to the last answer read. */
  seconds: number;
}

/** Sends every item with at most `concurrency` in flight, timing each request and the whole run. */
export async function timeRequests<T>(
  items: readonly T[],
  concurrency: number,
  send: (item: T) => Promise<Posted>,
  succeeded: (answer: Posted) => boolean,
  now: () => number = () => performance.now(),
): Promise<TimedRequests> {
  const latencies: number[] = [];
  let failures = 0;
  const started = now();
  await runPool(items, concurrency, async (item) => {
    const answer = await send(item);
    latencies.push(answer.ms);
    if (!succeeded(answer)) failures += 1;
  });
  return { latencies, failures, seconds: (now() - started) / 1000 };
}

/** Whether a v2 notification reply says SUCCESS (what WeChat takes as "delivered"). */
export function isSuccessReply(status: number, text: string): boolean {
  return status === 200 && /<return_code>(?:<!\[CDATA\[)?SUCCESS(?:\]\]>)?<\/return_code>/.test(text);
}

export const delivered = (answer: Posted): boolean => isSuccessReply(answer.status, answer.text);
