import * as z from 'zod';

import { ConfigurationError } from '../domain/errors';
import type { Settings } from './settings';

const pem = z.string().includes('-----BEGIN', { message: 'must be a PEM block' });
const apiV3Key = z
  .string()
  .refine((k) => Buffer.byteLength(k, 'utf8') === 32, 'the APIv3 key must be exactly 32 bytes');
/** base64 as `base64 apiclient_cert.p12` prints it: line breaks and spaces are ignored. */
const base64Text = z
  .string()
  .transform((v) => v.replace(/\s+/g, ''))
  .refine((v) => v.length > 0 && v.length % 4 === 0 && /^[A-Za-z0-9+/]+={0,2}$/.test(v), 'must be base64');
const PREVIOUS_FIELDS = ['previousApiKey', 'previousApiV3Key', 'previousPublicKey', 'previousPublicKeyId'] as const;

/**
 * The merchant's WeChat Pay identity and keys. In AWS they come from one Secrets Manager secret
 * (JSON with these field names); locally from WECHATPAY_* variables.
 */
export const MerchantCredentialsSchema = z
  .object({
    appid: z.string().min(1).max(32),
    mchid: z.string().regex(/^\d{1,32}$/, 'mchid is WeChat’s numeric merchant id'),
    apiVersion: z.enum(['v2', 'v3']).default('v2'),
    apiKey: z.string().length(32, 'the APIv2 key is 32 characters').optional(),
    privateKey: pem.optional(),
    certSerial: z
      .string()
      .regex(/^[0-9A-Fa-f]{8,64}$/, 'a hex certificate serial')
      .optional(),
    apiV3Key: apiV3Key.optional(),
    publicKey: pem.optional(),
    publicKeyId: z.string().startsWith('PUB_KEY_ID_').optional(),
    /*
     * The merchant's API client certificate (商户API证书), which v2 refunds present over mutual TLS on
     * /secapi/: the PEM pair (apiclient_cert.pem + apiclient_key.pem), or apiclient_cert.p12 in base64
     * with its password, which WeChat sets to the mchid. Optional: only v2 refunds need it. Here only
     * the shape is checked; that the pair belongs together (or the password opens the p12) is checked
     * where the credentials become a client (shared/app/wechatpay-adapters.ts).
     */
    apiClientCert: pem.optional(),
    apiClientKey: pem.optional(),
    apiClientP12: base64Text.optional(),
    apiClientP12Password: z.string().min(1).optional(),
    /*
     * The mini program's AppSecret (same appid), for the login (sns/jscode2session) and as the key our
     * sealed session keys are derived from. Optional: only the mini program routes need it. The
     * message names the rule, never the value.
     */
    appSecret: z
      .string()
      .regex(/^[A-Za-z0-9]{16,64}$/, 'an AppSecret is 16 to 64 letters or digits')
      .optional(),
    /*
     * A rotation, written into the secret so every container knows it (one started after the update
     * too): the keys just replaced, still accepted on notifications until rotatedAt plus
     * KEY_ROTATION_OVERLAP_SECONDS. Remove them afterwards; they are never used to call WeChat.
     */
    previousApiKey: z.string().length(32, 'the previous APIv2 key is 32 characters').optional(),
    previousApiV3Key: apiV3Key.optional(),
    previousPublicKey: pem.optional(),
    previousPublicKeyId: z.string().startsWith('PUB_KEY_ID_').optional(),
    rotatedAt: z.iso.datetime({ offset: true }).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.apiVersion === 'v2' && c.apiKey === undefined) {
      ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'v2 needs the APIv2 key' });
    }
    if (c.apiVersion === 'v3') {
      for (const field of ['privateKey', 'certSerial', 'apiV3Key'] as const) {
        if (c[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `v3 needs ${field}` });
      }
      if ((c.publicKey === undefined) !== (c.publicKeyId === undefined)) {
        ctx.addIssue({ code: 'custom', path: ['publicKeyId'], message: 'publicKey and publicKeyId go together' });
      }
    }
    if ((c.previousPublicKey === undefined) !== (c.previousPublicKeyId === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['previousPublicKeyId'],
        message: 'previousPublicKey and previousPublicKeyId go together',
      });
    }
    if ((c.apiClientCert === undefined) !== (c.apiClientKey === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [c.apiClientCert === undefined ? 'apiClientCert' : 'apiClientKey'],
        message: 'apiClientCert and apiClientKey go together',
      });
    }
    if (c.apiClientP12 !== undefined && c.apiClientCert !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiClientP12'],
        message: 'give the API client certificate once: apiClientCert + apiClientKey, or apiClientP12',
      });
    }
    if (c.apiClientP12Password !== undefined && c.apiClientP12 === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['apiClientP12Password'],
        message: 'apiClientP12Password needs apiClientP12',
      });
    }
    if (PREVIOUS_FIELDS.some((field) => c[field] !== undefined) && c.rotatedAt === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['rotatedAt'],
        message: 'previous keys need rotatedAt (when they were replaced)',
      });
    }
  })
  // WeChat protects apiclient_cert.p12 with the mchid: the usual secret need not repeat it.
  .transform((c) =>
    c.apiClientP12 !== undefined && c.apiClientP12Password === undefined ? { ...c, apiClientP12Password: c.mchid } : c,
  );

