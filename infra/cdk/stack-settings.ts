import * as z from 'zod';
import {
  DEFAULT_RECONCILE_SCHEDULE,
  loadSettings,
  WECHAT_API_PRODUCTION_URL,
  WECHATPAY_PRODUCTION_URL,
  webhookScheduleSchema,
  webhookUrlSchema,
} from '#shared/config/settings';
import {
  DEFAULT_WEBHOOK_RETRY_SCHEDULE,
  MAX_WEBHOOK_RETRY_TOTAL_SECONDS,
  WEBHOOK_MAX_DELAY_SECONDS,
} from '#shared/config/webhook-queue';
import { ConfigurationError, ValidationError } from '#shared/domain/errors';

/**
 * Deploy-time choices, read from CDK context (`cdk.json` or `-c key=value`). None of them is a
 * secret: the merchant's credentials stay in Secrets Manager and only the secret's name/ARN is here.
 */
export interface StackSettings {
  /** Secret name, partial ARN or complete ARN; absent = the `MerchantSecretArn` stack parameter. */
  readonly merchantSecret: string | undefined;
  readonly wechatpayBaseUrl: string;
  /**
   * WeChat's own API host (api.weixin.qq.com), not WeChat Pay's: where the orders Lambda exchanges
   * mini program login codes. The AppSecret it needs is the merchant secret's `appSecret` field.
   */
  readonly wechatApiBaseUrl: string;
  /** Comma-separated delays in seconds, handed to the Lambdas as RECONCILE_SCHEDULE. */
  readonly reconcileSchedule: string;
  /** Subscribed by e-mail to the alarm topic when given. */
  readonly alarmEmail: string | undefined;
  /**
   * Where events are POSTed (https only); absent = no webhook delivery is deployed (the events are
   * still recorded for GET /events and put on the event bus).
   */
  readonly merchantWebhookUrl: string | undefined;
  /** Seconds between webhook attempts, handed to the webhooks Lambda as WEBHOOK_RETRY_SCHEDULE. */
  readonly webhookRetrySchedule: readonly number[];
  /**
   * Whether the webhooks Lambda consumes the webhook queue. Off by default: the first deployment
   * creates the secret with a placeholder, and the merchant turns delivery on (`-c webhooksEnabled=true`)
   * once the `whsec_…` secret is in place; until then the events wait in the queue.
   */
  readonly webhooksEnabled: boolean;
  /** The handler variables set from TUNING_CONTEXT_KEYS (only those given), checked as the handlers check them. */
  readonly handlerTuning: Readonly<Record<string, string>>;
}

/** The context keys read, so callers and docs name them the same way. */
export const CONTEXT_KEYS = {
  merchantSecret: 'merchantSecretArn',
  wechatpayBaseUrl: 'wechatpayBaseUrl',
  wechatApiBaseUrl: 'wechatApiBaseUrl',
  reconcileSchedule: 'reconcileSchedule',
  alarmEmail: 'alarmEmail',
  merchantWebhookUrl: 'merchantWebhookUrl',
  webhookRetrySchedule: 'webhookRetrySchedule',
  webhooksEnabled: 'webhooksEnabled',
} as const;

/**
 * Handler settings a merchant may tune at deploy time (context key → the handlers' variable). Their
 * defaults and rules live in shared/config/settings.ts, the one place the handlers read them.
 */
export const TUNING_CONTEXT_KEYS = {
  credentialsTtlSeconds: 'CREDENTIALS_TTL_SECONDS',
  keyRotationOverlapSeconds: 'KEY_ROTATION_OVERLAP_SECONDS',
  dueIndexShards: 'DUE_INDEX_SHARDS',
  sweepMaxRequeues: 'SWEEP_MAX_REQUEUES',
  notifyAuditShards: 'NOTIFY_AUDIT_SHARDS',
  miniProgramSessionTtlSeconds: 'MINIPROGRAM_SESSION_TTL_SECONDS',
} as const;

/** What each setting must be, for the error message (values are not echoed: one may be pasted wrongly). */
const RULES: Record<keyof typeof CONTEXT_KEYS, string> = {
  merchantSecret: 'a Secrets Manager secret name, or its ARN',
  wechatpayBaseUrl: 'an https:// base URL without query or fragment',
  wechatApiBaseUrl: 'an https:// base URL without query or fragment',
  reconcileSchedule: 'comma-separated positive whole seconds, e.g. 30,60,120',
  alarmEmail: 'an e-mail address',
  merchantWebhookUrl:
    'an https:// URL of the webhook receiver (a plain http receiver is allowed only on the local stack, on loopback)',
  webhookRetrySchedule:
    `comma-separated positive whole seconds, each at most ${WEBHOOK_MAX_DELAY_SECONDS} (SQS's 12-hour ` +
    `visibility limit less the webhooks function's timeout) and at most ${MAX_WEBHOOK_RETRY_TOTAL_SECONDS} ` +
    `in all (half the queue's retention), e.g. 5,300,1800`,
  webhooksEnabled: 'true or false',
};

