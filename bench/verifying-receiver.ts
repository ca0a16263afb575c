import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { Webhook } from 'standardwebhooks';

/**
 * A merchant's webhook endpoint on loopback. Every request is verified with the off-the-shelf
 * Standard Webhooks library (what a merchant would use, not our own signer) and, unless told
 * otherwise, answered 204 (400 when it does not verify), with the time it arrived: the events bench
 * measures delivery with it, and tests prove that what we send verifies for a merchant. Tests can
 * also tell it to misbehave for the next requests: answer 500, never answer, or drop the connection.
 */

export interface ReceivedWebhook {
  /** Header names lower-cased, as Node gives them. */
  headers: Record<string, string>;
  /** The raw body, exactly as received. */
  body: string;
  /** Whether `standardwebhooks` accepted the signature (and its 5-minute timestamp tolerance). */
  verified: boolean;
  /** Why verification failed, when it did. */
  verifyError?: string;
  /** When the request was received (ms since the epoch). */
  at: number;
  /** What the receiver did: an HTTP status, or 'hang' / 'close'. */
  answered: number | 'hang' | 'close';
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:<port>/webhooks`. */
  url: string;
  /** Every request so far, in arrival order. */
  attempts: ReceivedWebhook[];
  /**
   * The next `n` requests are answered `status` (500 by default). With `webhookId`, only requests of
   * that event count, so deliveries of other events going on at the same time are left alone.
   */
  failNext(n: number, status?: number, webhookId?: string): void;
  /** The next `n` requests (of `webhookId`, when given) are never answered (the socket stays open until close()). */
  hangNext(n: number, webhookId?: string): void;
  /** The next `n` requests (of `webhookId`, when given) have their connection destroyed without an answer. */
  closeNext(n: number, webhookId?: string): void;
  /** Waits until the attempts satisfy `predicate`; fails with what was received after `timeoutMs`. */
  waitFor(predicate: (attempts: readonly ReceivedWebhook[]) => boolean, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  /** The parsed bodies of the verified attempts that were answered 2xx. */
  delivered(): Array<{ id: string; type: string; created_at: string; data: Record<string, unknown> }>;
  close(): Promise<void>;
}

type Behaviour = ({ kind: 'status'; status: number } | { kind: 'hang' } | { kind: 'close' }) & { webhookId?: string };

/** The whole request body as text: what a Standard Webhooks verifier takes. */
function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

export async function startWebhookReceiver(options: { secret: string }): Promise<WebhookReceiver> {
  const verifier = new Webhook(options.secret);
  const attempts: ReceivedWebhook[] = [];
  const script: Behaviour[] = [];
  const sockets = new Set<Socket>();
  const hanging = new Set<ServerResponse>();
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  const server = createServer((req, res) => {
    const at = Date.now();
    readBody(req).then(
      (body) => {
        const headers = flatHeaders(req);
        let verified = false;
        let verifyError: string | undefined;
        try {
          verifier.verify(body, headers);
          verified = true;
        } catch (error) {
          verifyError = error instanceof Error ? error.message : String(error);
        }
        // The first scripted behaviour meant for this request (any, or this event's), else what a merchant answers.
        const index = script.findIndex((b) => b.webhookId === undefined || b.webhookId === headers['webhook-id']);
        const [scripted] = index < 0 ? [] : script.splice(index, 1);
        const behaviour: Behaviour = scripted ?? { kind: 'status', status: verified ? 204 : 400 };
        const answered = behaviour.kind === 'status' ? behaviour.status : behaviour.kind;
        attempts.push({ headers, body, verified, ...(verifyError === undefined ? {} : { verifyError }), at, answered });
        if (behaviour.kind === 'status') {
          res.writeHead(behaviour.status, { 'content-type': 'text/plain' }).end(behaviour.status < 300 ? '' : 'no');
        } else if (behaviour.kind === 'hang') {
          hanging.add(res);
        } else {
          req.socket.destroy();
        }
        notify();
      },
      () => res.writeHead(400).end(),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // Loopback only, a free port.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const push = (n: number, behaviour: Behaviour) => {
    for (let i = 0; i < n; i += 1) script.push(behaviour);
  };

  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    attempts,
    failNext: (n, status = 500, webhookId) => push(n, { kind: 'status', status, webhookId }),
    hangNext: (n, webhookId) => push(n, { kind: 'hang', webhookId }),
    closeNext: (n, webhookId) => push(n, { kind: 'close', webhookId }),
    waitFor(predicate, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!predicate(attempts)) return;
          cleanup();
          resolve([...attempts]);
        };
        const timer = setTimeout(() => {
          cleanup();
          const seen = attempts.map((a) => `${a.headers['webhook-id'] ?? '?'} ${a.answered} ${a.body.slice(0, 80)}`);
          reject(new Error(`webhook receiver: timed out after ${timeoutMs} ms; attempts:\n${seen.join('\n')}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    delivered() {
      return attempts
        .filter((a) => a.verified && typeof a.answered === 'number' && a.answered >= 200 && a.answered < 300)
        .map(
          (a) => JSON.parse(a.body) as { id: string; type: string; created_at: string; data: Record<string, unknown> },
        );
    },
    async close() {
      for (const res of hanging) res.destroy();
      hanging.clear();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
