import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServiceName } from '#infra/cdk/payment-function';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RUNNER = fileURLToPath(new URL('./lambda-runtime.ts', import.meta.url));
/** Where `npm run synth` writes (cdk.json's "output") and the stack's name in infra/app.ts. */
export const ASSEMBLY_DIR = join(REPO_ROOT, 'cdk.out');
const STACK_NAME = 'WechatPayStack';
/** Where `npm run node24` installs the registry's Node build for the Lambda's major (.ci/node24). */
const NODE24_DIR = join(REPO_ROOT, '.ci', 'node24');

/** One function of the synthesized stack, with its bundle copied into a task root of its own. */
export interface DeployedFunction {
  service: ServiceName;
  /** e.g. nodejs24.x */
  runtime: string;
  /** e.g. index.handler */
  handler: string;
  timeoutMs: number;
  memoryMb: number;
  /** The template's environment values that are plain strings (not references to other resources). */
  literalEnvironment: Record<string, string>;
  /** A copy of cdk.out/asset.<hash>/ (what Lambda unpacks into /var/task). */
  taskRoot: string;
  /** The asset hash the template's Code.S3Key names. */
  assetHash: string;
}

interface TemplateFunction {
  Type: string;
  Properties: {
    Code: { S3Key: string };
    Handler: string;
    Runtime: string;
    Timeout?: number;
    MemorySize?: number;
    Environment?: { Variables?: Record<string, unknown> };
  };
}

interface AssetManifest {
  files: Record<
    string,
    { source: { path: string; packaging?: string }; destinations: Record<string, { objectKey: string }> }
  >;
}

function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/**
 * The four functions as `cdk synth` left them in cdk.out: each function's Code.S3Key is looked up in
 * the asset manifest, whose source path is the directory that is zipped and uploaded. Nothing is
 * built here: what is tested is what deploys.
 */
export function deployedFunctions(): Record<ServiceName, DeployedFunction> {
  const templateFile = join(ASSEMBLY_DIR, `${STACK_NAME}.template.json`);
  const manifestFile = join(ASSEMBLY_DIR, `${STACK_NAME}.assets.json`);
  if (!existsSync(templateFile) || !existsSync(manifestFile)) {
    throw new Error(
      `no synthesized stack in cdk.out: run \`npm run synth\` first (\`npm test\` runs it before vitest)`,
    );
  }
  const template = readJson<{ Resources: Record<string, TemplateFunction> }>(templateFile);
  const manifest = readJson<AssetManifest>(manifestFile);
  const root = mkdtempSync(join(tmpdir(), 'wechatpay-bundles-'));
  const found: Partial<Record<ServiceName, DeployedFunction>> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties;
    const variables = props.Environment?.Variables ?? {};
    const service = variables.POWERTOOLS_SERVICE_NAME as ServiceName;
    const entry = Object.entries(manifest.files).find(([, file]) =>
      Object.values(file.destinations).some((d) => d.objectKey === props.Code.S3Key),
    );
    if (entry === undefined) throw new Error(`the asset manifest has no file for ${service}'s ${props.Code.S3Key}`);
    const [assetHash, file] = entry;
    const taskRoot = join(root, service);
    cpSync(join(ASSEMBLY_DIR, file.source.path), taskRoot, { recursive: true });
    provideRuntimeSdk(taskRoot);
    found[service] = {
      service,
      runtime: props.Runtime,
      handler: props.Handler,
      timeoutMs: (props.Timeout ?? 3) * 1000,
      memoryMb: props.MemorySize ?? 128,
      literalEnvironment: Object.fromEntries(
        Object.entries(variables).filter((pair): pair is [string, string] => typeof pair[1] === 'string'),
      ),
      taskRoot,
      assetHash,
    };
  }
  for (const service of ['orders', 'notify', 'reconcile', 'sweep'] as const) {
    if (found[service] === undefined) throw new Error(`the synthesized stack has no ${service} function`);
  }
  return found as Record<ServiceName, DeployedFunction>;
}

