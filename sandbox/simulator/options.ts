import { X509Certificate, createPrivateKey } from 'node:crypto';
import * as z from 'zod';
import { appSecretSchema } from '#shared/wechatpay/miniprogram/login-client';
import { isPublicKeyId } from '#shared/wechatpay/v3/key-ring';
import { toPrivateKey, toPublicKey } from '#shared/wechatpay/v3/sign';
import type { Clock } from './clock';
import { isNotifyUrl } from './notify-url';

/** A simulator option broke a rule: nothing was started. `field` names the option. */
export class SimulatorOptionsError extends Error {
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.name = 'SimulatorOptionsError';
    this.field = field;
  }
}

const isFunction = (v: unknown): boolean => typeof v === 'function';

function isCertificatePem(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

function isPrivateKeyPem(pem: string): boolean {
  try {
    createPrivateKey(pem);
    return true;
  } catch {
    return false;
  }
}

/** True when `pem` is an RSA public key or certificate (a private key is refused: give the public half). */
function isRsaPublicPem(pem: string): boolean {
  if (pem.includes('PRIVATE KEY')) return false;
  try {
    toPublicKey(pem);
    return true;
  } catch {
    return false;
  }
}

function isRsaPrivatePem(pem: string): boolean {
  try {
    return (toPrivateKey(pem).asymmetricKeyDetails?.modulusLength ?? 0) >= 2048;
  } catch {
    return false;
  }
}

const V3_MERCHANT_FIELDS = ['apiV3Key', 'merchantPublicKey', 'certSerial'] as const;

export const simulatorOptionsSchema = z
  .object({
    /** Loopback only: the simulator is for this machine. */
    host: z.literal('127.0.0.1').default('127.0.0.1'),
    /** 0 picks a free port. */
    port: z.number().int().min(0).max(65535).default(0),
    /** 'v3' serves WeChat's v3 paths as well as the v2 ones (a v3 merchant holds both keys, as at WeChat). */
    apiVersion: z.enum(['v2', 'v3']).default('v2'),
    merchant: z
      .object({
        appid: z.string().regex(/^[A-Za-z0-9_]{1,32}$/, 'appid: 1 to 32 letters, digits or _'),
        mchid: z.string().regex(/^[0-9]{1,32}$/, 'mchid: 1 to 32 digits'),
        // Never echo a key back in an error message.
        apiKey: z.string().regex(/^[A-Za-z0-9]{32}$/, 'apiKey: the APIv2 key is 32 letters or digits'),
        // API v3 only (apiVersion 'v3'), all three then required.
        apiV3Key: z
          .string()
          .refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'apiV3Key: the APIv3 key is exactly 32 bytes')
          .optional(),
        merchantPublicKey: z
          .string()
          .refine(isRsaPublicPem, 'merchantPublicKey: an RSA public key or certificate in PEM')
          .optional(),
        certSerial: z
          .string()
          .regex(/^[0-9A-Fa-f]{1,64}$/, 'certSerial: the merchant certificate serial in hex')
          .optional(),
      })
      .strict(),
    /** WeChat Pay's signing key (PEM, RSA ≥ 2048), v3 only; generated (and kept in dataDir) when absent. */
    platformPrivateKey: z
      .string()
      .refine(isRsaPrivatePem, 'platformPrivateKey: an RSA private key (at least 2048 bits) in PEM')
      .optional(),
    /**
     * The id of WeChat Pay's public key (`PUB_KEY_ID_` and digits), v3 only: a merchant's own
     * WECHATPAY_PUBLIC_KEY_ID, so the simulator names the key as the merchant's configuration does.
     * Derived from platformPrivateKey when absent.
     */
    platformPublicKeyId: z
      .string()
      .refine(isPublicKeyId, 'platformPublicKeyId: PUB_KEY_ID_ followed by digits')
      .optional(),
    /**
     * Which serial v3 answers and notifications name in Wechatpay-Serial: the public key id (default) or the
     * certificate's.
     */
    signWith: z.enum(['certificate', 'public_key']).optional(),
    /**
     * The simulator's certificate authority (PEM), which issues its HTTPS server certificate and the
     * merchant's API client certificate. Generated when absent (and kept in dataDir when given).
     */
    tls: z
      .object({
        caCertPem: z.string().refine(isCertificatePem, 'tls.caCertPem: a certificate in PEM'),
        caKeyPem: z.string().refine(isPrivateKeyPem, 'tls.caKeyPem: a private key in PEM'),
      })
      .strict()
      .optional(),
    /**
     * The refund notification URL configured on the merchant platform: where refunds requested
     * without notify_url are notified. Without it such refunds notify nothing, as at WeChat.
     */
    refundNotifyUrl: z.string().refine(isNotifyUrl, 'refundNotifyUrl: an http(s) URL without query string').optional(),
    /**
     * The merchant's mini program (its appid is the merchant's) as WeChat's login API knows it. Without
     * an appSecret one is generated for this simulator, in memory only (RunningSimulator.miniProgramAppSecret).
     */
    miniProgram: z
      .object({
        // The library's rule, whose message never echoes the secret.
        appSecret: appSecretSchema.optional(),
        /**
         * code2Session calls per user in any real minute before 45011 (WeChat's older documentation: 100
         * per user per minute). Real time, not scaled.
         */
        loginRateLimitPerMinute: z.number().int().min(1).max(1_000_000).default(100),
      })
      .strict()
      .default({ loginRateLimitPerMinute: 100 }),
    /** Divides every WeChat duration (retry schedule, close minimum, prepay validity, time_expire). */
    timeScale: z.number().positive().max(1_000_000).default(1),
    /** Where state.json (and a generated platform key) live; in memory when absent. */
    dataDir: z.string().min(1).optional(),
    log: z.custom<(line: string) => void>(isFunction, 'log must be a function').optional(),
    /** A notification reply slower than this is a failed attempt. Real time, not scaled (WeChat: 5 s). */
    notifyReplyTimeoutMs: z.number().int().positive().default(5000),
    /** How long the "timeout" API fault holds a reply. Real time, not scaled. */
    apiTimeoutHoldMs: z.number().int().positive().default(6000),
    /** Time and timers; the real clock unless a test brings its own. */
    clock: z
      .custom<Clock>(
        (v) => typeof v === 'object' && v !== null && isFunction((v as Clock).now),
        'clock must be a Clock',
      )
      .optional(),
  })
  .strict()
  .superRefine((o, ctx) => {
    if (o.apiVersion === 'v3') {
      for (const field of V3_MERCHANT_FIELDS) {
        if (o.merchant[field] === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['merchant', field],
            message: `${field} is required with apiVersion 'v3'`,
          });
      }
      return;
    }
    // Catches a v3 configuration that forgot apiVersion: it would otherwise answer 404 on every v3 path.
    for (const field of V3_MERCHANT_FIELDS) {
      if (o.merchant[field] !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['merchant', field],
          message: `${field} is only used with apiVersion 'v3'`,
        });
    }
    for (const field of ['platformPrivateKey', 'platformPublicKeyId', 'signWith'] as const) {
      if (o[field] !== undefined)
        ctx.addIssue({ code: 'custom', path: [field], message: `${field} is only used with apiVersion 'v3'` });
    }
  });

export type SimulatorOptions = z.input<typeof simulatorOptionsSchema>;
export type ResolvedOptions = z.output<typeof simulatorOptionsSchema>;

/** Checks the configuration before anything starts; a bad one fails loudly, naming the field. */
export function resolveOptions(options: SimulatorOptions): ResolvedOptions {
  const parsed = simulatorOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.');
    throw new SimulatorOptionsError(
      `invalid simulator options: ${field ? `${field}: ` : ''}${issue?.message ?? 'invalid'}`,
      field,
    );
  }
  return parsed.data;
}
