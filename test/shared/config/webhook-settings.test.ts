import { randomBytes } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { loadSettings } from '#shared/config/settings';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE,
  MAX_WEBHOOK_RETRY_TOTAL_SECONDS,
  WEBHOOK_MAX_DELAY_SECONDS,
  WEBHOOK_QUEUE_VISIBILITY_SECONDS,
  WEBHOOKS_FUNCTION_TIMEOUT_SECONDS,
  webhookMaxReceiveCount,
} from '#shared/config/webhook-queue';
import { DEFAULT_WEBHOOK_TIMEOUT_MS } from '#shared/webhooks/deliver';
import { ConfigurationError } from '#shared/domain/errors';

const BASE = { TABLE_NAME: 'orders' };
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

function refusal(env: Record<string, string>): string {
  try {
    loadSettings({ ...BASE, ...env });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as Error).message;
  }
  throw new Error('the settings were accepted');
}

describe('MERCHANT_WEBHOOK_URL', () => {
  it('is optional: unset or empty means no webhooks', () => {
    expect(loadSettings(BASE).MERCHANT_WEBHOOK_URL).toBeUndefined();
    expect(loadSettings({ ...BASE, MERCHANT_WEBHOOK_URL: ' ' }).MERCHANT_WEBHOOK_URL).toBeUndefined();
  });

  it('takes any https URL', () => {
    const url = 'https://shop.example.com/hooks/wechatpay?tenant=1';
    expect(loadSettings({ ...BASE, MERCHANT_WEBHOOK_URL: url }).MERCHANT_WEBHOOK_URL).toBe(url);
  });

  it.each(['http://127.0.0.1:4000/hooks', 'http://[::1]:4000/hooks', 'http://localhost:4000/hooks'])(
    'takes plain http to the loopback host of %s',
    (url) => {
      expect(loadSettings({ ...BASE, MERCHANT_WEBHOOK_URL: url }).MERCHANT_WEBHOOK_URL).toBe(url);
    },
  );

  it.each([
    'http://shop.example.com/hooks',
    'http://10.0.0.5/hooks',
    'http://127.0.0.2/hooks',
    'http://localhost.example.com/hooks',
    'ftp://127.0.0.1/hooks',
    'shop.example.com/hooks',
    'https://user:pass@shop.example.com/hooks',
  ])('refuses %s, naming the variable', (url) => {
    expect(refusal({ MERCHANT_WEBHOOK_URL: url })).toMatch(/MERCHANT_WEBHOOK_URL/);
  });
});

describe('MERCHANT_WEBHOOK_SECRET', () => {
  it('takes a whsec_ secret and keeps its text', () => {
    expect(loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET: SECRET }).MERCHANT_WEBHOOK_SECRET).toBe(SECRET);
  });

  it.each([
    ['without the whsec_ prefix', randomBytes(32).toString('base64')],
    ['too short a key', `whsec_${randomBytes(8).toString('base64')}`],
    ['not base64 after the prefix', 'whsec_!!!!not-base64-at-all-but-long-enough!!!!'],
  ])('refuses a secret %s, naming the variable but never the value', (_why, value) => {
    const message = refusal({ MERCHANT_WEBHOOK_SECRET: value });
    expect(message).toMatch(/MERCHANT_WEBHOOK_SECRET/);
    expect(message).not.toContain(value);
    expect(message).not.toContain(value.replace(/^whsec_/, ''));
  });

  it('reads MERCHANT_WEBHOOK_SECRET_ID as the name of a secret, unchecked here', () => {
    const settings = loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET_ID: 'wechatpay/webhook' });
    expect(settings.MERCHANT_WEBHOOK_SECRET_ID).toBe('wechatpay/webhook');
    expect(loadSettings({ ...BASE, MERCHANT_WEBHOOK_SECRET_ID: '' }).MERCHANT_WEBHOOK_SECRET_ID).toBeUndefined();
  });
});

