import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

import { signWebhook, webhookHeaders } from '#shared/webhooks/signature';
import { generateWebhookSecret, parseWebhookSecret } from '#shared/webhooks/webhook-secret';

// The published vector of the Standard Webhooks JavaScript library's own tests.
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

const SECRET = generateWebhookSecret();
const KEY = parseWebhookSecret(SECRET);
const BODY = JSON.stringify({
  id: 'evt_0123456789abcdef0123456789abcdef',
  type: 'payment.succeeded',
  created_at: '2026-01-01T10:00:00+08:00',
  data: { out_trade_no: 'T1', description: '一杯咖啡 ☕', amount: { total: 100, currency: 'CNY' } },
});

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

describe('signWebhook', () => {
  it('gives the published vector', () => {
    const signature = signWebhook({ ...VECTOR, key: parseWebhookSecret(VECTOR.secret) });
    expect(signature).toBe(VECTOR.signature);
  });

  it('signs as the Standard Webhooks library does, whatever the body holds', () => {
    for (const body of [BODY, '', 'a.b.c', '{"x":"\\u00e9 é \\n"}', ' {} ']) {
      const input = { key: KEY, id: 'evt_abc', timestamp: 1_767_225_600, body };
      expect(signWebhook(input)).toBe(new Webhook(SECRET).sign(input.id, new Date(input.timestamp * 1000), body));
    }
  });

  it.each([
    ['an id with a dot', { id: 'evt.1' }],
    ['an empty id', { id: '' }],
    ['an id with a newline', { id: 'evt_1\nx-injected: 1' }],
    ['an id with a space', { id: 'evt 1' }],
    ['a timestamp in milliseconds with a fraction', { timestamp: 1_700_000_000.5 }],
    ['a negative timestamp', { timestamp: -1 }],
    ['an empty key', { key: Buffer.alloc(0) }],
  ])('refuses %s', (_what, change) => {
    expect(() => signWebhook({ key: KEY, id: 'evt_1', timestamp: 1_700_000_000, body: '{}', ...change })).toThrow(
      RangeError,
    );
  });
});

describe('webhookHeaders', () => {
  it('are verified by the Standard Webhooks library', () => {
    const headers = webhookHeaders({ key: KEY, id: 'evt_1', timestamp: nowSeconds(), body: BODY });
    expect(Object.keys(headers).sort()).toEqual(['webhook-id', 'webhook-signature', 'webhook-timestamp']);
    expect(headers['webhook-id']).toBe('evt_1');
    expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(SECRET).verify(BODY, headers)).toEqual(JSON.parse(BODY));
  });

  it('do not verify once the body, the id or the timestamp changed, or with another secret', () => {
    const timestamp = nowSeconds();
    const headers = webhookHeaders({ key: KEY, id: 'evt_1', timestamp, body: BODY });
    const verifier = new Webhook(SECRET);
    const refused = (body: string, h: Record<string, string>) =>
      expect(() => verifier.verify(body, h)).toThrow(WebhookVerificationError);

    refused(BODY.replace('"total":100', '"total":1'), headers);
    refused(`${BODY} `, headers);
    refused(BODY, { ...headers, 'webhook-id': 'evt_2' });
    refused(BODY, { ...headers, 'webhook-timestamp': String(timestamp - 1) });
    expect(() => new Webhook(generateWebhookSecret()).verify(BODY, headers)).toThrow(WebhookVerificationError);
  });
});
