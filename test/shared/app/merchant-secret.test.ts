import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { describe, expect, it } from 'vitest';

import {
  merchantCredentialsSource,
  REFRESH_BACKOFF_MAX_MS,
  REFRESH_BACKOFF_MS,
  secretsManagerReader,
  type StaleCredentials,
} from '#shared/app/merchant-secret';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';
import { TestClock } from '#test/helpers/test-clock';

const settings = loadSettings({
  TABLE_NAME: 'orders',
  WECHATPAY_SECRET_ID: 'merchant-secret',
  CREDENTIALS_TTL_SECONDS: '300',
  KEY_ROTATION_OVERLAP_SECONDS: '600',
});
const secretWith = (apiKey: string) =>
  JSON.stringify({ appid: 'wx0123456789abcdef', mchid: '1900000109', apiVersion: 'v2', apiKey });
const KEY_A = 'a'.repeat(32);
const KEY_B = 'b'.repeat(32);

function source(initial: string) {
  const clock = new TestClock('2030-01-01T00:00:00Z');
  const state = { text: initial, reads: 0, fail: false, hang: false, delayMs: 0 };
  const stale: StaleCredentials[] = [];
  const credentials = merchantCredentialsSource(settings, {
    clock,
    minReloadIntervalMs: 30_000,
    onStale: (detail) => stale.push(detail),
    readSecret: async () => {
      state.reads += 1;
      if (state.hang) await new Promise(() => undefined);
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.fail) throw new Error('Secrets Manager unavailable');
      return state.text;
    },
  });
  return { clock, state, stale, credentials };
}

/** Lets a refresh started in the background run to its end (the stand-in answers without a timer). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** What a call answers within `ms`, or 'waited' when it did not answer by then. */
async function within<T>(ms: number, call: Promise<T>): Promise<T | 'waited'> {
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<'waited'>((resolve) => (timer = setTimeout(() => resolve('waited'), ms)));
  try {
    return await Promise.race([call, waited]);
  } finally {
    clearTimeout(timer);
  }
}

