import { join } from 'node:path';
import { z } from 'zod';
import { SANDBOX_MERCHANT } from './sandbox-merchant';
import { startSimulator } from './server';

/**
 * `npm run simulator`: the WeChat Pay simulator alone. Settings by environment (all optional):
 * SIMULATOR_PORT (3100), SIMULATOR_TIME_SCALE (1), DATA_DIR (state kept in DATA_DIR/simulator;
 * in memory when unset), WECHATPAY_APPID / WECHATPAY_MCHID / WECHATPAY_API_KEY (the sandbox merchant).
 */
const envSchema = z.object({
  SIMULATOR_PORT: z.coerce.number().int().min(0).max(65535).default(3100),
  SIMULATOR_TIME_SCALE: z.coerce.number().positive().default(1),
  DATA_DIR: z.string().min(1).optional(),
  WECHATPAY_APPID: z.string().min(1).default(SANDBOX_MERCHANT.appid),
  WECHATPAY_MCHID: z.string().min(1).default(SANDBOX_MERCHANT.mchid),
  WECHATPAY_API_KEY: z.string().min(1).default(SANDBOX_MERCHANT.apiKey),
});

async function main(): Promise<void> {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid environment: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''}`);
  }
  const env = parsed.data;
  const simulator = await startSimulator({
    port: env.SIMULATOR_PORT,
    timeScale: env.SIMULATOR_TIME_SCALE,
    dataDir: env.DATA_DIR === undefined ? undefined : join(env.DATA_DIR, 'simulator'),
    merchant: { appid: env.WECHATPAY_APPID, mchid: env.WECHATPAY_MCHID, apiKey: env.WECHATPAY_API_KEY },
    log: (line) => console.log(line),
  });
  console.log(`simulator listening on ${simulator.url}`);
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
