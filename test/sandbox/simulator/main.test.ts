import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { signV2, verifyV2 } from '#shared/wechatpay/v2/sign';
import { postXml, queryParams } from './support';
import { toXml } from '#shared/wechatpay/v2/xml';

describe('npm run simulator (sandbox/simulator/main.ts)', () => {
  it('prints its URL, serves the sandbox merchant by default, and stops on SIGTERM', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_TIME_SCALE: '10' };
    for (const name of ['DATA_DIR', 'WECHATPAY_APPID', 'WECHATPAY_MCHID', 'WECHATPAY_API_KEY']) delete env[name];
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/simulator/main.ts'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; output so far: ${output}`)), 20_000);
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString();
          const m = /simulator listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (m) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      expect((await fetch(`${url}/health`)).status).toBe(200);
      const params = {
        ...queryParams({ out_trade_no: 'main-test-1' }),
        appid: SANDBOX_MERCHANT.appid,
        mch_id: SANDBOX_MERCHANT.mchid,
      };
      const { fields } = await postXml(
        url,
        '/pay/orderquery',
        toXml({ ...params, sign: signV2(params, SANDBOX_MERCHANT.apiKey) }),
      );
      expect(fields.err_code).toBe('ORDERNOTEXIST');
      expect(verifyV2(fields, SANDBOX_MERCHANT.apiKey)).toBe(true);

      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
      expect(output).not.toContain(SANDBOX_MERCHANT.apiKey);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
