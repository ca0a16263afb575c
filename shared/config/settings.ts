import * as z from 'zod';

import { METRICS_NAMESPACE } from './metric-names';
import { DEFAULT_DUE_INDEX_SHARDS, DEFAULT_NOTIFY_AUDIT_SHARDS, MAX_DUE_INDEX_SHARDS } from './table-shards';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE,
  MAX_WEBHOOK_RETRY_TOTAL_SECONDS,
  WEBHOOK_MAX_DELAY_SECONDS,
} from './webhook-queue';
import { ConfigurationError } from '../domain/errors';
import { parseWebhookSecret, WebhookSecretError } from '../webhooks/webhook-secret';

/**
 * WeChat's production address: the handlers' default and the CDK stack's (`wechatpayBaseUrl`); the
 * local stack points the handlers at the simulator instead.
 */
export const WECHATPAY_PRODUCTION_URL = 'https://api.mch.weixin.qq.com';

/**
 * WeChat's own API host, where the mini program login (sns/jscode2session) is: the handlers' default
 * and the CDK stack's (`wechatApiBaseUrl`). The protocol library names it too (login-client.ts), but
 * config imports no library.
 */
export const WECHAT_API_PRODUCTION_URL = 'https://api.weixin.qq.com';

/**
 * How long a mini program user's session key is kept for decrypting their data: 3 days. WeChat
 * publishes no lifetime (a new wx.login may replace the key at any time), and a secret kept longer
 * than it is needed is only a liability.
 */
export const DEFAULT_MINIPROGRAM_SESSION_TTL_SECONDS = 259_200;

/**
 * Seconds between checks of an unpaid order, the last repeating: the handlers' default and the CDK
 * stack's (`reconcileSchedule`).
 */
export const DEFAULT_RECONCILE_SCHEDULE = '30,60,120,600,1800';

/**
 * Seconds between checks of a refund that is not final (PROCESSING or ABNORMAL), the last repeating.
 * Refunds to Change land within minutes, to a bank card within days, and an ABNORMAL one waits on the
 * merchant: so the checks thin out to two a day rather than stop, until WeChat says it is final.
 */
export const DEFAULT_REFUND_CHECK_SCHEDULE = '60,300,1800,7200,21600,43200';

const optionalText = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v));

const secondsList = z
  .string()
  .regex(/^\s*\d+(\s*,\s*\d+)*\s*$/, 'a comma-separated list of whole seconds, e.g. 30,60,120')
  .transform((v) => v.split(',').map((s) => Number(s.trim())))
  .refine((list) => list.every((s) => s > 0), 'every interval must be at least 1 second');

/** A PEM text: shape only here; whether it parses is checked where it is used (shared/app). */
const pemText = optionalText.refine(
  (v) => v === undefined || v.includes('-----BEGIN'),
  'must be a PEM block (-----BEGIN …)',
);

const positiveSeconds = z.coerce.number().int().positive();

/** Where plain http may go: this machine only (the local stack and tests), never across a network. */
const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Whether plain http to this URL stays on this machine. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

/**
 * WeChat's API host: https, or http to a loopback host (a simulator). The AppSecret travels in the
 * query string of every login, so it must never cross a network in the clear.
 */
const wechatApiUrlSchema = z
  .url()
  .refine((value) => {
    // Runs after a failed URL check too (zod reports every issue): nothing to add then.
    if (!URL.canParse(value)) return true;
    const url = new URL(value);
    return url.protocol === 'https:' || isLoopbackHttp(url);
  }, 'must be https (plain http only to 127.0.0.1, ::1 or localhost)')
  .default(WECHAT_API_PRODUCTION_URL);

/**
 * The merchant's webhook receiver: https, or http to a loopback host. A signed body over plain http on
 * a network could be read by anyone on the way. The CDK stack checks its merchantWebhookUrl with this
 * schema too (and https only), so a URL a Lambda would refuse fails the synthesis instead.
 */
export const webhookUrlSchema = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not carry credentials (the signature authenticates us)' });
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) {
    ctx.addIssue({ code: 'custom', message: 'must be https (plain http only to 127.0.0.1, ::1 or localhost)' });
  }
});

/**
 * A Standard Webhooks secret (`whsec_` + base64), checked by the webhooks library. Only the rule it
 * breaks is reported: the value is a key.
 */
export const webhookSecretSchema = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  try {
    parseWebhookSecret(value);
  } catch (error) {
    const rule = error instanceof WebhookSecretError ? error.message : 'not a webhook secret';
    ctx.addIssue({ code: 'custom', message: `must be a whsec_ secret (${rule})` });
  }
});