describe('WEBHOOK_RETRY_SCHEDULE', () => {
  it('waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default: eight attempts, then the DLQ', () => {
    expect(DEFAULT_WEBHOOK_RETRY_SCHEDULE).toBe('5,300,1800,7200,18000,36000,36000');
    const schedule = loadSettings(BASE).WEBHOOK_RETRY_SCHEDULE;
    expect(schedule).toEqual([5, 300, 1800, 7200, 18000, 36000, 36000]);
    expect(webhookMaxReceiveCount(schedule)).toBe(8);
  });

  it('takes whole seconds up to the longest wait', () => {
    const settings = loadSettings({ ...BASE, WEBHOOK_RETRY_SCHEDULE: ` 1, 60 ,${WEBHOOK_MAX_DELAY_SECONDS}` });
    expect(settings.WEBHOOK_RETRY_SCHEDULE).toEqual([1, 60, WEBHOOK_MAX_DELAY_SECONDS]);
    expect(webhookMaxReceiveCount(settings.WEBHOOK_RETRY_SCHEDULE)).toBe(4);
  });

  it('ends the longest wait within 12 hours of the receive, however late in its run the visibility changes', () => {
    // SQS counts its 12-hour visibility limit from the receive; the change comes at most a timeout later.
    expect(WEBHOOK_MAX_DELAY_SECONDS + WEBHOOKS_FUNCTION_TIMEOUT_SECONDS).toBeLessThan(43_200);
    expect(refusal({ WEBHOOK_RETRY_SCHEDULE: '5,43200' })).toMatch(/WEBHOOK_RETRY_SCHEDULE/);
    expect(refusal({ WEBHOOK_RETRY_SCHEDULE: String(WEBHOOK_MAX_DELAY_SECONDS + 1) })).toMatch(/at most/);
  });

  it('keeps the whole schedule within half the queue’s 14-day retention', () => {
    const waits = Math.floor(MAX_WEBHOOK_RETRY_TOTAL_SECONDS / WEBHOOK_MAX_DELAY_SECONDS);
    const fits = Array(waits).fill(WEBHOOK_MAX_DELAY_SECONDS).join(',');
    expect(loadSettings({ ...BASE, WEBHOOK_RETRY_SCHEDULE: fits }).WEBHOOK_RETRY_SCHEDULE).toHaveLength(waits);
    expect(refusal({ WEBHOOK_RETRY_SCHEDULE: `${fits},${WEBHOOK_MAX_DELAY_SECONDS}` })).toMatch(
      /WEBHOOK_RETRY_SCHEDULE.*add up/,
    );
    expect(MAX_WEBHOOK_RETRY_TOTAL_SECONDS).toBe(7 * 24 * 3600);
  });

  it.each(['43201', '5,86400', '0,5', '5,,10', '1.5', 'hourly'])('refuses %s, naming the variable', (value) => {
    expect(refusal({ WEBHOOK_RETRY_SCHEDULE: value })).toMatch(/WEBHOOK_RETRY_SCHEDULE/);
  });
});

describe('the webhook queue’s timings', () => {
  it('bound an attempt by the webhooks library’s own timeout, and the function and the queue by it', () => {
    expect(WEBHOOKS_FUNCTION_TIMEOUT_SECONDS).toBeGreaterThan(DEFAULT_WEBHOOK_TIMEOUT_MS / 1000);
    expect(WEBHOOK_QUEUE_VISIBILITY_SECONDS).toBe(6 * WEBHOOKS_FUNCTION_TIMEOUT_SECONDS);
  });
});

describe('the event outlets’ settings', () => {
  it('are all optional: no queue, no bus, the SDK’s own endpoint', () => {
    const settings = loadSettings(BASE);
    expect(settings.WEBHOOK_QUEUE_URL).toBeUndefined();
    expect(settings.EVENT_BUS_NAME).toBeUndefined();
    expect(settings.AWS_ENDPOINT_URL_EVENTBRIDGE).toBeUndefined();
  });

  it('reads the webhook queue URL, the bus name and the EventBridge endpoint', () => {
    const settings = loadSettings({
      ...BASE,
      WEBHOOK_QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/webhooks.fifo',
      EVENT_BUS_NAME: 'wechatpay-events',
      AWS_ENDPOINT_URL_EVENTBRIDGE: 'http://127.0.0.1:4010',
    });
    expect(settings.WEBHOOK_QUEUE_URL).toBe('https://sqs.us-east-1.amazonaws.com/123456789012/webhooks.fifo');
    expect(settings.EVENT_BUS_NAME).toBe('wechatpay-events');
    expect(settings.AWS_ENDPOINT_URL_EVENTBRIDGE).toBe('http://127.0.0.1:4010');
  });

  it.each(['WEBHOOK_QUEUE_URL', 'AWS_ENDPOINT_URL_EVENTBRIDGE'])('refuses a %s that is not a URL', (name) => {
    expect(refusal({ [name]: 'webhooks' })).toMatch(new RegExp(name));
  });
});
