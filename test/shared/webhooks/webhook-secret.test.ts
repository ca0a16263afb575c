import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';

import { signWebhook } from '#shared/webhooks/signature';
import {
  WEBHOOK_SECRET_PREFIX,
  WebhookSecretError,
  generateWebhookSecret,
  parseWebhookSecret,
} from '#shared/webhooks/webhook-secret';
import type { WebhookSecretRule } from '#shared/webhooks/webhook-secret';

const secretOf = (bytes: number, fill = 7): string =>
  WEBHOOK_SECRET_PREFIX + Buffer.alloc(bytes, fill).toString('base64');

/** The error parseWebhookSecret throws for `text`, checked to be a WebhookSecretError. */
function refusal(text: string): WebhookSecretError {
  try {
    parseWebhookSecret(text);
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookSecretError);
    return error as WebhookSecretError;
  }
  throw new Error('the secret was accepted');
}

describe('parseWebhookSecret', () => {
  it('gives the bytes the base64 after whsec_ decodes to', () => {
    const key = Buffer.from('000102030405060708090a0b0c0d0e0f1011121314151617', 'hex');
    expect(parseWebhookSecret(`whsec_${key.toString('base64')}`).equals(key)).toBe(true);
  });

  it('accepts the bounds of the spec, 24 and 64 bytes, padded or not', () => {
    expect(parseWebhookSecret(secretOf(24))).toHaveLength(24);
    expect(parseWebhookSecret(secretOf(64))).toHaveLength(64);
    expect(parseWebhookSecret(secretOf(25).replace(/=+$/, ''))).toHaveLength(25);
  });

  it.each<[string, string, WebhookSecretRule, RegExp]>([
    ['no prefix', Buffer.alloc(32, 9).toString('base64'), 'prefix', /must start with "whsec_"/],
    ['another prefix', `whsk_${Buffer.alloc(32, 9).toString('base64')}`, 'prefix', /must start with "whsec_"/],
    ['an upper-case prefix', `WHSEC_${Buffer.alloc(32, 9).toString('base64')}`, 'prefix', /must start/],
    ['nothing after the prefix', 'whsec_', 'base64', /standard base64/],
    ['base64url characters', `whsec_${'-_'.repeat(20)}`, 'base64', /standard base64/],
    [
      'a character outside base64',
      `whsec_${Buffer.alloc(32, 9).toString('base64').slice(0, -2)}!!`,
      'base64',
      /base64/,
    ],
    ['a trailing newline', `${secretOf(32)}\n`, 'base64', /no whitespace/],
    [
      'a space inside',
      `whsec_${Buffer.alloc(32, 9)
        .toString('base64')
        .replace(/^(.{8})/, '$1 ')}`,
      'base64',
      /base64/,
    ],
    ['a length no base64 has (4n+1)', `whsec_${'A'.repeat(41)}`, 'base64', /base64/],
    ['padding in the middle', `whsec_AAAA=AAA${'A'.repeat(32)}`, 'base64', /base64/],
    ['non-canonical trailing bits', `whsec_${'A'.repeat(32)}AB==`, 'base64', /base64/],
    ['23 bytes', secretOf(23), 'too-short', /at least 24 bytes/],
    ['65 bytes', secretOf(65), 'too-long', /at most 64 bytes/],
  ])('refuses %s, naming the rule', (_what, text, rule, message) => {
    const error = refusal(text);
    expect(error.rule).toBe(rule);
    expect(error.message).toMatch(message);
  });

  it('never puts the secret, or a part of it, in the message', () => {
    const key = Buffer.from('a secret that is far too long to be one'.repeat(3));
    const texts = [
      key.toString('base64'),
      `whsec_${key.toString('base64')}`,
      `whsec_${key.toString('base64')}#`,
      `whsec_${key.subarray(0, 10).toString('base64')}`,
    ];
    for (const text of texts) {
      const { message } = refusal(text);
      const encoded = text.replace(/^whsec_/, '');
      for (let i = 0; i + 8 <= encoded.length; i += 1) expect(message).not.toContain(encoded.slice(i, i + 8));
    }
  });
});

describe('generateWebhookSecret', () => {
  it('gives whsec_ and 32 random bytes, a different secret every time', () => {
    const secrets = new Set(Array.from({ length: 20 }, () => generateWebhookSecret()));
    expect(secrets.size).toBe(20);
    for (const secret of secrets) {
      expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
      expect(parseWebhookSecret(secret)).toHaveLength(32);
    }
  });

  it('is read the same way by the Standard Webhooks library', () => {
    const secret = generateWebhookSecret();
    const input = { key: parseWebhookSecret(secret), id: 'evt_1', timestamp: 1_700_000_000, body: '{}' };
    expect(new Webhook(secret).sign(input.id, new Date(input.timestamp * 1000), input.body)).toBe(signWebhook(input));
  });
});