/**
 * The webhook retry schedule, for the handlers and the CDK stack alike: each wait is a change of an
 * SQS message's visibility (WEBHOOK_MAX_DELAY_SECONDS), and the whole schedule stays within half the
 * queue's retention (MAX_WEBHOOK_RETRY_TOTAL_SECONDS).
 */
export const webhookScheduleSchema = secondsList
  .refine(
    (list) => list.every((s) => s <= WEBHOOK_MAX_DELAY_SECONDS),
    `every interval must be at most ${WEBHOOK_MAX_DELAY_SECONDS} seconds ` +
      `(SQS's 12-hour visibility limit less the webhooks function's timeout)`,
  )
  .refine(
    (list) => list.reduce((sum, s) => sum + s, 0) <= MAX_WEBHOOK_RETRY_TOTAL_SECONDS,
    `the intervals must add up to at most ${MAX_WEBHOOK_RETRY_TOTAL_SECONDS} seconds ` +
      `(half the webhook queue's retention)`,
  );

/**
 * The local simulator's cashier pages (`<simulator>/sandbox/cashier/`), which an order's
 * `sandbox_cashier_url` links to. Only the local stack sets it, and only when the simulator is its
 * own: in AWS there is no cashier page to point a payer at. The order's out_trade_no is appended, so
 * it must end with `/`.
 */
export const sandboxCashierBaseUrlSchema = optionalText.superRefine((value, ctx) => {
  if (value === undefined) return;
  if (!URL.canParse(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be an absolute URL' });
    return;
  }
  const url = new URL(value);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: 'must be an http or https URL' });
  }
  if (url.search !== '' || url.hash !== '' || !url.pathname.endsWith('/')) {
    ctx.addIssue({ code: 'custom', message: 'must end with / (the order number is appended to it)' });
  }
});

