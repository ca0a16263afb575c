import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as z from 'zod';

import { webhookSecretSchema, webhookUrlSchema } from '#shared/config/settings';
import { AppError } from '#shared/domain/errors';
import { appSecretSchema } from '#shared/wechatpay/miniprogram/login-client';
import { type Merchant, SANDBOX_MERCHANT } from '../simulator/sandbox-merchant';
import { PEM_VARIABLES, pemFromEnv, v3KeyProblems } from '../simulator/v3-key-settings';

/** The settings of `npm start`, read from the environment once and checked before anything starts. */
export interface LocalStartSettings {
  port: number;
  simulatorPort: number;
  /** 0: a free port each start. */
  dynamodbPort: number;
  sqsPort: number;
  dataDir: string;
  tableName: string;
  queueName: string;
  simulatorTimeScale: number | undefined;
  sweepIntervalMs: number;
  merchant: Merchant;
  /** Absent: the local simulator. */
  wechatpayBaseUrl: string | undefined;
  /**
   * WeChat's mini program API (WECHAT_API_BASE_URL, sns/jscode2session). Absent: the local simulator,
   * or api.weixin.qq.com when WECHATPAY_BASE_URL names a WeChat Pay elsewhere.
   */
  wechatApiBaseUrl: string | undefined;
  /** The mini program's AppSecret (WECHAT_APPSECRET); absent with the simulator: the sandbox one in DATA_DIR. */
  miniProgramAppSecret: string | undefined;
  /** WeChat's v3 signing key for the simulator (SIMULATOR_PLATFORM_PRIVATE_KEY); absent: it generates one. */
  simulatorPlatformPrivateKey: string | undefined;
  /** Which serial the simulator's v3 signatures name (SIMULATOR_SIGN_WITH); absent: its public key id. */
  simulatorSignWith: 'public_key' | 'certificate' | undefined;
  /** Where events are POSTed (MERCHANT_WEBHOOK_URL); absent: no webhooks, GET /events only. */
  webhookUrl: string | undefined;
  /** MERCHANT_WEBHOOK_SECRET; absent: the one generated and kept in the data directory. */
  webhookSecret: string | undefined;
  /** Settings passed through to the handlers as they are (loadSettings checks them). */
  handlerEnv: Record<string, string>;
  /**
   * LOCAL_IAM=1: the gateway checks SigV4 against this key pair (LOCAL_IAM_ACCESS_KEY_ID,
   * LOCAL_IAM_SECRET_ACCESS_KEY); absent: not checked, as before.
   */
  localIam: { accessKeyId: string; secretAccessKey: string } | undefined;
}

/** Where `npm start` keeps what outlives it when DATA_DIR is not set: the repository's .local-data. */
const DEFAULT_DATA_DIR = fileURLToPath(new URL('../../.local-data', import.meta.url));

/**
 * DATA_DIR as `npm start` and the tools beside it (`npm run redrive-webhooks`) read it: blank is not
 * set, a relative path is from the working directory.
 */
export function dataDirOf(env: Record<string, string | undefined>, fallback = DEFAULT_DATA_DIR): string {
  const dir = env.DATA_DIR;
  if (dir === undefined || dir.trim() === '') return fallback;
  return isAbsolute(dir) ? dir : resolve(dir);
}

export class LocalSettingsError extends AppError {
  constructor(message: string) {
    super('LOCAL_SETTINGS', message);
  }
}

/** Handler settings a developer may set for the local stack; the stack sets the rest itself. */
export const PASSED_THROUGH = [
  'WECHATPAY_API_VERSION',
  'WECHATPAY_PRIVATE_KEY',
  'WECHATPAY_CERT_SERIAL',
  'WECHATPAY_APIV3_KEY',
  'WECHATPAY_PUBLIC_KEY',
  'WECHATPAY_PUBLIC_KEY_ID',
  'WECHATPAY_API_CLIENT_CERT',
  'WECHATPAY_API_CLIENT_KEY',
  'WECHATPAY_TRUSTED_CA',
  'RECONCILE_SCHEDULE',
  'REFUND_CHECK_SCHEDULE',
  'WEBHOOK_RETRY_SCHEDULE',
  'CLOSE_MIN_AGE_SECONDS',
  'PREPAY_TTL_SECONDS',
  'MINIPROGRAM_SESSION_TTL_SECONDS',
  'SWEEP_GRACE_SECONDS',
  'SWEEP_MAX_REQUEUES',
  'DUE_INDEX_SHARDS',
  'NOTIFY_AUDIT_SHARDS',
  'CREDENTIALS_TTL_SECONDS',
  'KEY_ROTATION_OVERLAP_SECONDS',
  'LOG_LEVEL',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
] as const;

