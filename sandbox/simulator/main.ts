import { createPublicKey } from 'node:crypto';
import { join } from 'node:path';
import * as z from 'zod';
import { SANDBOX_APPSECRET_FILE, sandboxAppSecret } from './sandbox-appsecret';
import { SANDBOX_MERCHANT, sandboxV3Merchant } from './sandbox-merchant';
import type { MerchantV3Keys } from './sandbox-merchant';
import { startSimulator } from './server';
import { CA_CERT_FILE, CLIENT_CERT_FILE } from './tls-identity';
import { v3KeyProblems } from './v3-key-settings';

/**
 * `npm run simulator`: the WeChat Pay simulator alone. Settings by environment (all optional):
 * SIMULATOR_PORT (3100), SIMULATOR_TIME_SCALE (1), DATA_DIR (state kept in DATA_DIR/simulator;
 * in memory when unset), WECHATPAY_APPID / WECHATPAY_MCHID / WECHATPAY_API_KEY (the sandbox merchant),
 * WECHATPAY_API_VERSION (v2, or v3 to serve the v3 paths too) and for v3: WECHATPAY_APIV3_KEY,
 * WECHATPAY_CERT_SERIAL, WECHATPAY_PRIVATE_KEY (all three, or none for the generated sandbox keys
 * the local stack shares), SIMULATOR_PLATFORM_PRIVATE_KEY (WeChat's key; generated and kept when
 * unset), WECHATPAY_PUBLIC_KEY / WECHATPAY_PUBLIC_KEY_ID (the merchant side's copy of WeChat's key:
 * checked against SIMULATOR_PLATFORM_PRIVATE_KEY, and the id is the one the simulator signs under),
 * SIMULATOR_SIGN_WITH (public_key or certificate), WECHAT_APPSECRET (the mini program's AppSecret for
 * GET /sns/jscode2session; when unset the sandbox one, kept in DATA_DIR/miniprogram-appsecret, which
 * `npm start` on the same DATA_DIR uses too). HTTPS is served on the same port, with a CA kept in
 * DATA_DIR/simulator (tls-ca.json, and its certificate alone in tls-ca-cert.pem).
 */
const blankIsAbsent = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);
const optionalText = z.preprocess(blankIsAbsent, z.string().optional());
/** PEM in one environment line, with "\n" for the line breaks, is accepted too. */
const optionalPem = z.preprocess(
  blankIsAbsent,
  z
    .string()
    .transform((s) => s.replace(/\\n/g, '\n'))
    .optional(),
);

const envSchema = z.object({
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  SIMULATOR_TIME_SCALE: z.coerce.number().positive().default(1),
  DATA_DIR: z.preprocess(blankIsAbsent, z.string().min(1).optional()),
  WECHATPAY_APPID: z.preprocess(blankIsAbsent, z.string().min(1).default(SANDBOX_MERCHANT.appid)),
  WECHATPAY_MCHID: z.preprocess(blankIsAbsent, z.string().min(1).default(SANDBOX_MERCHANT.mchid)),
  WECHATPAY_API_KEY: z.preprocess(blankIsAbsent, z.string().min(1).default(SANDBOX_MERCHANT.apiKey)),
  WECHATPAY_API_VERSION: z.preprocess(blankIsAbsent, z.enum(['v2', 'v3']).default('v2')),
  WECHATPAY_APIV3_KEY: optionalText,
  WECHATPAY_CERT_SERIAL: optionalText,
  WECHATPAY_PRIVATE_KEY: optionalPem,
  SIMULATOR_PLATFORM_PRIVATE_KEY: optionalPem,
  WECHATPAY_PUBLIC_KEY: optionalPem,
  WECHATPAY_PUBLIC_KEY_ID: optionalText,
  SIMULATOR_SIGN_WITH: z.preprocess(blankIsAbsent, z.enum(['public_key', 'certificate']).default('public_key')),
  WECHAT_APPSECRET: optionalText,
});
type Env = z.infer<typeof envSchema>;

