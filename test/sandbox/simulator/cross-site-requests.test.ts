import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLoopbackHost } from '#sandbox/simulator/loopback-host';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT, createOrder, debugOrder } from './support';

/**
 * What a web page elsewhere can make the developer's browser do to the simulator: a "simple"
 * cross-site POST (text/plain, a form) reaches a loopback port without a preflight, and a
 * DNS-rebinding page reaches it under the attacker's name. Neither may act.
 */

let sim: RunningSimulator;
let port: number;
beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT });
  port = Number(new URL(sim.url).port);
});
afterAll(async () => {
  await sim.close();
});

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request with exactly these headers, Host included (fetch would set Host itself). */
function raw(method: string, path: string, headers: Record<string, string>, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorCode = (answer: RawAnswer) => (JSON.parse(answer.text) as { error: { code: string } }).error.code;
const payPath = (outTradeNo: string) => `/sandbox/orders/${encodeURIComponent(outTradeNo)}/pay`;
const PAY_BODY = JSON.stringify({ result: 'SUCCESS' });

describe('a control API body not declared application/json', () => {
  it.each([
    ['text/plain;charset=UTF-8', 'a cross-site fetch with no-cors'],
    ['application/x-www-form-urlencoded', 'a cross-site form'],
    ['multipart/form-data; boundary=x', 'a cross-site multipart form'],
    [undefined, 'no content type'],
  ])('%s (%s) is refused with 415 and pays nothing', async (contentType: string | undefined, _what: string) => {
    const { outTradeNo } = await createOrder(sim.url);
    const headers: Record<string, string> = { host: `127.0.0.1:${port}` };
    if (contentType !== undefined) headers['content-type'] = contentType;
    const answer = await raw('POST', payPath(outTradeNo), headers, PAY_BODY);
    expect(answer.status).toBe(415);
    expect(errorCode(answer)).toBe('UNSUPPORTED_MEDIA_TYPE');
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.order?.trade_state).toBe('NOTPAY');
    expect(debug.payer).toEqual([]);
  });

  it('cannot switch a fault on either', async () => {
    const before = await (await fetch(`${sim.url}/sandbox/faults`)).json();
    const answer = await raw(
      'POST',
      '/sandbox/faults',
      { host: `localhost:${port}`, 'content-type': 'text/plain' },
      JSON.stringify({ notify: 'drop' }),
    );
    expect(answer.status).toBe(415);
    expect(await (await fetch(`${sim.url}/sandbox/faults`)).json()).toEqual(before);
  });

  it('is accepted with a charset parameter, in any case', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const answer = await raw(
      'POST',
      payPath(outTradeNo),
      { host: `127.0.0.1:${port}`, 'content-type': 'Application/JSON; charset=utf-8' },
      PAY_BODY,
    );
    expect(answer.status, answer.text).toBe(200);
    expect((await debugOrder(sim.url, outTradeNo)).order?.trade_state).toBe('SUCCESS');
  });
});

describe('a Host that is not the loopback with this port', () => {
  it.each([
    ['attacker.example', 'a DNS-rebinding name'],
    ['127.0.0.1.attacker.example', 'a name that starts like the loopback'],
    ['127.0.0.1', 'no port'],
    ['127.0.0.1:1', 'another port'],
  ])('%s (%s) gets 421 on a page and on the control API, which does nothing', async (name) => {
    const host = name.includes(':') || name === '127.0.0.1' ? name : `${name}:${port}`;
    const page = await raw('GET', '/sandbox', { host });
    expect(page.status).toBe(421);
    expect(page.headers.connection).toBe('close');
    expect(errorCode(page)).toBe('MISDIRECTED_REQUEST');

    const { outTradeNo } = await createOrder(sim.url);
    const paid = await raw('POST', payPath(outTradeNo), { host, 'content-type': 'application/json' }, PAY_BODY);
    expect(paid.status).toBe(421);
    expect((await debugOrder(sim.url, outTradeNo)).order?.trade_state).toBe('NOTPAY');
  });

  it.each(['127.0.0.1', 'localhost', 'LOCALHOST', '[::1]'])('%s with the port is served', async (name) => {
    expect((await raw('GET', '/sandbox', { host: `${name}:${port}` })).status).toBe(200);
  });
});

describe('isLoopbackHost', () => {
  it('takes the loopback names with the port, and a bare name only on port 80', () => {
    expect(isLoopbackHost('127.0.0.1:3100', 3100)).toBe(true);
    expect(isLoopbackHost('Localhost:3100', 3100)).toBe(true);
    expect(isLoopbackHost('[::1]:3100', 3100)).toBe(true);
    expect(isLoopbackHost('localhost', 80)).toBe(true);
    expect(isLoopbackHost('localhost', 3100)).toBe(false);
    expect(isLoopbackHost('localhost:3101', 3100)).toBe(false);
    expect(isLoopbackHost('127.0.0.2:3100', 3100)).toBe(false);
    expect(isLoopbackHost('localhost.attacker.example:3100', 3100)).toBe(false);
    expect(isLoopbackHost(undefined, 3100)).toBe(false);
  });

  it('takes the name the server was told to listen on as well', () => {
    expect(isLoopbackHost('gateway.test:8080', 8080, 'gateway.test')).toBe(true);
    expect(isLoopbackHost('Gateway.TEST:8080', 8080, 'gateway.TEST')).toBe(true);
    expect(isLoopbackHost('gateway.test:8080', 8080)).toBe(false);
  });
});