/** PEMs a developer may give on one line with `\n` for its line breaks (as in a .env file). */
const LOCAL_PEM_VARIABLES: readonly string[] = [
  ...PEM_VARIABLES,
  'WECHATPAY_API_CLIENT_CERT',
  'WECHATPAY_API_CLIENT_KEY',
  'WECHATPAY_TRUSTED_CA',
];

const blankIsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const port = (fallback: number) =>
  z.preprocess(blankIsAbsent, z.coerce.number().int().min(0).max(65_535).default(fallback));
const text = z.preprocess(blankIsAbsent, z.string().optional());
const resourceName = (fallback: string) =>
  z.preprocess(
    blankIsAbsent,
    z
      .string()
      .regex(/^[A-Za-z0-9_.-]{3,80}$/, 'letters, digits, _ . - (3–80)')
      .default(fallback),
  );

const schema = z.object({
  PORT: port(3000),
  SIMULATOR_PORT: port(3100),
  DYNAMODB_PORT: port(0),
  SQS_PORT: port(0),
  DATA_DIR: text,
  TABLE_NAME: resourceName('wechatpay-orders'),
  QUEUE_NAME: resourceName('wechatpay-reconcile'),
  SIMULATOR_TIME_SCALE: z.preprocess(blankIsAbsent, z.coerce.number().positive().max(10_000).optional()),
  SWEEP_INTERVAL_SECONDS: z.preprocess(blankIsAbsent, z.coerce.number().min(0).default(60)),
  WECHATPAY_APPID: text,
  WECHATPAY_MCHID: text,
  WECHATPAY_API_KEY: text,
  WECHATPAY_BASE_URL: z.preprocess(blankIsAbsent, z.url().optional()),
  WECHAT_API_BASE_URL: z.preprocess(blankIsAbsent, z.url().optional()),
  // The library's rule for an AppSecret, whose message states the rule, never the value.
  WECHAT_APPSECRET: z.preprocess(blankIsAbsent, appSecretSchema.optional()),
  SIMULATOR_PLATFORM_PRIVATE_KEY: text,
  SIMULATOR_SIGN_WITH: z.preprocess(blankIsAbsent, z.enum(['public_key', 'certificate']).optional()),
  // The handlers' own rules (https or loopback http, no credentials; whsec_), checked before the start.
  MERCHANT_WEBHOOK_URL: webhookUrlSchema,
  MERCHANT_WEBHOOK_SECRET: webhookSecretSchema,
  LOCAL_IAM: z.preprocess(
    blankIsAbsent,
    z.enum(['1', '0', 'true', 'false'], { error: 'must be 1 (check SigV4) or 0' }).optional(),
  ),
  // Letters and digits, as AWS's own ids: anything else could not stand in SigV4's Credential field.
  LOCAL_IAM_ACCESS_KEY_ID: z.preprocess(
    blankIsAbsent,
    z
      .string()
      .regex(/^[A-Za-z0-9]{1,128}$/, 'letters and digits (1–128), like an AWS access key id')
      .optional(),
  ),
  LOCAL_IAM_SECRET_ACCESS_KEY: text,
});

