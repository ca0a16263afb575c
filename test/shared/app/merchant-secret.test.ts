import { describe, expect, it } from 'vitest';

import { merchantCredentialsSource } from '#shared/app/merchant-secret';
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
  const state = { text: initial, reads: 0, fail: false, delayMs: 0 };
  const credentials = merchantCredentialsSource(settings, {
    clock,
    minReloadIntervalMs: 30_000,
    readSecret: async () => {
      state.reads += 1;
      if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
      if (state.fail) throw new Error('Secrets Manager unavailable');
      return state.text;
    },
  });
  return { clock, state, credentials };
}

describe('merchantCredentialsSource', () => {
  it('serves the loaded credentials for the TTL, then reads again', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    state.text = secretWith(KEY_B);
    clock.advance(299);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    clock.advance(1);
    expect((await credentials.current()).apiKey).toBe(KEY_B);
    expect(state.reads).toBe(2);
  });

  it('keeps the replaced credentials for the overlap, and the same object while the keys stay', async () => {
    const { clock, state, credentials } = source(secretWith(KEY_A));
    const first = await credentials.current();
    clock.advance(300);
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
    state.fail = false;
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    state.fail = true;
    clock.advance(300);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
    state.text = 'not json';
    state.fail = false;
    clock.advance(300);
    expect((await credentials.current()).apiKey).toBe(KEY_A);
  });

  it('a secret that is not JSON is a ConfigurationError that names no value', async () => {
    const { credentials } = source('{"apiKey":"secret-value"');
    await expect(credentials.current()).rejects.toBeInstanceOf(ConfigurationError);
    await expect(credentials.current()).rejects.not.toThrow(/secret-value/);
  });
});