/** The merchant's v3 keys as the simulator needs them: given (all three), or the shared sandbox ones. */
function v3MerchantKeys(env: Env): MerchantV3Keys {
  const given = {
    WECHATPAY_APIV3_KEY: env.WECHATPAY_APIV3_KEY,
    WECHATPAY_CERT_SERIAL: env.WECHATPAY_CERT_SERIAL,
    WECHATPAY_PRIVATE_KEY: env.WECHATPAY_PRIVATE_KEY,
  };
  const missing = Object.entries(given)
    .filter(([, v]) => v === undefined)
    .map(([k]) => k);
  if (missing.length === 3) {
    const sandbox = sandboxV3Merchant(env.DATA_DIR);
    return { apiV3Key: sandbox.apiV3Key, certSerial: sandbox.certSerial, merchantPublicKey: sandbox.publicKeyPem };
  }
  if (missing.length > 0)
    throw new Error(
      `invalid environment: ${missing.join(', ')} must be set too (or none of the three, for the sandbox keys)`,
    );
  let merchantPublicKey: string;
  try {
    merchantPublicKey = createPublicKey(env.WECHATPAY_PRIVATE_KEY as string)
      .export({ type: 'spki', format: 'pem' })
      .toString();
  } catch {
    throw new Error('invalid environment: WECHATPAY_PRIVATE_KEY is not a private key in PEM');
  }
  return {
    apiV3Key: env.WECHATPAY_APIV3_KEY as string,
    certSerial: env.WECHATPAY_CERT_SERIAL as string,
    merchantPublicKey,
  };
}

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid environment: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`);
  }
  const env = parsed.data;
  const v3 = env.WECHATPAY_API_VERSION === 'v3';
  const problems = v3
    ? v3KeyProblems({
        WECHATPAY_PRIVATE_KEY: env.WECHATPAY_PRIVATE_KEY,
        WECHATPAY_CERT_SERIAL: env.WECHATPAY_CERT_SERIAL,
        WECHATPAY_APIV3_KEY: env.WECHATPAY_APIV3_KEY,
        WECHATPAY_PUBLIC_KEY: env.WECHATPAY_PUBLIC_KEY,
        WECHATPAY_PUBLIC_KEY_ID: env.WECHATPAY_PUBLIC_KEY_ID,
        SIMULATOR_PLATFORM_PRIVATE_KEY: env.SIMULATOR_PLATFORM_PRIVATE_KEY,
      })
    : [];
  if (problems.length > 0) throw new Error(`invalid environment: ${problems.join('; ')}`);
  const simulator = await startSimulator({
    port: env.SIMULATOR_PORT,
    timeScale: env.SIMULATOR_TIME_SCALE,
    dataDir: env.DATA_DIR === undefined ? undefined : join(env.DATA_DIR, 'simulator'),
    apiVersion: env.WECHATPAY_API_VERSION,
    merchant: {
      appid: env.WECHATPAY_APPID,
      mchid: env.WECHATPAY_MCHID,
      apiKey: env.WECHATPAY_API_KEY,
      ...(v3 ? v3MerchantKeys(env) : {}),
    },
    ...(v3
      ? {
          platformPrivateKey: env.SIMULATOR_PLATFORM_PRIVATE_KEY,
          platformPublicKeyId: env.WECHATPAY_PUBLIC_KEY_ID,
          signWith: env.SIMULATOR_SIGN_WITH,
        }
      : {}),
    // The sandbox AppSecret lives beside DATA_DIR's other shared sandbox keys, not in the simulator's own directory.
    miniProgram: { appSecret: env.WECHAT_APPSECRET ?? sandboxAppSecret(env.DATA_DIR) },
    log: (line) => console.log(line),
  });
  console.log(`simulator listening on ${simulator.url}`);
  const simulatorDir = env.DATA_DIR === undefined ? undefined : join(env.DATA_DIR, 'simulator');
  const clientFile = `${env.WECHATPAY_MCHID}-${CLIENT_CERT_FILE}`;
  console.log(
    `simulator: HTTPS on ${simulator.httpsUrl} (same port); ` +
      (simulatorDir === undefined
        ? 'its CA and the merchant client certificate are generated for this run (set DATA_DIR to keep them in files)'
        : `trust ${join(simulatorDir, CA_CERT_FILE)} (NODE_EXTRA_CA_CERTS or WECHATPAY_TRUSTED_CA); ` +
          `the merchant client certificate for /secapi/ is in ${join(simulatorDir, clientFile)}`),
  );
  console.log(
    `simulator: mini program login on ${simulator.httpsUrl}/sns/jscode2session (appid ${env.WECHATPAY_APPID}; ` +
      (env.WECHAT_APPSECRET !== undefined
        ? 'the AppSecret is WECHAT_APPSECRET)'
        : env.DATA_DIR === undefined
          ? 'the AppSecret is generated for this run: set DATA_DIR to share it with npm start)'
          : `the AppSecret is in ${join(env.DATA_DIR, SANDBOX_APPSECRET_FILE)})`) +
      `; POST ${simulator.url}/sandbox/miniprogram/login gives a code`,
  );
  if (simulator.platform !== undefined) {
    const { publicKeyId, certificateSerial, signWith } = simulator.platform;
    console.log(
      `simulator: API v3 too; WeChat Pay public key ${publicKeyId}, platform certificate ${certificateSerial}, ` +
        `signing as the ${signWith === 'public_key' ? 'public key' : 'certificate'}; ` +
        `GET ${simulator.url}/sandbox/platform shows both`,
    );
  }
  const stop = (signal: string): void => {
    console.log(`simulator: ${signal}, stopping`);
    simulator.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  console.error(`simulator failed to start: ${(err as Error).message}`);
  process.exit(1);
});