/** LOCAL_IAM=1 needs both halves of the key pair: the start stops naming whichever is missing. */
function localIamOf(s: z.output<typeof schema>): LocalStartSettings['localIam'] {
  if (s.LOCAL_IAM !== '1' && s.LOCAL_IAM !== 'true') return undefined;
  const { LOCAL_IAM_ACCESS_KEY_ID: accessKeyId, LOCAL_IAM_SECRET_ACCESS_KEY: secretAccessKey } = s;
  if (accessKeyId === undefined || secretAccessKey === undefined) {
    const missing = [
      ...(accessKeyId === undefined ? ['LOCAL_IAM_ACCESS_KEY_ID'] : []),
      ...(secretAccessKey === undefined ? ['LOCAL_IAM_SECRET_ACCESS_KEY'] : []),
    ];
    throw new LocalSettingsError(
      `invalid settings: LOCAL_IAM=1 needs ${missing.join(' and ')}: the key pair the gateway checks SigV4 against`,
    );
  }
  return { accessKeyId, secretAccessKey };
}

/**
 * Reads `npm start`'s environment. A bad value stops the start with the variable's name and the
 * rule, never the value (the API key is one of them).
 */
export function parseLocalStartSettings(
  env: Record<string, string | undefined>,
  defaults: { dataDir: string } = { dataDir: DEFAULT_DATA_DIR },
): LocalStartSettings {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new LocalSettingsError(`invalid settings: ${problems}`);
  }
  const s = parsed.data;
  const handlerEnv: Record<string, string> = {};
  for (const name of PASSED_THROUGH) {
    const value = env[name];
    if (value !== undefined && value.trim() !== '')
      handlerEnv[name] = LOCAL_PEM_VARIABLES.includes(name) ? value.replace(/\\n/g, '\n') : value;
  }
  checkClientCertificatePair(handlerEnv);
  const simulatorPlatformPrivateKey = pemFromEnv(s.SIMULATOR_PLATFORM_PRIVATE_KEY);
  checkSimulatorKeys(handlerEnv, simulatorPlatformPrivateKey, s.WECHATPAY_BASE_URL);
  const dataDir = dataDirOf(env, defaults.dataDir);
  const localIam = localIamOf(s);
  return {
    port: s.PORT,
    simulatorPort: s.SIMULATOR_PORT,
    dynamodbPort: s.DYNAMODB_PORT,
    sqsPort: s.SQS_PORT,
    dataDir,
    tableName: s.TABLE_NAME,
    queueName: s.QUEUE_NAME,
    simulatorTimeScale: s.SIMULATOR_TIME_SCALE,
    sweepIntervalMs: Math.round(s.SWEEP_INTERVAL_SECONDS * 1000),
    merchant: {
      appid: s.WECHATPAY_APPID ?? SANDBOX_MERCHANT.appid,
      mchid: s.WECHATPAY_MCHID ?? SANDBOX_MERCHANT.mchid,
      apiKey: s.WECHATPAY_API_KEY ?? SANDBOX_MERCHANT.apiKey,
    },
    wechatpayBaseUrl: s.WECHATPAY_BASE_URL,
    wechatApiBaseUrl: s.WECHAT_API_BASE_URL,
    miniProgramAppSecret: s.WECHAT_APPSECRET,
    simulatorPlatformPrivateKey,
    simulatorSignWith: s.SIMULATOR_SIGN_WITH,
    webhookUrl: s.MERCHANT_WEBHOOK_URL,
    webhookSecret: s.MERCHANT_WEBHOOK_SECRET,
    handlerEnv,
    localIam,
  };
}

/**
 * The API client certificate (v2 refunds) is a certificate and its key: one without the other would
 * only fail when the first refund is made, so the start stops here instead, naming the one to set.
 */
export function checkClientCertificatePair(env: Record<string, string | undefined>): void {
  const cert = env.WECHATPAY_API_CLIENT_CERT !== undefined;
  const key = env.WECHATPAY_API_CLIENT_KEY !== undefined;
  if (cert === key) return;
  const missing = cert ? 'WECHATPAY_API_CLIENT_KEY' : 'WECHATPAY_API_CLIENT_CERT';
  throw new LocalSettingsError(
    `invalid settings: set ${missing} too: WECHATPAY_API_CLIENT_CERT and WECHATPAY_API_CLIENT_KEY go together`,
  );
}

/**
 * With the simulator as WeChat Pay, the developer's v3 keys must make a consistent pair with the
 * simulator's (see v3-key-settings.ts); stops the start naming the variable to set. Against a real
 * WeChat Pay (WECHATPAY_BASE_URL) the keys go to the handlers as they are.
 */