/**
 * The bundles leave out the AWS SDK (@aws-sdk/*, @smithy/*) because the Lambda runtime provides it.
 * Here those two scopes, and only those, are linked into the task root from this project's
 * node_modules: a dependency the bundle forgot to include still fails to load, as it would in AWS.
 */
function provideRuntimeSdk(taskRoot: string): void {
  const modules = join(taskRoot, 'node_modules');
  mkdirSync(modules);
  for (const scope of ['@aws-sdk', '@smithy'])
    symlinkSync(join(REPO_ROOT, 'node_modules', scope), join(modules, scope));
}

export function removeTaskRoots(functions: Partial<Record<ServiceName, DeployedFunction>>): void {
  const roots = new Set(Object.values(functions).map((fn) => join(fn.taskRoot, '..')));
  for (const root of roots) rmSync(root, { recursive: true, force: true });
}

/**
 * A Node binary of the runtime's major: LAMBDA_NODE (a path) if set, else the registry build that
 * `npm run node24` installs into .ci/node24 (its own package, so its `node` never shadows the
 * project's Node in npm scripts), else this process's Node when it is that major already.
 */
export function lambdaNode(runtime: string): string {
  const major = /^nodejs(\d+)\.x$/.exec(runtime)?.[1];
  if (major === undefined) throw new Error(`not a Node.js Lambda runtime: ${runtime}`);
  const installed = join(NODE24_DIR, 'node_modules', `node-linux-${arch()}`, 'bin', 'node');
  const candidates = [process.env.LAMBDA_NODE, installed, process.execPath].filter(
    (path): path is string => path !== undefined && path !== '' && existsSync(path),
  );
  for (const candidate of candidates) {
    const version = spawnSync(candidate, ['--version'], { encoding: 'utf8' }).stdout.trim();
    if (version.startsWith(`v${major}.`)) return candidate;
  }
  throw new Error(
    `no Node.js ${major} to run the bundles as ${runtime} does: run \`npm run node24\` ` +
      '(installs it into .ci/node24), or set LAMBDA_NODE to a Node ' +
      major +
      ' binary',
  );
}

/** `node` is the version that ran the invocation (process.version), `logs` what the handler printed. */
export type BundleOutcome = { node?: string; logs: string } & (
  { ok: true; result: unknown } | { ok: false; error: { name: string; message: string; stack?: string } }
);

/**
 * One invocation in a fresh process (a cold start every time), with the environment Lambda gives a
 * function: its configured variables plus the runtime's own (task root, handler, region, memory…).
 */
export async function invokeBundle(
  fn: DeployedFunction,
  environment: Record<string, string>,
  event: unknown,
  remainingMs = fn.timeoutMs,
): Promise<BundleOutcome> {
  const functionName = `WechatPayStack-${fn.service}`;
  const child = spawn(lambdaNode(fn.runtime), [RUNNER], {
    cwd: fn.taskRoot,
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      LAMBDA_TASK_ROOT: fn.taskRoot,
      _HANDLER: fn.handler,
      AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
      AWS_LAMBDA_FUNCTION_NAME: functionName,
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
      AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      AWS_LAMBDA_LOG_STREAM_NAME: 'local',
      // The execution role's temporary credentials; the local servers take any.
      AWS_ACCESS_KEY_ID: 'ASIALOCALBUNDLETEST0',
      AWS_SECRET_ACCESS_KEY: 'local-bundle-test',
      AWS_SESSION_TOKEN: 'local-bundle-test',
      ...environment,
      AWS_DEFAULT_REGION: environment.AWS_REGION ?? 'us-east-1',
    },
  });
  let logs = '';
  child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
  let answer = '';
  const fd3 = child.stdio[3] as NodeJS.ReadableStream;
  fd3.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
  child.stdin.end(JSON.stringify({ event, remainingMs }));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  if (answer === '') {
    return { ok: false, error: { name: 'Runtime.ExitError', message: `exited with ${code} and no answer` }, logs };
  }
  return { ...(JSON.parse(answer) as Omit<BundleOutcome, 'logs'>), logs } as BundleOutcome;
}