// Secret names are 1-512 of these characters; ARNs are taken as they are.
const SECRET_ID = /^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[\w/+=.@-]+|[\w/+=.@-]{1,512})$/;
const DELAYS = /^[1-9]\d{0,5}(,[1-9]\d{0,5})*$/;

// The WeChat hosts are reached over the internet, so https only; the handlers' http is for the simulator.
const httpsBaseUrl = (production: string) =>
  z
    .url({ protocol: /^https$/ })
    .refine((value) => !value.includes('?') && !value.includes('#'))
    .transform((value) => value.replace(/\/+$/, ''))
    .default(production);

const settingsSchema = z.object({
  merchantSecret: z.string().trim().regex(SECRET_ID).optional(),
  wechatpayBaseUrl: httpsBaseUrl(WECHATPAY_PRODUCTION_URL),
  wechatApiBaseUrl: httpsBaseUrl(WECHAT_API_PRODUCTION_URL),
  reconcileSchedule: z
    .string()
    .transform((value) => value.replace(/\s+/g, ''))
    .refine((value) => DELAYS.test(value))
    .default(DEFAULT_RECONCILE_SCHEDULE),
  alarmEmail: z.email().optional(),
  // The handlers' own rules (no credentials in the URL, …), then https only: the body is signed, not
  // encrypted, and it carries the payment; the handlers' loopback http exception is for this machine.
  merchantWebhookUrl: webhookUrlSchema.refine(
    (value) => value === undefined || (URL.parse(value)?.protocol === 'https:' && !value.includes('#')),
  ),
  // The handlers' own schedule schema, so the stack deploys no schedule the webhooks Lambda refuses.
  webhookRetrySchedule: z.string().default(DEFAULT_WEBHOOK_RETRY_SCHEDULE).pipe(webhookScheduleSchema),
  // `-c webhooksEnabled=true` arrives as a string, cdk.json may hold a boolean.
  webhooksEnabled: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((value) => value === 'true')])
    .default(false),
});

/**
 * Reads and validates the settings; `context` is `node.tryGetContext`. Values given with `-c` arrive
 * as strings, values in cdk.json as JSON; numbers are not accepted anywhere, only strings.
 */
export function readStackSettings(context: (key: string) => unknown): StackSettings {
  const raw = Object.fromEntries(
    Object.entries(CONTEXT_KEYS).map(([field, key]) => {
      const value = context(key);
      // An empty `-c key=` means "not set", like leaving the key out.
      return [field, value === '' || value === null ? undefined : value];
    }),
  );
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path[0] as keyof typeof CONTEXT_KEYS;
    const key = CONTEXT_KEYS[field];
    throw new ValidationError(`CDK context "${key}" must be ${RULES[field]}`, key);
  }
  return {
    merchantSecret: parsed.data.merchantSecret,
    wechatpayBaseUrl: parsed.data.wechatpayBaseUrl,
    wechatApiBaseUrl: parsed.data.wechatApiBaseUrl,
    reconcileSchedule: parsed.data.reconcileSchedule,
    alarmEmail: parsed.data.alarmEmail,
    merchantWebhookUrl: parsed.data.merchantWebhookUrl,
    webhookRetrySchedule: parsed.data.webhookRetrySchedule,
    webhooksEnabled: parsed.data.webhooksEnabled,
    handlerTuning: readHandlerTuning(context),
  };
}

/**
 * The tuning values given, each checked by the handlers' own settings schema now, so a value a
 * Lambda would refuse at its cold start fails the synthesis instead.
 */
function readHandlerTuning(context: (key: string) => unknown): Record<string, string> {
  const tuning: Record<string, string> = {};
  for (const [key, variable] of Object.entries(TUNING_CONTEXT_KEYS)) {
    const value = context(key);
    if (value === undefined || value === null || value === '') continue;
    try {
      if (typeof value !== 'string') throw new ConfigurationError('not a string');
      loadSettings({ TABLE_NAME: 'synth-check', [variable]: value });
    } catch (err) {
      if (!(err instanceof ConfigurationError)) throw err;
      throw new ValidationError(`CDK context "${key}" must be a whole number within ${variable}'s limits`, key);
    }
    tuning[variable] = value;
  }
  return tuning;
}
