import { createServer } from 'node:https';
import type { Server, ServerOptions } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tlsFetch } from '#shared/wechatpay/core/tls-fetch';
import { createCertificateAuthority } from '#shared/wechatpay/testing/certificate-authority';
import type { CertificateAuthority, IssuedCertificate } from '#shared/wechatpay/testing/certificate-authority';
import { startCraftedServer } from '#test/helpers/wechatpay-v2';

let ca: CertificateAuthority;
let serverCert: IssuedCertificate;
const servers: Server[] = [];

beforeAll(() => {
  ca = createCertificateAuthority();
  serverCert = ca.issue({ commonName: 'api', ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'], usage: 'server' });
});

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  options: ServerOptions = {},
): Promise<string> {
  const server = createServer({ cert: serverCert.certPem, key: serverCert.keyPem, ...options }, handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function readAll(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => resolve(body));
  });
}

describe('tlsFetch', () => {
  it('sends the method, headers and body, and answers with a web Response (status, headers, body)', async () => {
    const url = await serve((req, res) => {
      void readAll(req).then((body) => {
        res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-echo': req.headers['x-token'] ?? '' });
        res.end(JSON.stringify({ method: req.method, path: req.url, body, type: req.headers['content-type'] }));
      });
    });
    const fetch = tlsFetch({ caPem: ca.certPem });
    const res = await fetch(`${url}/v3/refund/domestic/refunds?x=1`, {
      method: 'POST',
      headers: { 'x-token': 'abc', 'content-type': 'text/xml' },
      body: '<xml>退款</xml>',
    });
    expect(res).toBeInstanceOf(Response);
    expect(res.status).toBe(201);
    expect(res.statusText).toBe('Made');
    expect(res.ok).toBe(true);
    expect(res.headers.get('x-echo')).toBe('abc');
    await expect(res.json()).resolves.toEqual({
      method: 'POST',
      path: '/v3/refund/domestic/refunds?x=1',
      body: '<xml>退款</xml>',
      type: 'text/xml',
    });
  });

  it('accepts a Request and a URL as fetch does, and gives 204 a null body', async () => {
    const url = await serve((req, res) => {
      res.writeHead(req.method === 'DELETE' ? 204 : 200);
      res.end(req.method === 'DELETE' ? undefined : 'got it');
    });
    const fetch = tlsFetch({ caPem: ca.certPem });
    const none = await fetch(new Request(`${url}/x`, { method: 'DELETE' }));
    expect(none.status).toBe(204);
    expect(none.body).toBeNull();
    await expect((await fetch(new URL(`${url}/y`))).text()).resolves.toBe('got it');
  });

  it('trusts the CA given on top of the public roots, and nothing unknown without it', async () => {
    const url = await serve((_req, res) => res.end('ok'));
    await expect(tlsFetch({})(url)).rejects.toThrow(/fetch failed/);
    await expect(globalThis.fetch(url)).rejects.toThrow();
    const foreign = createCertificateAuthority();
    await expect(tlsFetch({ caPem: foreign.certPem })(url)).rejects.toThrow(/fetch failed/);
    await expect((await tlsFetch({ caPem: ca.certPem })(url)).text()).resolves.toBe('ok');
  });

  it('checks the server certificate against the host asked for', async () => {
    const url = await serve((_req, res) => res.end('ok'));
    const other = ca.issue({ commonName: 'elsewhere', dnsNames: ['example.invalid'], usage: 'server' });
    const wrongHost = await serve((_req, res) => res.end('ok'), { cert: other.certPem, key: other.keyPem });
    await expect((await tlsFetch({ caPem: ca.certPem })(url.replace('127.0.0.1', 'localhost'))).text()).resolves.toBe(
      'ok',
    );
    await expect(tlsFetch({ caPem: ca.certPem })(wrongHost)).rejects.toThrow(/altnames|does not match/i);
  });

  it('streams the body: the first part is read before the server has sent the rest', async () => {
    let finish: () => void = () => undefined;
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('first;');
      finish = () => res.end('second');
    });
    const res = await tlsFetch({ caPem: ca.certPem })(url);
    const reader = res.body!.getReader();
    const first = await reader.read();
    expect(Buffer.from(first.value!).toString()).toBe('first;');
    finish();
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += Buffer.from(r.value).toString();
    expect(rest).toBe('second');
  });

  it('honours AbortSignal before sending, while waiting for the answer, and while reading the body', async () => {
    let requests = 0;
    let release: () => void = () => undefined;
    const url = await serve((req, res) => {
      requests += 1;
      if (req.url === '/slow-body') {
        res.writeHead(200);
        res.write('part');
        release = () => res.end();
      }
      // /hang never answers
    });
    const fetch = tlsFetch({ caPem: ca.certPem });

    const already = AbortSignal.abort();
    await expect(fetch(`${url}/hang`, { signal: already })).rejects.toMatchObject({ name: 'AbortError' });
    expect(requests).toBe(0);

    const waiting = new AbortController();
    const pending = fetch(`${url}/hang`, { signal: waiting.signal });
    await new Promise((resolve) => setTimeout(resolve, 50));
    waiting.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });

    const reading = new AbortController();
    const res = await fetch(`${url}/slow-body`, { signal: reading.signal });
    const reader = res.body!.getReader();
    await reader.read();
    reading.abort();
    await expect(reader.read()).rejects.toMatchObject({ name: 'AbortError' });
    release();
  });

  it('gives a network failure as fetch does: a TypeError naming the cause', async () => {
    const url = await serve((req) => req.socket.destroy());
    await expect(tlsFetch({ caPem: ca.certPem })(url)).rejects.toThrow(TypeError);
    await expect(tlsFetch({})('ftp://127.0.0.1/')).rejects.toThrow(/unsupported protocol/);
  });

  it('speaks plain HTTP to an http: URL, so one fetch serves either base URL', async () => {
    const plain = await startCraftedServer(() => ({ status: 200, body: 'plain' }));
    try {
      await expect((await tlsFetch({ caPem: ca.certPem })(`${plain.url}/pay/refundquery`)).text()).resolves.toBe(
        'plain',
      );
    } finally {
      await plain.close();
    }
  });
});
