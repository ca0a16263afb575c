import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';

/** The first byte of a TLS connection: a handshake record. */
const TLS_HANDSHAKE = 0x16;

export interface DualProtocolServer {
  port: number;
  close(): Promise<void>;
}

/**
 * HTTP and HTTPS on one port, one request handler: each connection's first byte says which (a TLS
 * handshake starts 0x16; no HTTP method does), and the socket goes to the matching server. The
 * HTTPS server asks for a client certificate but accepts the handshake without one or with one it
 * does not trust, so the application can answer as WeChat's nginx does (client-certificate-gate.ts).
 */
export async function listenHttpAndHttps(opts: {
  host: string;
  port: number;
  tls: { certPem: string; keyPem: string; caPem: string };
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  log: (line: string) => void;
}): Promise<DualProtocolServer> {
  const http = createHttpServer(opts.handler);
  const https = createHttpsServer(
    {
      cert: opts.tls.certPem,
      key: opts.tls.keyPem,
      ca: [opts.tls.caPem],
      requestCert: true,
      rejectUnauthorized: false,
    },
    opts.handler,
  );
  // A client that gives up on the handshake (it does not trust the CA, say) is its own business.
  https.on('tlsClientError', (err) => opts.log(`simulator: TLS handshake failed: ${err.message}`));
  const sockets = new Set<Socket>();
  const front = createNetServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      socket.pause();
      socket.unshift(first);
      (first[0] === TLS_HANDSHAKE ? https : http).emit('connection', socket);
      process.nextTick(() => socket.resume());
    });
  });
  await new Promise<void>((resolve, reject) => {
    front.once('error', reject);
    front.listen(opts.port, opts.host, () => {
      front.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (front.address() as AddressInfo).port,
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        front.close(() => resolve());
        for (const socket of sockets) socket.destroy();
        http.closeAllConnections();
      });
      return closing;
    },
  };
}
