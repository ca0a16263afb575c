import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import { METRICS_NAMESPACE } from '#shared/config/metric-names';
import { NOTIFY_ROUTE } from '#shared/app/routes';
import { DEFAULT_RECONCILE_SCHEDULE, WECHATPAY_PRODUCTION_URL } from '#shared/config/settings';
import { type Bundle, bundleEntry, REPO_ROOT, type SdkMode, STACK_SDK_MODE } from './bundle';
import { median, ratio } from './stats';

/**
 * Part 1: each Lambda bundled as the stack bundles it, its minified size, and how long a fresh Node
 * process takes to import it (module load plus top-level initialisation: settings, clients,
 * middleware), against a floor bundle that only builds the DynamoDB and SQS clients.
 */

export const FUNCTIONS = ['orders', 'notify', 'reconcile', 'sweep'] as const;
export type FunctionName = (typeof FUNCTIONS)[number];

export const FLOOR = 'floor';

export interface ColdStartOptions {
  /** Timed imports per bundle (one more, untimed, warms the file cache first). */
  runs: number;
  /** The stack's mode is always measured; others are measured too when listed. */
  modes: SdkMode[];
  progress: (line: string) => void;
}

export interface BundleResult {
  name: string;
  bytes: number;
  medianInitMs: number;
  samplesMs: number[];
  /** median ÷ the floor's median in the same mode; null for the floor itself. */
  initRatio: number | null;
  largestInputs: Bundle['largestInputs'];
}

export interface ModeResult {
  mode: SdkMode;
  floor: BundleResult;
  functions: BundleResult[];
  /** The largest of the functions' init ratios. */
  initRatio: number | null;
  maxBundleBytes: number;
}

export interface ColdStartResult {
  /** The mode the CDK stack deploys; the headline numbers come from it. */
  stackMode: SdkMode;
  runs: number;
  nodeVersion: string;
  modes: ModeResult[];
}

/**
 * The environment the stack gives each Lambda (infra/cdk/wechat-pay-stack.ts), with placeholder
 * values, plus what Lambda itself sets. Nothing here reaches a network at start: the merchant
 * secret is read on the first invocation, and the SDK resolves credentials on the first call.
 */
export function lambdaEnvironment(fn: FunctionName | typeof FLOOR): Record<string, string> {
  const common: Record<string, string> = {
    TABLE_NAME: 'WechatPayStack-OrdersTable-BENCH',
    WECHATPAY_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:wechatpay/merchant-AbCdEf',
    WECHATPAY_BASE_URL: WECHATPAY_PRODUCTION_URL,
    RECONCILE_SCHEDULE: DEFAULT_RECONCILE_SCHEDULE,
    POWERTOOLS_SERVICE_NAME: fn,
    POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    NODE_OPTIONS: '--enable-source-maps',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: `WechatPayStack-${fn}`,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: fn === 'sweep' ? '256' : '512',
    AWS_ACCESS_KEY_ID: 'ASIABENCHPLACEHOLDER',
    AWS_SECRET_ACCESS_KEY: 'bench-placeholder',
    AWS_SESSION_TOKEN: 'bench-placeholder',
  };
  const withQueue = {
    ...common,
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/WechatPayStack-ReconcileQueue',
  };
  switch (fn) {
    case 'notify':
      return common;
    case 'orders':
      return {
        ...withQueue,
        NOTIFY_URL: `https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws${NOTIFY_ROUTE.path}`,
      };
    default:
      return withQueue;
  }
}

// Runs in the child: the clock starts before the import and stops once the module (and every
// top-level statement of the bundle: settings, clients, middleware) has run.
const CHILD_SCRIPT = `
const started = performance.now();
const mod = await import(process.argv[1]);
const elapsed = performance.now() - started;
if (typeof mod.handler !== 'function') throw new Error('the bundle exports no handler');
process.stdout.write(JSON.stringify({ ms: elapsed }));
`;

function timeImport(file: string, env: Record<string, string>, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD_SCRIPT, pathToFileURL(file).href], {
      cwd,
      env: {
        ...env,
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: cwd,
        // Node 20 here, Node 22 on Lambda: the SDK's "upgrade Node" warning would only be noise.
        NODE_NO_WARNINGS: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (err += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      try {
        if (code !== 0) throw new Error(`exit ${String(code)}`);
        const { ms } = JSON.parse(out) as { ms: number };
        resolve(ms);
      } catch (error) {
        reject(new Error(`importing ${file} failed (${(error as Error).message}): ${err.trim().slice(-2000)}`));
      }
    });
  });
}

async function measureMode(mode: SdkMode, workDir: string, options: ColdStartOptions): Promise<ModeResult> {
  const outDir = join(workDir, mode);
  const entries: Array<[string, string]> = [
    [FLOOR, 'bench/floor-entry.ts'],
    ...FUNCTIONS.map((fn): [string, string] => [fn, `functions/${fn}.ts`]),
  ];
  const bundles: Bundle[] = [];
  for (const [name, entry] of entries) bundles.push(await bundleEntry(name, entry, outDir, mode));

  const samples = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
  // Round-robin, each round starting at a different bundle, so a slow spell of a shared machine
  // falls on all bundles alike rather than on whichever was measured then.
  for (let round = 0; round <= options.runs; round++) {
    for (let i = 0; i < bundles.length; i++) {
      const bundle = bundles[(round + i) % bundles.length] as Bundle;
      const ms = await timeImport(bundle.file, lambdaEnvironment(bundle.name as FunctionName), workDir);
      // Round 0 only warms the page cache and Node's compile cache paths.
      if (round > 0) samples.get(bundle.name)?.push(ms);
    }
    if (round > 0 && round % 5 === 0) options.progress(`  cold start (${mode}): ${round}/${options.runs} rounds`);
  }

  const floorBundle = bundles[0] as Bundle;
  const floorMedian = median(samples.get(FLOOR) ?? []);
  const result = (b: Bundle): BundleResult => {
    const s = samples.get(b.name) ?? [];
    const m = median(s);
    return {
      name: b.name,
      bytes: b.bytes,
      medianInitMs: m,
      samplesMs: s,
      initRatio: b.name === FLOOR ? null : ratio(m, floorMedian),
      largestInputs: b.largestInputs,
    };
  };
  const functions = bundles.slice(1).map(result);
  const ratios = functions.map((f) => f.initRatio).filter((r): r is number => r !== null);
  return {
    mode,
    floor: result(floorBundle),
    functions,
    initRatio: ratios.length === functions.length ? Math.max(...ratios) : null,
    maxBundleBytes: Math.max(...functions.map((f) => f.bytes)),
  };
}

export async function runColdStart(options: ColdStartOptions): Promise<ColdStartResult> {
  // Bundles go to a temporary folder, never into the repository. With the runtime's SDK left out of
  // the bundle, the bundle resolves it the way Lambda does from its own node_modules: here through
  // a link to the repository's.
  const workDir = await mkdtemp(join(tmpdir(), 'wechatpay-bench-'));
  try {
    await symlink(join(REPO_ROOT, 'node_modules'), join(workDir, 'node_modules'), 'dir');
    const modes = [STACK_SDK_MODE, ...options.modes.filter((m) => m !== STACK_SDK_MODE)];
    const results: ModeResult[] = [];
    for (const mode of modes) {
      options.progress(`part 1: bundling and cold-starting (${mode}, ${options.runs} runs each)`);
      results.push(await measureMode(mode, workDir, options));
    }
    return { stackMode: STACK_SDK_MODE, runs: options.runs, nodeVersion: process.version, modes: results };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
