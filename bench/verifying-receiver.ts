import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import { Webhook } from 'standardwebhooks';

/**
 * The merchant's end of the events bench: a loopback endpoint that verifies every request with the
 * off-the-shelf `standardwebhooks` library, as a merchant would, answers 204 and notes when each
 * arrived. Only what the bench measures; the tests' scriptable receiver (500s, hangs, dropped
 * connections) stays in test/helpers, which a bench does not import.
 */

export interface ReceivedEvent {
  /** The `webhook-id` header. */
  id: string;
  /** The body's `created_at` (the status change). */
  createdAt: string;
  /** Whether `standardwebhooks` accepted the signature. */
  verified: boolean;
  /** When the request arrived (ms since the epoch). */
  at: number;
}

export interface VerifyingReceiver {
  url: string;
  /** Every request so far, in arrival order. */
  received: ReceivedEvent[];
  /** Resolves once `predicate` holds, or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The whole request body as text: what a Standard Webhooks verifier takes. */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startVerifyingReceiver(secret: string): Promise<VerifyingReceiver> {
  const verifier = new Webhook(secret);
  const received: ReceivedEvent[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const at = Date.now();
    readBody(req).then(
      (body) => {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) {
          if (typeof value === 'string') headers[name] = value;
        }
        let verified = true;
        let createdAt = '';
        try {
          const event = verifier.verify(body, headers) as { created_at?: unknown };
          createdAt = typeof event.created_at === 'string' ? event.created_at : '';
        } catch {
          verified = false;
        }
        received.push({ id: headers['webhook-id'] ?? '', createdAt, verified, at });
        res.writeHead(verified ? 204 : 400).end();
      },
      () => res.writeHead(400).end(),
    );
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    received,
    async waitFor(predicate, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`receiver: ${received.length} requests after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