export type MerchantCredentials = z.infer<typeof MerchantCredentialsSchema>;

/** The merchant's API client certificate in either of WeChat's forms, or undefined when none is configured. */
export type ApiClientCertificate = { certPem: string; keyPem: string } | { p12: Buffer; passphrase: string };

export function apiClientCertificateOf(c: MerchantCredentials): ApiClientCertificate | undefined {
  if (c.apiClientCert !== undefined && c.apiClientKey !== undefined) {
    return { certPem: c.apiClientCert, keyPem: c.apiClientKey };
  }
  if (c.apiClientP12 !== undefined) {
    return { p12: Buffer.from(c.apiClientP12, 'base64'), passphrase: c.apiClientP12Password ?? c.mchid };
  }
  return undefined;
}

/**
 * The credentials as they were before the rotation the secret records (previous* keys in place of
 * the current ones), or undefined when it records none.
 */
export function previousCredentials(c: MerchantCredentials): MerchantCredentials | undefined {
  if (!PREVIOUS_FIELDS.some((field) => c[field] !== undefined)) return undefined;
  const {
    previousApiKey,
    previousApiV3Key,
    previousPublicKey,
    previousPublicKeyId,
    rotatedAt: _rotatedAt,
    ...current
  } = c;
  return {
    ...current,
    ...(previousApiKey === undefined ? {} : { apiKey: previousApiKey }),
    ...(previousApiV3Key === undefined ? {} : { apiV3Key: previousApiV3Key }),
    ...(previousPublicKey === undefined ? {} : { publicKey: previousPublicKey, publicKeyId: previousPublicKeyId }),
  };
}

/** Never prints the keys: only which field broke which rule. */
export function parseMerchantCredentials(value: unknown, source: string): MerchantCredentials {
  const parsed = MerchantCredentialsSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigurationError(`invalid merchant credentials in ${source}: ${problems}`);
  }
  return parsed.data;
}

export function credentialsFromSettings(settings: Settings): MerchantCredentials {
  return parseMerchantCredentials(
    {
      appid: settings.WECHATPAY_APPID,
      mchid: settings.WECHATPAY_MCHID,
      apiVersion: settings.WECHATPAY_API_VERSION,
      apiKey: settings.WECHATPAY_API_KEY,
      privateKey: settings.WECHATPAY_PRIVATE_KEY,
      certSerial: settings.WECHATPAY_CERT_SERIAL,
      apiV3Key: settings.WECHATPAY_APIV3_KEY,
      publicKey: settings.WECHATPAY_PUBLIC_KEY,
      publicKeyId: settings.WECHATPAY_PUBLIC_KEY_ID,
      apiClientCert: settings.WECHATPAY_API_CLIENT_CERT,
      apiClientKey: settings.WECHATPAY_API_CLIENT_KEY,
      appSecret: settings.WECHAT_APPSECRET,
    },
    'WECHATPAY_* variables',
  );
}