export function checkSimulatorKeys(
  env: Record<string, string | undefined>,
  simulatorPlatformPrivateKey: string | undefined,
  wechatpayBaseUrl: string | undefined,
): void {
  if (wechatpayBaseUrl !== undefined) return;
  if (env.WECHATPAY_API_VERSION !== 'v3') {
    if (simulatorPlatformPrivateKey !== undefined) {
      throw new LocalSettingsError(
        'invalid settings: SIMULATOR_PLATFORM_PRIVATE_KEY is only used with WECHATPAY_API_VERSION=v3',
      );
    }
    return;
  }
  const problems = v3KeyProblems({
    WECHATPAY_PRIVATE_KEY: env.WECHATPAY_PRIVATE_KEY,
    WECHATPAY_CERT_SERIAL: env.WECHATPAY_CERT_SERIAL,
    WECHATPAY_APIV3_KEY: env.WECHATPAY_APIV3_KEY,
    WECHATPAY_PUBLIC_KEY: env.WECHATPAY_PUBLIC_KEY,
    WECHATPAY_PUBLIC_KEY_ID: env.WECHATPAY_PUBLIC_KEY_ID,
    SIMULATOR_PLATFORM_PRIVATE_KEY: simulatorPlatformPrivateKey,
  });
  if (problems.length > 0) throw new LocalSettingsError(`invalid settings: ${problems.join('; ')}`);
}

export interface HandlerEnvInput {
  tableName: string;
  queueUrl: string;
  notifyUrl: string;
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  region: string;
  merchant: Merchant;
  wechatpayBaseUrl: string;
  /** WeChat's mini program API (WECHAT_API_BASE_URL); absent: the handlers' default, api.weixin.qq.com. */
  wechatApiBaseUrl?: string;
  /** WECHAT_APPSECRET: in AWS the merchant secret's appSecret field; absent: no mini program login. */
  miniProgramAppSecret?: string;
  /** The simulator's time scale: WeChat's durations pass that much faster there. */
  timeScale?: number;
  /** Wins over everything above. */
  extra?: Record<string, string>;
}

/** WeChat refuses to close an order younger than five minutes. */
const WECHAT_CLOSE_MIN_AGE_SECONDS = 300;
/** A prepay_id lives two hours. */
const WECHAT_PREPAY_TTL_SECONDS = 7200;

/**
 * The environment the Lambdas would have in AWS, as a record: each stack builds its own, so one
 * process can host several stacks and nothing is read from or written to process.env.
 */
export function handlerEnvironment(input: HandlerEnvInput): Record<string, string> {
  const env: Record<string, string> = {
    TABLE_NAME: input.tableName,
    QUEUE_URL: input.queueUrl,
    NOTIFY_URL: input.notifyUrl,
    WECHATPAY_BASE_URL: input.wechatpayBaseUrl,
    WECHATPAY_APPID: input.merchant.appid,
    WECHATPAY_MCHID: input.merchant.mchid,
    WECHATPAY_API_KEY: input.merchant.apiKey,
    AWS_REGION: input.region,
    AWS_ENDPOINT_URL_DYNAMODB: input.dynamodbEndpoint,
    AWS_ENDPOINT_URL_SQS: input.sqsEndpoint,
  };
  if (input.wechatApiBaseUrl !== undefined) env.WECHAT_API_BASE_URL = input.wechatApiBaseUrl;
  if (input.miniProgramAppSecret !== undefined) env.WECHAT_APPSECRET = input.miniProgramAppSecret;
  // The simulator shrinks WeChat's durations by its time scale; the handlers' copies of those rules
  // shrink with them (to whole seconds), so both sides agree on what is too early or too late.
  const scale = input.timeScale;
  if (scale !== undefined && scale !== 1) {
    const scaled = (seconds: number, floor: number) => String(Math.max(floor, Math.ceil(seconds / scale)));
    env.CLOSE_MIN_AGE_SECONDS = scaled(WECHAT_CLOSE_MIN_AGE_SECONDS, 1);
    env.PREPAY_TTL_SECONDS = scaled(WECHAT_PREPAY_TTL_SECONDS, 1);
  }
  return { ...env, ...input.extra };
}
