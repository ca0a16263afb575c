import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WechatPayV3Client } from '#shared/wechatpay/v3/client';
import { SANDBOX_MERCHANT, SANDBOX_V3_MERCHANT_FILE, sandboxV3Merchant } from '#sandbox/simulator/sandbox-merchant';
import { PLATFORM_KEY_FILE } from '#sandbox/simulator/v3/platform';
import { APIV3_KEY, V3_MERCHANT } from './v3-support';

// `WECHATPAY_API_VERSION=v3 npm run simulator`, as a process of its own.

const children: ChildProcessWithoutNullStreams[] = [];
const dirs: string[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function spawnSimulator(extra: Record<string, string>): {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
} {
  const env: NodeJS.ProcessEnv = { ...process.env, SIMULATOR_PORT: '0', ...extra };
  for (const name of Object.keys(env)) {
    if (
      (name.startsWith('WECHATPAY_') ||
        name.startsWith('SIMULATOR_PLATFORM') ||
        name === 'SIMULATOR_SIGN_WITH' ||
        name === 'DATA_DIR') &&
      !(name in extra)
    )
      delete env[name];
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/simulator/main.ts'], {
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

function urlOf(child: ChildProcessWithoutNullStreams, output: () => string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed; output so far: ${output()}`)), 20_000);
    const look = (): void => {
      const m = /simulator listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output());
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    };
    child.stdout.on('data', look);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${output()}`)));
  });
}

async function platformOf(url: string): Promise<{ public_key: string; public_key_id: string; sign_with: string }> {
  const res = await fetch(`${url}/sandbox/platform`);
  expect(res.status).toBe(200);
  return (await res.json()) as { public_key: string; public_key_id: string; sign_with: string };
}

