import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Stack } from 'aws-cdk-lib';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import type { ServiceName } from '#infra/cdk/payment-function';
import { WebhookDelivery } from '#infra/cdk/webhook-delivery';
import { DEFAULT_WEBHOOK_RETRY_SCHEDULE } from '#shared/config/webhook-queue';

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

/** The functions every deployment has; the webhooks one only with a webhook URL (synthesizeWebhooksFunction). */
export type StackFunctions = Record<Exclude<ServiceName, 'webhooks'>, DeployedFunction>;

/**
 * The functions as `cdk synth` left them in cdk.out: each function's Code.S3Key is looked up in the
 * asset manifest, whose source path is the directory that is zipped and uploaded. Nothing is built
 * here: what is tested is what deploys.
 */
export function deployedFunctions(): StackFunctions {
  const templateFile = join(ASSEMBLY_DIR, `${STACK_NAME}.template.json`);
  if (!existsSync(templateFile)) {
    throw new Error(
      `no synthesized stack in cdk.out: run \`npm run synth\` first (\`npm test\` runs it before vitest)`,
    );
  }
  const found = functionsOf(ASSEMBLY_DIR, STACK_NAME);
  for (const service of ['orders', 'notify', 'reconcile', 'sweep', 'events', 'bills'] as const) {
    if (found[service] === undefined) throw new Error(`the synthesized stack has no ${service} function`);
  }
  return found as StackFunctions;
}

/**
 * The webhooks function, which cdk.out has only when `cdk synth` was given a webhook URL: synthesized
 * here by the same construct (WebhookDelivery, bundled as the stack bundles it, with cdk.json's
 * context), beside a stand-in for the events function, so its bundle is the one such a deployment
 * uploads. Its environment's plain values are those of a deployment with the default schedule.
 */
export function synthesizeWebhooksFunction(): DeployedFunction {
  const cdkJson = readJson<{ context?: Record<string, unknown> }>(join(REPO_ROOT, 'cdk.json'));
  const outdir = mkdtempSync(join(tmpdir(), 'wechatpay-webhooks-assembly-'));
  try {
    const app = new App({ outdir, context: cdkJson.context ?? {} });
    const stack = new Stack(app, 'WebhooksBundle');
    const eventsStandIn = new LambdaFunction(stack, 'EventsStandIn', {
      runtime: Runtime.NODEJS_24_X,
      handler: 'index.handler',
      code: Code.fromInline('export const handler = async () => undefined;'),
    });
    new WebhookDelivery(stack, 'WebhookDelivery', {
      url: 'https://merchant.example.com/webhooks',
      retrySchedule: DEFAULT_WEBHOOK_RETRY_SCHEDULE.split(',').map(Number),
      enabled: true,
      eventsFunction: eventsStandIn,
      tableName: 'orders',
    });
    app.synth();
    const webhooks = functionsOf(outdir, stack.artifactId).webhooks;
    if (webhooks === undefined) throw new Error('the webhook delivery synthesized no webhooks function');
    return webhooks;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Every function of the stack's template that carries one of our service names, each copied into a task root. */
function functionsOf(assemblyDir: string, stackName: string): Partial<Record<ServiceName, DeployedFunction>> {
  const template = readJson<{ Resources: Record<string, TemplateFunction> }>(
    join(assemblyDir, `${stackName}.template.json`),
  );
  const manifest = readJson<AssetManifest>(join(assemblyDir, `${stackName}.assets.json`));
  const root = mkdtempSync(join(tmpdir(), 'wechatpay-bundles-'));
  const found: Partial<Record<ServiceName, DeployedFunction>> = {};
  for (const resource of Object.values(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const props = resource.Properties;
    const variables = props.Environment?.Variables ?? {};
    const service = variables.POWERTOOLS_SERVICE_NAME as ServiceName | undefined;
    if (service === undefined) continue;
    const entry = Object.entries(manifest.files).find(([, file]) =>
      Object.values(file.destinations).some((d) => d.objectKey === props.Code.S3Key),
    );
    if (entry === undefined) throw new Error(`the asset manifest has no file for ${service}'s ${props.Code.S3Key}`);
    const [assetHash, file] = entry;
    const taskRoot = join(root, service);
    // Nothing beside the bundle: with the SDK bundled in (bundleAwsSDK) it needs no module of the
    // runtime's, so one it forgot fails to load here.
    cpSync(join(assemblyDir, file.source.path), taskRoot, { recursive: true });
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
  return found;
}

export function removeTaskRoots(functions: ReadonlyArray<DeployedFunction | undefined>): void {
  const roots = new Set(functions.flatMap((fn) => (fn === undefined ? [] : [join(fn.taskRoot, '..')])));
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