describe('merchantCredentialsSource', () => {
  it('serves the loaded credentials for the TTL, then reads again in the background', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    state.text = secretWith(KEY_B);
    clock.advance(299);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    expect(state.reads).toBe(1);
    clock.advance(1);
    // The call that finds them old is answered with them; the read it starts serves the next calls.
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    expect(state.reads).toBe(2);
    await settled();
    expect((await credentials.current()).apiKey).toBe(KEY_B);
    expect(state.reads).toBe(2);
  });

  it('after the TTL, a read that hangs delays no call: the loaded credentials answer at once', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    await credentials.current();
    state.hang = true;
    clock.advance(300);
    const started = performance.now();
    const answers = await within(100, Promise.all(Array.from({ length: 5 }, () => credentials.current())));
    expect(performance.now() - started).toBeLessThan(50);
    expect(answers === 'waited' ? answers : answers.map((c) => c.apiKey)).toEqual(Array(5).fill(KEY_A));
    // One read in flight for all of them, and none more while it hangs.
    expect(state.reads).toBe(2);
    clock.advance(600);
    expect((await within(100, credentials.current())) === 'waited').toBe(false);
    expect(state.reads).toBe(2);
  });

  it('a failed refresh waits out a growing back-off before the next read, and says so', async () => {
    const { clock, state, stale, credentials } = source(secretWith(KEY_A));
    await credentials.current();
    state.fail = true;
    clock.advance(300);
    for (let i = 0; i < 10; i += 1) {
      expect((await credentials.current()).apiKey).toBe(KEY_A);
      await settled();
    }
    expect(state.reads).toBe(2);
    expect(stale).toEqual([
      { error: 'Error: Secrets Manager unavailable', failures: 1, ageSeconds: 300, retryInSeconds: 30 },
    ]);

    // One read per window, not one per call: 30 s, then twice as long each time, up to the cap.
    let window = REFRESH_BACKOFF_MS;
    for (let failures = 2; failures <= 8; failures += 1) {
      clock.advance(window / 1000 - 1);
      await credentials.current();
      await settled();
      expect(state.reads).toBe(failures);
      clock.advance(1);
      await credentials.current();
      await settled();
      expect(state.reads).toBe(failures + 1);
      window = Math.min(window * 2, REFRESH_BACKOFF_MAX_MS);
      expect(stale.at(-1)).toMatchObject({ failures, retryInSeconds: window / 1000 });
    }
    expect(window).toBe(REFRESH_BACKOFF_MAX_MS);
    // What is reported names the failure, never a key.
    expect(JSON.stringify(stale)).not.toContain(KEY_A);
  });

  it('a later successful read replaces the credentials and ends the back-off', async () => {
    const { clock, state, stale, credentials } = source(secretWith(KEY_A));
    await credentials.current();
    state.fail = true;
    clock.advance(300);
    await credentials.current();
    await settled();
    clock.advance(30);
    await credentials.current();
    await settled();
    expect(state.reads).toBe(3);

    state.fail = false;
    state.text = secretWith(KEY_B);
    clock.advance(60);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    await settled();
    expect((await credentials.current()).apiKey).toBe(KEY_B);
    expect(state.reads).toBe(4);

    // Fresh for a whole TTL; the next failure starts from the first window again.
    clock.advance(299);
    await credentials.current();
    expect(state.reads).toBe(4);
    state.fail = true;
    clock.advance(1);
    await credentials.current();
    await settled();
    expect(stale.at(-1)).toMatchObject({ failures: 1, retryInSeconds: REFRESH_BACKOFF_MS / 1000 });
  });

  it('keeps the replaced credentials for the overlap, and the same object while the keys stay', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    const first = await credentials.current();
    clock.advance(300);
    await credentials.current();
    await settled();
    expect(state.reads).toBe(2);
    expect(await credentials.current()).toBe(first);
    expect(credentials.previous()).toEqual([]);
    state.text = secretWith(KEY_B);
    expect((await credentials.reload()).apiKey).toBe(KEY_B);
    expect(credentials.previous()).toEqual([first]);
    clock.advance(599);
    expect(credentials.previous()).toEqual([first]);
    clock.advance(1);
    expect(credentials.previous()).toEqual([]);
  });

  it('serves the rotation the secret records (previous* keys) until rotatedAt plus the overlap', async () => {
    const { clock, credentials } = source(
      JSON.stringify({
        ...JSON.parse(secretWith(KEY_B)),
        previousApiKey: KEY_A,
        rotatedAt: '2029-12-31T23:55:00Z',
      }),
    );
    expect((await credentials.current()).apiKey).toBe(KEY_B);
    const [prior, ...rest] = credentials.previous();
    expect(rest).toEqual([]);
    expect(prior?.apiKey).toBe(KEY_A);
    expect(prior).not.toHaveProperty('previousApiKey');
    // The same object each time, so it is built once.
    expect(credentials.previous()[0]).toBe(prior);
    clock.advance(299);
    expect(credentials.previous()).toHaveLength(1);
    clock.advance(1);
    expect(credentials.previous()).toEqual([]);
  });

  it('refuses previous keys without rotatedAt, and half a previous public key', async () => {
    for (const extra of [
      { previousApiKey: KEY_A },
      { previousPublicKeyId: 'PUB_KEY_ID_01', rotatedAt: '2030-01-01T00:00:00Z' },
    ]) {
      const { credentials } = source(JSON.stringify({ ...JSON.parse(secretWith(KEY_B)), ...extra }));
      await expect(credentials.current()).rejects.toBeInstanceOf(ConfigurationError);
    }
  });

  it('reloads one at a time and at most once per interval', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    await credentials.current();
    state.delayMs = 20;
    await Promise.all(Array.from({ length: 10 }, () => credentials.reload()));
    expect(state.reads).toBe(2);
    await credentials.reload();
    expect(state.reads).toBe(2);
    clock.advance(30);
    await credentials.reload();
    expect(state.reads).toBe(3);
  });

  it('keeps serving the last good credentials while the secret cannot be read; fails only with none', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    state.fail = true;
    await expect(credentials.current()).rejects.toThrow('Secrets Manager unavailable');
    // With nothing to serve, every call waits for a read (no back-off).
    await expect(credentials.current()).rejects.toThrow('Secrets Manager unavailable');
    state.fail = false;
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    state.fail = true;
    clock.advance(300);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    await settled();
    state.text = 'not json';
    state.fail = false;
    clock.advance(300);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    await settled();
    expect((await credentials.current()).apiKey).toBe(KEY_A);
  });

  it('the Secrets Manager reader gives up on a server that never answers, after two short attempts', async () => {
    let attempts = 0;
    const silent = createServer(() => {
      attempts += 1;
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const read = secretsManagerReader(settings, {
        endpoint: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`,
        credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' },
        timeoutMs: 200,
      });
      const started = performance.now();
      const outcome = await within(
        2_000,
        read('merchant-secret').then(
          () => 'answered',
          (error: Error) => error.name,
        ),
      );
      expect(outcome).toBe('TimeoutError');
      expect(attempts).toBe(2);
      expect(performance.now() - started).toBeLessThan(1_500);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('a secret that is not JSON is a ConfigurationError that names no value', async () => {
    const { credentials } = source('{"apiKey":"secret-value"');
    await expect(credentials.current()).rejects.toBeInstanceOf(ConfigurationError);
    await expect(credentials.current()).rejects.not.toThrow(/secret-value/);
  });
});
