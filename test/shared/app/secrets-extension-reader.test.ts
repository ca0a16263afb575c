import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { defaultSecretReader, merchantCredentialsSource } from '#shared/app/merchant-secret';
import { secretsExtensionReader, SecretsExtensionError } from '#shared/app/secrets-extension-reader';
import { loadSettings } from '#shared/config/settings';
import { type SecretsExtensionStandIn, startSecretsExtensionStandIn } from '#test/helpers/secrets-extension-stand-in';

const TOKEN = 'session-token-of-this-environment';
const SECRET_ID = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wechatpay/merchant-AbCdEf';
const SECRET = JSON.stringify({ appid: 'wx0000000000000001', mchid: '1900000109', apiKey: 'k'.repeat(32) });

let standIn: SecretsExtensionStandIn;

beforeAll(async () => {
  standIn = await startSecretsExtensionStandIn(TOKEN);
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.secrets.clear();
  standIn.secrets.set(SECRET_ID, SECRET);
  standIn.requests.length = 0;
  standIn.delayMs = 0;
  standIn.failNext = [];
});

const reader = (overrides: { token?: string; timeoutMs?: number } = {}) =>
  secretsExtensionReader({
    port: standIn.port,
    host: '127.0.0.1',
    sessionToken: overrides.token ?? TOKEN,
    timeoutMs: overrides.timeoutMs ?? 2_000,
  });

describe('secretsExtensionReader', () => {
  it('GETs the secret by its id with the session token and answers its SecretString', async () => {
    expect(await reader()(SECRET_ID)).toBe(SECRET);
    expect(standIn.requests).toEqual([
      { path: `/secretsmanager/get?secretId=${encodeURIComponent(SECRET_ID)}`, token: TOKEN },
    ]);
  });

  it('stops at a refused token, once, naming the status and never the value', async () => {
    const error = await reader({ token: 'another-token' })(SECRET_ID).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretsExtensionError);
    expect((error as Error).message).toMatch(/answered 401/);
    expect(standIn.requests).toHaveLength(1);
  });

  it('stops at a secret it does not hold (404), once', async () => {
    const error = await reader()('wechatpay/missing').catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/answered 404 for wechatpay\/missing/);
    expect(standIn.requests).toHaveLength(1);
  });

  it('tries once more after a 5xx, and answers what the second attempt read', async () => {
    standIn.failNext = [500];
    expect(await reader()(SECRET_ID)).toBe(SECRET);
    expect(standIn.requests).toHaveLength(2);
  });

  it('tries once more after a throttling answer (429), as after a 5xx', async () => {
    standIn.failNext = [429];
    expect(await reader()(SECRET_ID)).toBe(SECRET);
    expect(standIn.requests).toHaveLength(2);
  });

  it('bounds each attempt: a slow extension fails after two attempts of timeoutMs each', async () => {
    standIn.delayMs = 1_000;
    const started = performance.now();
    const error = await reader({ timeoutMs: 100 })(SECRET_ID).catch((e: unknown) => e);
    const elapsed = performance.now() - started;
    expect((error as Error).message).toMatch(/did not answer .* within 100 ms/);
    expect(standIn.requests).toHaveLength(2);
    expect(elapsed).toBeLessThan(900);
  });

  it('hands on the text as it is: the merchant secret’s parser refuses it without showing the value', async () => {
    standIn.secrets.set(SECRET_ID, 'not json but secret-value-123');
    // The reader answers the text; it is the merchant secret's parser that refuses it, without the value.
    const source = merchantCredentialsSource(loadSettings({ TABLE_NAME: 'orders', WECHATPAY_SECRET_ID: SECRET_ID }), {
      readSecret: reader(),
    });
    const error = await source.current().catch((e: unknown) => e);
    expect((error as Error).message).not.toContain('secret-value-123');
  });
});

describe('defaultSecretReader', () => {
  it('reads through the extension when the stack set its port, and a reload reaches it again', async () => {
    const settings = loadSettings({
      TABLE_NAME: 'orders',
      WECHATPAY_SECRET_ID: SECRET_ID,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String(standIn.port),
      AWS_SESSION_TOKEN: TOKEN,
    });
    // The extension listens on localhost in Lambda; the stand-in on 127.0.0.1, which localhost is here.
    const source = merchantCredentialsSource(settings, {
      readSecret: defaultSecretReader(settings),
      minReloadIntervalMs: 0,
    });
    expect((await source.current()).mchid).toBe('1900000109');
    standIn.secrets.set(SECRET_ID, JSON.stringify({ ...JSON.parse(SECRET), mchid: '1900000110' }));
    expect((await source.reload()).mchid).toBe('1900000110');
    expect(standIn.requests).toHaveLength(2);
  });

  it('needs the session token when the port is set', () => {
    const settings = loadSettings({ TABLE_NAME: 'orders', PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: '2773' });
    expect(() => defaultSecretReader(settings)).toThrow(/AWS_SESSION_TOKEN/);
  });
});
