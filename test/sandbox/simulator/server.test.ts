import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { MERCHANT } from './support';

/** The simulator's request handling before any route: what every path goes through. */

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator({ merchant: MERCHANT });
});
afterAll(async () => {
  await sim.close();
});

/** One raw HTTP/1.1 request with this exact target (fetch would normalise it), the whole answer back. */
function rawGet(target: string): Promise<string> {
  const { hostname, port } = new URL(sim.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`);
  });
}

describe('a request target that is not a URL path', () => {
  it('is refused with 400, and the simulator goes on serving', async () => {
    const answer = await rawGet('//[');
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(answer).toContain('"code":"BAD_REQUEST"');
    expect((await fetch(`${sim.url}/sandbox/miniprogram/sessions/nobody`)).status).toBe(404);
  });
});