const EnvSchema = z.object({
  TABLE_NAME: z.string().min(3, 'the orders table name is required'),
  QUEUE_URL: z.url().optional(),
  NOTIFY_URL: z
    .url()
    .refine((u) => !u.includes('?'), 'WeChat requires a notify_url without a query string')
    .optional(),
  WECHATPAY_SECRET_ID: optionalText,
  WECHATPAY_BASE_URL: z.url().default(WECHATPAY_PRODUCTION_URL),
  WECHATPAY_API_VERSION: z.enum(['v2', 'v3']).optional(),
  WECHATPAY_APPID: optionalText,
  WECHATPAY_MCHID: optionalText,
  WECHATPAY_API_KEY: optionalText,
  WECHATPAY_PRIVATE_KEY: optionalText,
  WECHATPAY_CERT_SERIAL: optionalText,
  WECHATPAY_APIV3_KEY: optionalText,
  WECHATPAY_PUBLIC_KEY: optionalText,
  WECHATPAY_PUBLIC_KEY_ID: optionalText,
  /**
   * The merchant's API client certificate and its key (PEM), for v2 refunds (mutual TLS on /secapi/).
   * Local only, like the other WECHATPAY_* keys; in AWS they are in the merchant secret.
   */
  WECHATPAY_API_CLIENT_CERT: pemText,
  WECHATPAY_API_CLIENT_KEY: pemText,
  /**
   * A CA (PEM) trusted for calls to WeChat besides the system's: locally the simulator's, which serves
   * HTTPS with a certificate of its own CA. Never needed against WeChat itself.
   */
  WECHATPAY_TRUSTED_CA: pemText,
  /**
   * WeChat's API host for the mini program login (not WeChat Pay's): api.weixin.qq.com, locally the
   * simulator. WECHATPAY_TRUSTED_CA is trusted for it too.
   */
  WECHAT_API_BASE_URL: wechatApiUrlSchema,
  /**
   * The mini program's AppSecret, for the login. Local only, like the WECHATPAY_* keys; in AWS it is
   * the merchant secret's `appSecret` field.
   */
  WECHAT_APPSECRET: optionalText,
  /** How long a login's session key is kept (sealed) for decrypting the user's data; see the default's note. */
  MINIPROGRAM_SESSION_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .max(2_592_000)
    .default(DEFAULT_MINIPROGRAM_SESSION_TTL_SECONDS),
  RECONCILE_SCHEDULE: secondsList.default(secondsList.parse(DEFAULT_RECONCILE_SCHEDULE)),
  REFUND_CHECK_SCHEDULE: secondsList.default(secondsList.parse(DEFAULT_REFUND_CHECK_SCHEDULE)),
  /** WeChat refuses to close an order younger than this; the local stack scales it with the simulator. */
  CLOSE_MIN_AGE_SECONDS: positiveSeconds.default(300),
  /** A prepay_id lives two hours at WeChat, and an order without time_expire expires with it. */
  PREPAY_TTL_SECONDS: positiveSeconds.default(7200),
  /** The sweep re-enqueues only orders overdue by this much, so in-flight checks are not doubled. */
  SWEEP_GRACE_SECONDS: positiveSeconds.default(120),
  /** How long a container uses the merchant's credentials before it reads the secret again. */
  CREDENTIALS_TTL_SECONDS: positiveSeconds.default(300),
  /**
   * After a reload brings new keys, the replaced ones are still accepted on notifications this long
   * (those WeChat signed before the switch); 0 drops them at once (a leaked key).
   */
  KEY_ROTATION_OVERLAP_SECONDS: z.coerce.number().int().min(0).max(604_800).default(3600),
  /**
   * How often the sweep re-enqueues an order's check that never completes before it gives up, takes
   * the order out of the due index and alarms (ChecksExhausted). One re-enqueue per sweep (every 5
   * minutes), each after the queue's own retries: 12 is an hour of a check failing, so an outage of
   * WeChat or of our side shorter than that hands no order to an operator, and an order that can never
   * be checked stops costing calls within the hour.
   */
  SWEEP_MAX_REQUEUES: z.coerce.number().int().min(1).default(12),
  /**
   * Partitions the due index's entries spread over (see shared/adapters/dynamodb-due-index.ts); may be
   * changed either way up to the ceiling, as the sweep reads every partition up to it.
   */
  DUE_INDEX_SHARDS: z.coerce.number().int().min(1).max(MAX_DUE_INDEX_SHARDS).default(DEFAULT_DUE_INDEX_SHARDS),
  /**
   * Partitions that the notifications naming no order of ours, and the traces of unverified ones, each
   * spread over (one DynamoDB partition takes about 1,000 writes a second). Only writes use the count,
   * so it may be changed at any time.
   */
  NOTIFY_AUDIT_SHARDS: z.coerce.number().int().min(1).max(1000).default(DEFAULT_NOTIFY_AUDIT_SHARDS),
  /** Where events are POSTed (Standard Webhooks); unset: no webhooks, `GET /events` only. */
  MERCHANT_WEBHOOK_URL: webhookUrlSchema,
  /** Local: the `whsec_…` secret itself. In AWS it is in Secrets Manager (MERCHANT_WEBHOOK_SECRET_ID). */
  MERCHANT_WEBHOOK_SECRET: webhookSecretSchema,
  /** A Secrets Manager secret whose SecretString is the `whsec_…` text, read when the webhooks Lambda starts. */
  MERCHANT_WEBHOOK_SECRET_ID: optionalText,
  /** Seconds between a failed webhook delivery and the next attempt; then the dead-letter queue. */
  WEBHOOK_RETRY_SCHEDULE: webhookScheduleSchema.default(webhookScheduleSchema.parse(DEFAULT_WEBHOOK_RETRY_SCHEDULE)),
  /** The FIFO queue events wait in for delivery; unset: the events function enqueues none. */
  WEBHOOK_QUEUE_URL: z.url().optional(),
  /** The EventBridge bus events are also put on (AWS); unset: no bus. */
  EVENT_BUS_NAME: optionalText,
  /** Locally only: where an order's `sandbox_cashier_url` points (see the schema's note). */
  SANDBOX_CASHIER_BASE_URL: sandboxCashierBaseUrlSchema,
  /**
   * Set by the stack beside the AWS Parameters and Secrets Lambda Extension's layer (on the functions
   * that read a secret): secrets are then read through the extension on this loopback port instead
   * of a Secrets Manager client. Unset (local stack, tests): the client, as before.
   */
  PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /** Lambda's own: the execution role's session token, which the extension requires on each request. */
  AWS_SESSION_TOKEN: optionalText,
  AWS_REGION: z.string().default('us-east-1'),
  AWS_ENDPOINT_URL_DYNAMODB: z.url().optional(),
  AWS_ENDPOINT_URL_SQS: z.url().optional(),
  AWS_ENDPOINT_URL_EVENTBRIDGE: z.url().optional(),
  POWERTOOLS_SERVICE_NAME: z.string().default('wechatpay'),
  POWERTOOLS_METRICS_NAMESPACE: z.string().default(METRICS_NAMESPACE),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
});

export type Settings = z.infer<typeof EnvSchema>;

/**
 * Reads and checks the configuration once, at start-up; a bad value stops the start with its name.
 * Without zod's JIT: it would generate and compile a parser for this 50-key object, at every cold
 * start, to run it once (about half the parse's time in the deployed bundles).
 */
export function loadSettings(env: Record<string, string | undefined>): Settings {
  const parsed = EnvSchema.safeParse(env, { jitless: true });
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`invalid configuration: ${problems}`);
  }
  return parsed.data;
}
