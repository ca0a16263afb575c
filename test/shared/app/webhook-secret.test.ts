import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { webhookKeySource } from '#shared/app/webhook-secret';
import { loadSettings } from '#shared/config/settings';
import { ConfigurationError } from '#shared/domain/errors';

const BASE = { TABLE_NAME: 'orders', LOG_LEVEL: 'SILENT' };
const KEY = randomBytes(32);
const SECRET = `whsec_${KEY.toString('base64')}`;
const SECRET_ID = 'wechatpay/merchant-webhook';

/** Secrets Manager as the function sees it: the secret's text by id, counting the reads. */
function secretsManager(values: Array<string | undefined>) {
  const reads: string[] = [];
  const read = (secretId: string) => {
    reads.push(secretId);
    return Promise.resolve(values.length > 1 ? values.shift() : values[0]);
  };
  return { reads, read };
}

describe('the webhook signing key', () => {
  it('comes from MERCHANT_WEBHOOK_SECRET when it is set, without Secrets Manager', async () => {
    const store = secretsManager([undefined]);
    const key = webhookKeySource(
      loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET: SECRET, MERCHANT_WEBHOOK_SECRET_ID: SECRET_ID }),
      store.read,
    );
    expect((await key()).equals(KEY)).toBe(true);
    expect(store.reads).toEqual([]);
  });

  it('is otherwise read from the secret MERCHANT_WEBHOOK_SECRET_ID names, once', async () => {
    const store = secretsManager([`${SECRET}\n`]);
    const key = webhookKeySource(loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET_ID: SECRET_ID }), store.read);
    expect((await key()).equals(KEY)).toBe(true);
    expect((await key()).equals(KEY)).toBe(true);
    expect(store.reads).toEqual([SECRET_ID]);
  });

  it('is required: a function that signs webhooks does not start without one', () => {
    expect(() => webhookKeySource(loadSettings(BASE))).toThrow(ConfigurationError);
    expect(() => webhookKeySource(loadSettings(BASE))).toThrow(/MERCHANT_WEBHOOK_SECRET_ID/);
  });

  it.each([
    ['without the whsec_ prefix', KEY.toString('base64')],
    ['too short', `whsec_${randomBytes(8).toString('base64')}`],
    ['empty', ''],
  ])('in a secret that is %s is a ConfigurationError naming the secret, never its value', async (_why, value) => {
    const store = secretsManager([value]);
    const key = webhookKeySource(loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET_ID: SECRET_ID }), store.read);
    const error: unknown = await key().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain(SECRET_ID);
    if (value !== '') expect((error as Error).message).not.toContain(value.replace(/^whsec_/, ''));
  });

  it('is read again after a bad value, so a secret fixed in Secrets Manager is picked up', async () => {
    const store = secretsManager(['not-a-secret', SECRET]);
    const key = webhookKeySource(loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET_ID: SECRET_ID }), store.read);
    await expect(key()).rejects.toThrow(ConfigurationError);
    expect((await key()).equals(KEY)).toBe(true);
    expect(store.reads).toHaveLength(2);
  });
});
