import { describe, expect, it } from 'vitest';
import { readStackSettings } from '#infra/cdk/stack-settings';
import {
  DEFAULT_RECONCILE_SCHEDULE,
  WECHAT_API_PRODUCTION_URL,
  WECHATPAY_PRODUCTION_URL,
} from '#shared/config/settings';
import { WECHAT_API_PRODUCTION_URL as LIBRARY_WECHAT_API_URL } from '#shared/wechatpay/miniprogram/login-client';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE, WEBHOOK_MAX_DELAY_SECONDS } from '#shared/config/webhook-queue';
import { ValidationError } from '#shared/domain/errors';

const from = (context: Record<string, unknown>) => readStackSettings((key) => context[key]);

function refusal(context: Record<string, unknown>): ValidationError {
  try {
    from(context);
  } catch (err) {
    if (err instanceof ValidationError) return err;
    throw err;
  }
  throw new Error('accepted');
}

describe('stack settings from CDK context', () => {
  it('default to WeChat production, the standard schedule and the stack parameter for the secret', () => {
    expect(from({})).toEqual({
      merchantSecret: undefined,
      wechatpayBaseUrl: WECHATPAY_PRODUCTION_URL,
      wechatApiBaseUrl: WECHAT_API_PRODUCTION_URL,
      reconcileSchedule: DEFAULT_RECONCILE_SCHEDULE,
      alarmEmail: undefined,
      merchantWebhookUrl: undefined,
      webhookRetrySchedule: DEFAULT_WEBHOOK_RETRY_SCHEDULE.split(',').map(Number),
      // Off until the merchant has put the signing secret (webhook-delivery.ts).
      webhooksEnabled: false,
      handlerTuning: {},
    });
    expect(WECHATPAY_PRODUCTION_URL).toBe('https://api.mch.weixin.qq.com');
    // Mini program login is WeChat's own API host, not WeChat Pay's; config keeps its own copy of it
    // (config may not import the protocol library), so the two must agree.
    expect(WECHAT_API_PRODUCTION_URL).toBe('https://api.weixin.qq.com');
    expect(WECHAT_API_PRODUCTION_URL).toBe(LIBRARY_WECHAT_API_URL);
    expect(DEFAULT_RECONCILE_SCHEDULE).toBe('30,60,120,600,1800');
  });

  it('turn webhook delivery on with -c webhooksEnabled=true or a boolean in cdk.json', () => {
    expect(from({ webhooksEnabled: 'true' }).webhooksEnabled).toBe(true);
    expect(from({ webhooksEnabled: true }).webhooksEnabled).toBe(true);
    expect(from({ webhooksEnabled: 'false' }).webhooksEnabled).toBe(false);
    expect(from({ webhooksEnabled: '' }).webhooksEnabled).toBe(false);
  });

  it('treat an empty -c value as not set', () => {
    expect(from({ merchantSecretArn: '', wechatpayBaseUrl: '', wechatApiBaseUrl: '' })).toMatchObject({
      merchantSecret: undefined,
      wechatpayBaseUrl: WECHATPAY_PRODUCTION_URL,
      wechatApiBaseUrl: WECHAT_API_PRODUCTION_URL,
    });
  });

  it('accept a secret name, a partial ARN and a complete ARN', () => {
    for (const id of [
      'prod/wechatpay/merchant',
      'arn:aws:secretsmanager:ap-east-1:123456789012:secret:prod/wechatpay',
      'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:prod/wechatpay-AbC123',
    ]) {
      expect(from({ merchantSecretArn: id }).merchantSecret).toBe(id);
    }
  });

  it('normalize the base URLs and the schedule', () => {
    expect(
      from({
        wechatpayBaseUrl: 'https://sim.example.com/',
        wechatApiBaseUrl: 'https://wechat-api.example.com/sim/',
        reconcileSchedule: ' 10, 20,40 ',
      }),
    ).toMatchObject({
      wechatpayBaseUrl: 'https://sim.example.com',
      wechatApiBaseUrl: 'https://wechat-api.example.com/sim',
      reconcileSchedule: '10,20,40',
    });
  });

  it.each([
    [{ wechatpayBaseUrl: 'http://api.mch.weixin.qq.com' }, 'wechatpayBaseUrl'],
    [{ wechatpayBaseUrl: 'https://api.mch.weixin.qq.com/?x=1' }, 'wechatpayBaseUrl'],
    [{ wechatpayBaseUrl: 'not a url' }, 'wechatpayBaseUrl'],
    // The login exchange sends the AppSecret in the query string: never in clear across a network.
    [{ wechatApiBaseUrl: 'http://api.weixin.qq.com' }, 'wechatApiBaseUrl'],
    [{ wechatApiBaseUrl: 'https://api.weixin.qq.com/?x=1' }, 'wechatApiBaseUrl'],
    [{ wechatApiBaseUrl: 'https://api.weixin.qq.com/#x' }, 'wechatApiBaseUrl'],
    [{ wechatApiBaseUrl: 'api.weixin.qq.com' }, 'wechatApiBaseUrl'],
    [{ reconcileSchedule: '0,30' }, 'reconcileSchedule'],
    [{ reconcileSchedule: '30,,60' }, 'reconcileSchedule'],
    [{ reconcileSchedule: 30 }, 'reconcileSchedule'],
    [{ merchantSecretArn: '{"apiKey":"0123456789abcdef0123456789abcdef"}' }, 'merchantSecretArn'],
    [{ merchantSecretArn: 'arn:aws:s3:::bucket' }, 'merchantSecretArn'],
    [{ alarmEmail: 'ops' }, 'alarmEmail'],
    [{ merchantWebhookUrl: 'http://merchant.example.com/hooks' }, 'merchantWebhookUrl'],
    // Plain http to loopback is for the local stack only: in AWS it would leave the Lambda in clear.
    [{ merchantWebhookUrl: 'http://localhost:8080/hooks' }, 'merchantWebhookUrl'],
    [{ merchantWebhookUrl: 'merchant.example.com/hooks' }, 'merchantWebhookUrl'],
    [{ merchantWebhookUrl: 'https://merchant.example.com/hooks#x' }, 'merchantWebhookUrl'],
    // The handlers' own rule: the signature authenticates us, credentials in the URL would be logged.
    [{ merchantWebhookUrl: 'https://user:pw@merchant.example.com/hooks' }, 'merchantWebhookUrl'],
    [{ merchantWebhookUrl: 'HTTP://merchant.example.com/hooks' }, 'merchantWebhookUrl'],
    [{ webhookRetrySchedule: '5,43201' }, 'webhookRetrySchedule'],
    [{ webhooksEnabled: 'yes' }, 'webhooksEnabled'],
    [{ webhooksEnabled: 1 }, 'webhooksEnabled'],
    // SQS's 12 hours run from the receive: a wait of 43200 s set during the run would be refused.
    [{ webhookRetrySchedule: '5,43200' }, 'webhookRetrySchedule'],
    [{ webhookRetrySchedule: `5,${WEBHOOK_MAX_DELAY_SECONDS + 1}` }, 'webhookRetrySchedule'],
    [{ webhookRetrySchedule: '0,60' }, 'webhookRetrySchedule'],
    [{ webhookRetrySchedule: '5,,60' }, 'webhookRetrySchedule'],
    [{ webhookRetrySchedule: Array(15).fill(String(WEBHOOK_MAX_DELAY_SECONDS)).join(',') }, 'webhookRetrySchedule'],
  ])('refuse %j, naming the context key', (context, key) => {
    const err = refusal(context);
    expect(err.field).toBe(key);
    expect(err.message).toContain(`"${key}"`);
  });

  it('take an https webhook receiver and a schedule of waits up to the longest wait each, normalized', () => {
    expect(
      from({
        merchantWebhookUrl: 'https://merchant.example.com/hooks?k=1',
        webhookRetrySchedule: ` 5, ${WEBHOOK_MAX_DELAY_SECONDS} `,
      }),
    ).toMatchObject({
      merchantWebhookUrl: 'https://merchant.example.com/hooks?k=1',
      webhookRetrySchedule: [5, WEBHOOK_MAX_DELAY_SECONDS],
    });
  });

  it('say what a webhook receiver must be without echoing a URL refused for its credentials', () => {
    const err = refusal({ merchantWebhookUrl: 'https://shop:pa55word@merchant.example.com/hooks' });
    expect(err.message).toMatch(/^CDK context "merchantWebhookUrl" must be an https:\/\/ URL/);
    expect(err.message).not.toContain('pa55word');
    expect(err.message).not.toContain('merchant.example.com');
  });

  it('say what a webhook receiver must be, without echoing the refused URL (it may carry a token)', () => {
    const err = refusal({ merchantWebhookUrl: 'http://merchant.example.com/hooks?token=s3cret' });
    expect(err.message).toMatch(/^CDK context "merchantWebhookUrl" must be an https:\/\/ URL/);
    expect(err.message).not.toContain('s3cret');
  });

  it('never echo the refused value (it may be a pasted credential)', () => {
    const pasted = '{"apiKey":"0123456789abcdef0123456789abcdef"}';
    expect(refusal({ merchantSecretArn: pasted }).message).not.toContain('0123456789abcdef');
  });

  it('hand the tuning values given to the handlers under their variable names', () => {
    expect(
      from({
        keyRotationOverlapSeconds: '600',
        dueIndexShards: '16',
        sweepMaxRequeues: '',
        miniProgramSessionTtlSeconds: '86400',
      }).handlerTuning,
    ).toEqual({
      KEY_ROTATION_OVERLAP_SECONDS: '600',
      DUE_INDEX_SHARDS: '16',
      MINIPROGRAM_SESSION_TTL_SECONDS: '86400',
    });
  });

  it.each([
    [{ dueIndexShards: '0' }, 'dueIndexShards'],
    [{ dueIndexShards: '33' }, 'dueIndexShards'],
    [{ keyRotationOverlapSeconds: 'an hour' }, 'keyRotationOverlapSeconds'],
    [{ notifyAuditShards: 16 }, 'notifyAuditShards'],
    // The handlers keep a session key from a minute to 30 days (MINIPROGRAM_SESSION_TTL_SECONDS).
    [{ miniProgramSessionTtlSeconds: '59' }, 'miniProgramSessionTtlSeconds'],
    [{ miniProgramSessionTtlSeconds: '2592001' }, 'miniProgramSessionTtlSeconds'],
    [{ miniProgramSessionTtlSeconds: '3 days' }, 'miniProgramSessionTtlSeconds'],
  ])('refuse a tuning value the handlers would refuse at cold start: %o', (context, key) => {
    expect(refusal(context).field).toBe(key);
  });
});
