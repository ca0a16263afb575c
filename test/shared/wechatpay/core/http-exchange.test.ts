import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';

import { WechatPayError } from '#shared/wechatpay/core/errors';
import { exchange } from '#shared/wechatpay/core/http-exchange';

/**
 * exchange() with Node's own fetch (the clients' default) against loopback servers: one answering as
 * WeChat would not, with a redirect, and the host it points to, which must never be asked.
 */

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function serve(answer: (res: ServerResponse) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      answer(res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const SIGNED = 'WECHATPAY2-SHA256-RSA2048 mchid="1900000001",signature="c2lnbmVk"';

describe('exchange', () => {
  it('reads the answer of a request sent as given', async () => {
    const wechat = await serve((res) => res.end('{"ok":true}'));
    const text = await exchange(
      {
        method: 'GET',
        url: `${wechat.url}/v3/bill/tradebill?bill_date=2030-01-01`,
        headers: { authorization: SIGNED },
      },
      { fetch, timeoutMs: 2_000 },
      (response) => response.text(),
    );
    expect(text).toBe('{"ok":true}');
    expect(wechat.seen).toEqual([
      expect.objectContaining({ method: 'GET', path: '/v3/bill/tradebill?bill_date=2030-01-01' }),
    ]);
    expect(wechat.seen[0]?.headers.authorization).toBe(SIGNED);
  });

  it.each([301, 302, 303, 307, 308])(
    'does not follow a %i: a signed request never goes on to where a redirect points (NETWORK, retryable)',
    async (status) => {
      const elsewhere = await serve((res) => res.end('a bill from elsewhere'));
      const wechat = await serve((res) => {
        res.writeHead(status, { location: `${elsewhere.url}/v3/billdownload/file?token=abc` });
        res.end();
      });
      let read = false;
      const error = await exchange(
        {
          method: 'GET',
          url: `${wechat.url}/v3/billdownload/file?token=abc`,
          headers: { authorization: SIGNED },
        },
        { fetch, timeoutMs: 2_000 },
        async (response) => {
          read = true;
          return response.text();
        },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WechatPayError);
      expect(error).toMatchObject({ code: 'NETWORK', retryable: true, kind: 'transport' });
      expect(read).toBe(false);
      expect(wechat.seen).toHaveLength(1);
      expect(elsewhere.seen).toEqual([]);
    },
  );

  it('does not follow a redirect of a POST to its own origin either: WeChat’s APIs never send one', async () => {
    let calls = 0;
    const wechat = await serve((res) => {
      calls += 1;
      if (calls === 1) {
        res.writeHead(307, { location: '/pay/downloadbill-again' });
        res.end();
      } else res.end('<xml><return_code>SUCCESS</return_code></xml>');
    });
    const error = await exchange(
      { method: 'POST', url: `${wechat.url}/pay/downloadbill`, headers: {}, body: '<xml></xml>' },
      { fetch, timeoutMs: 2_000 },
      (response) => response.text(),
    ).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NETWORK' });
    expect(wechat.seen.map((s) => s.path)).toEqual(['/pay/downloadbill']);
  });
});
