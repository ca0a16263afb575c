import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

import { afterAll, describe, expect, it } from 'vitest';

import { startTestStack, type TestStack } from '#test/helpers/local-stack';

/*
 * `npm run demo` as a developer runs it, beside a running stack: the whole flow through the signed
 * client, with LOCAL_IAM on (the configured key signs) and off (a stand-in key, since nothing checks).
 */

const run = promisify(execFile);

const KEY = { accessKeyId: 'AKIDDEMOTEST', secretAccessKey: 'demo-test-secret' };

const stacks: TestStack[] = [];

afterAll(async () => {
  await Promise.all(stacks.map((s) => s.stop()));
});

async function demo(stack: TestStack, extraEnv: Record<string, string>): Promise<{ code: number; output: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: new URL(stack.gatewayUrl).port };
  // Whatever the machine has must not sign in the test's place.
  for (const name of ['AWS_PROFILE', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'])
    delete env[name];
  delete env.LOCAL_IAM_ACCESS_KEY_ID;
  delete env.LOCAL_IAM_SECRET_ACCESS_KEY;
  Object.assign(env, extraEnv);
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'sandbox/local/demo.ts'], {
      env,
      timeout: 90_000,
    });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

describe('npm run demo', () => {
  it('with LOCAL_IAM: pays four orders and refunds one, every API call signed with the configured key', async () => {
    // Not the stack's default region: the demo signs for the one the gateway's /health names.
    const stack = await startTestStack({ localIam: KEY, region: 'ap-east-1' });
    stacks.push(stack);
    const { code, output } = await demo(stack, {
      LOCAL_IAM_ACCESS_KEY_ID: KEY.accessKeyId,
      LOCAL_IAM_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    });
    expect(output).toContain('signing with SigV4 (execute-api, ap-east-1)');
    expect(output).toContain('all four orders paid');
    expect(output).toContain('the partial refund reached SUCCESS');
    expect(output).toMatch(/payment\.succeeded/);
    expect(output).toMatch(/refund\.succeeded\s+"DEMO\d+"/);
    expect(output).not.toContain(KEY.secretAccessKey);
    expect(code, output).toBe(0);

    // With another key the gateway refuses the first call, and the demo says so and fails.
    const refused = await demo(stack, {
      LOCAL_IAM_ACCESS_KEY_ID: KEY.accessKeyId,
      LOCAL_IAM_SECRET_ACCESS_KEY: 'not-the-secret',
    });
    expect(refused.output).toContain('error 403');
    expect(refused.code).toBe(1);
  }, 180_000);

  it('without LOCAL_IAM: the same run, signed with a stand-in key', async () => {
    const stack = await startTestStack();
    stacks.push(stack);
    const { code, output } = await demo(stack, {});
    expect(output).toContain('a stand-in key');
    expect(output).toContain('all four orders paid');
    expect(code, output).toBe(0);
  }, 180_000);
});