describe('npm run simulator with WECHATPAY_API_VERSION=v3', () => {
  it('without keys, makes the v3 sandbox merchant in DATA_DIR (shared with the stack) and a platform key', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sim-main-v3-'));
    dirs.push(dataDir);
    const { child, output } = spawnSimulator({
      WECHATPAY_API_VERSION: 'v3',
      DATA_DIR: dataDir,
      SIMULATOR_TIME_SCALE: '10',
    });
    const url = await urlOf(child, output);
    expect(existsSync(join(dataDir, SANDBOX_V3_MERCHANT_FILE))).toBe(true);
    expect(existsSync(join(dataDir, 'simulator', PLATFORM_KEY_FILE))).toBe(true);

    // What the local stack does: the same generated keys, read from the same DATA_DIR.
    const sandbox = sandboxV3Merchant(dataDir);
    const platform = await platformOf(url);
    expect(platform.sign_with).toBe('public_key');
    const client = new WechatPayV3Client({
      baseUrl: url,
      appid: SANDBOX_MERCHANT.appid,
      mchid: SANDBOX_MERCHANT.mchid,
      privateKey: sandbox.privateKeyPem,
      certSerial: sandbox.certSerial,
      apiV3Key: sandbox.apiV3Key,
      publicKey: platform.public_key,
      publicKeyId: platform.public_key_id,
      maxAttempts: 1,
    });
    await expect(client.queryByOutTradeNo('main-v3-test-1')).rejects.toMatchObject({ code: 'ORDERNOTEXIST' });
    const { codeUrl } = await client.prepayNative({
      description: 'main',
      outTradeNo: 'main-v3-test-2',
      notifyUrl: 'http://127.0.0.1:9/n',
      amount: { total: 1 },
    });
    expect(codeUrl).toMatch(/^weixin:/);
    // v2 still answers beside v3.
    expect((await fetch(`${url}/pay/orderquery`, { method: 'POST', body: '<xml></xml>' })).status).toBe(200);

    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(output()).toContain(platform.public_key_id);
    expect(output()).not.toContain(sandbox.apiV3Key);
    expect(output()).not.toContain('PRIVATE KEY');
  });

  it('merchant keys from WECHATPAY_* (\\n-escaped PEM), WeChat’s from SIMULATOR_PLATFORM_PRIVATE_KEY', async () => {
    const platformKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const { child, output } = spawnSimulator({
      WECHATPAY_API_VERSION: 'v3',
      WECHATPAY_APPID: V3_MERCHANT.appid,
      WECHATPAY_MCHID: V3_MERCHANT.mchid,
      WECHATPAY_APIV3_KEY: APIV3_KEY,
      WECHATPAY_CERT_SERIAL: V3_MERCHANT.serial,
      WECHATPAY_PRIVATE_KEY: V3_MERCHANT.privateKeyPem.trim().replace(/\n/g, '\\n'),
      SIMULATOR_PLATFORM_PRIVATE_KEY: platformKey.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      SIMULATOR_SIGN_WITH: 'certificate',
    });
    const url = await urlOf(child, output);
    const platform = await platformOf(url);
    expect(platform.public_key).toBe(platformKey.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(platform.sign_with).toBe('certificate');
    const client = new WechatPayV3Client({
      baseUrl: url,
      appid: V3_MERCHANT.appid,
      mchid: V3_MERCHANT.mchid,
      privateKey: V3_MERCHANT.privateKeyPem,
      certSerial: V3_MERCHANT.serial,
      apiV3Key: APIV3_KEY,
      maxAttempts: 1,
    });
    await expect(client.queryByOutTradeNo('main-v3-test-3')).rejects.toMatchObject({ code: 'ORDERNOTEXIST' });
    child.kill('SIGTERM');
    await once(child, 'exit');
    expect(output()).not.toContain(APIV3_KEY);
  });

  it('signs under WECHATPAY_PUBLIC_KEY_ID; a WECHATPAY_PUBLIC_KEY of another pair stops the start', async () => {
    const pem = (k: ReturnType<typeof generateKeyPairSync>) => ({
      privateKey: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    });
    const wechat = pem(generateKeyPairSync('rsa', { modulusLength: 2048 }));
    const id = 'PUB_KEY_ID_0114232134912410000000000099';
    const v3Env = {
      WECHATPAY_API_VERSION: 'v3',
      WECHATPAY_APIV3_KEY: APIV3_KEY,
      WECHATPAY_CERT_SERIAL: V3_MERCHANT.serial,
      WECHATPAY_PRIVATE_KEY: V3_MERCHANT.privateKeyPem,
      WECHATPAY_PUBLIC_KEY_ID: id,
    };
    const good = spawnSimulator({
      ...v3Env,
      WECHATPAY_PUBLIC_KEY: wechat.publicKey,
      SIMULATOR_PLATFORM_PRIVATE_KEY: wechat.privateKey,
    });
    const platform = await platformOf(await urlOf(good.child, good.output));
    expect(platform.public_key_id).toBe(id);
    expect(platform.public_key).toBe(wechat.publicKey);
    good.child.kill('SIGTERM');
    await once(good.child, 'exit');

    const bad = spawnSimulator({
      ...v3Env,
      WECHATPAY_PUBLIC_KEY: wechat.publicKey,
      SIMULATOR_PLATFORM_PRIVATE_KEY: pem(generateKeyPairSync('rsa', { modulusLength: 2048 })).privateKey,
    });
    const [code] = (await once(bad.child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(bad.output()).toContain("SIMULATOR_PLATFORM_PRIVATE_KEY's public half is not WECHATPAY_PUBLIC_KEY");
    expect(bad.output()).not.toContain('PRIVATE KEY-----');
  });

  it('refuses to start with only some of the merchant’s v3 keys, naming the missing ones', async () => {
    const { child, output } = spawnSimulator({ WECHATPAY_API_VERSION: 'v3', WECHATPAY_APIV3_KEY: APIV3_KEY });
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(output()).toContain('WECHATPAY_CERT_SERIAL');
    expect(output()).toContain('WECHATPAY_PRIVATE_KEY');
    expect(output()).not.toContain(APIV3_KEY);
  });
});
