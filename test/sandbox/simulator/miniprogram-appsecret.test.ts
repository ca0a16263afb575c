import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SANDBOX_APPSECRET_FILE, sandboxAppSecret } from '#sandbox/simulator/sandbox-appsecret';
import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import { startSimulator } from '#sandbox/simulator/server';
import { code2Session, sandboxLogin } from '#test/helpers/miniprogram-sandbox';
import { MERCHANT } from './support';

/** The sandbox AppSecret the local stack and `npm run simulator` share through DATA_DIR. */

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mp-appsecret-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('sandboxAppSecret', () => {
  it('is 32 lowercase hex digits, kept owner-only in <dataDir>/miniprogram-appsecret, the same on every call', () => {
    const dir = tempDir();
    const secret = sandboxAppSecret(dir);
    expect(secret).toMatch(/^[0-9a-f]{32}$/);
    const file = join(dir, SANDBOX_APPSECRET_FILE);
    expect(readFileSync(file, 'utf8')).toBe(secret);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(sandboxAppSecret(dir)).toBe(secret);
  });

  it('another data directory has another secret; none is the same for the life of the process', () => {
    expect(sandboxAppSecret(tempDir())).not.toBe(sandboxAppSecret(tempDir()));
    expect(sandboxAppSecret()).toBe(sandboxAppSecret());
    expect(sandboxAppSecret()).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads a secret another process wrote', () => {
    const dir = tempDir();
    writeFileSync(join(dir, SANDBOX_APPSECRET_FILE), '0123456789abcdef0123456789abcdef', { mode: 0o600 });
    expect(sandboxAppSecret(dir)).toBe('0123456789abcdef0123456789abcdef');
  });

  it('refuses a damaged file, naming it and not its content', () => {
    const dir = tempDir();
    writeFileSync(join(dir, SANDBOX_APPSECRET_FILE), 'NotAHexSecretButSomething', { mode: 0o600 });
    expect(() => sandboxAppSecret(dir)).toThrow(SANDBOX_APPSECRET_FILE);
    expect(() => sandboxAppSecret(dir)).not.toThrow('NotAHexSecretButSomething');
  });

  it("is not the simulator's default AppSecret: that one is generated in memory, no file written", async () => {
    const dir = tempDir();
    const sim = await startSimulator({ merchant: MERCHANT, dataDir: dir });
    const other = await startSimulator({ merchant: MERCHANT, dataDir: dir });
    try {
      expect(sim.miniProgramAppSecret).toMatch(/^[0-9a-f]{32}$/);
      expect(other.miniProgramAppSecret).not.toBe(sim.miniProgramAppSecret);
      expect(existsSync(join(dir, SANDBOX_APPSECRET_FILE))).toBe(false);
      expect(readdirSync(dir).some((name) => readFileSync(join(dir, name)).includes(sim.miniProgramAppSecret))).toBe(
        false,
      );
      expect(sim.miniProgramAppSecret).not.toBe(sandboxAppSecret());
    } finally {
      await sim.close();
      await other.close();
    }
  });
});

describe('npm run simulator and the mini program AppSecret', () => {
  async function run(env: NodeJS.ProcessEnv, exercise: (url: string, output: () => string) => Promise<void>) {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, SIMULATOR_PORT: '0', ...env };
    for (const name of ['WECHATPAY_APPID', 'WECHATPAY_MCHID', 'WECHATPAY_API_KEY', 'WECHATPAY_API_VERSION'])
      delete childEnv[name];
    if (env.WECHAT_APPSECRET === undefined) delete childEnv.WECHAT_APPSECRET;
    if (env.DATA_DIR === undefined) delete childEnv.DATA_DIR;
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/simulator/main.ts'], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no URL printed; output so far: ${output}`)), 20_000);
        const look = (): void => {
          const m = /simulator listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
          if (m && output.includes('mini program login')) {
            clearTimeout(timer);
            resolve(m[1] as string);
          }
        };
        child.stdout.on('data', look);
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
      });
      await exercise(url, () => output);
      child.kill('SIGTERM');
      await once(child, 'exit');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }

  const exchange = async (url: string, secret: string) => {
    const login = await sandboxLogin(url);
    return code2Session(url, {
      appid: SANDBOX_MERCHANT.appid,
      secret,
      js_code: login.code,
      grant_type: 'authorization_code',
    });
  };

  it('uses the AppSecret kept in DATA_DIR (shared with npm start) and never prints it', async () => {
    const dataDir = tempDir();
    const shared = sandboxAppSecret(dataDir);
    await run({ DATA_DIR: dataDir }, async (url, output) => {
      expect((await exchange(url, shared)).json?.openid).toMatch(/^o/);
      expect(output()).toContain(join(dataDir, SANDBOX_APPSECRET_FILE));
      expect(output()).not.toContain(shared);
    });
  });

  it('uses WECHAT_APPSECRET when set', async () => {
    const own = 'OwnAppSecret0123456789';
    await run({ WECHAT_APPSECRET: own }, async (url, output) => {
      expect((await exchange(url, own)).json?.openid).toMatch(/^o/);
      expect((await exchange(url, sandboxAppSecret())).json?.errcode).toBe(40125);
      expect(output()).not.toContain(own);
    });
  });
});
