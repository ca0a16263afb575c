import { spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ServiceName } from '#infra/cdk/payment-function';
import { type Bundle, bundleEntry, REPO_ROOT, type SdkMode, STACK_SDK_MODE } from './bundle';
import {
  type DeployedEnvironment,
  deployedEnvironments,
  lambdaRuntimeVariables,
  SERVICES,
} from './deployed-environment';
import { median, ratio } from './stats';

/**
 * Part 1: each Lambda bundled as the stack bundles it, its minified size, and how long a fresh Node
 * process takes to import it (module load plus top-level initialisation: settings, clients,
 * middleware) with the environment the stack gives it, against a floor bundle that only builds the
 * DynamoDB and SQS clients.
 */

/** Every function the stack deploys. */
export const FUNCTIONS: readonly ServiceName[] = SERVICES;
export type FunctionName = ServiceName;

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
  /** median ÷ the fastest floor's median (see ColdStartResult.floorMs); null for a floor. */
  initRatio: number | null;
  largestInputs: Bundle['largestInputs'];
}

export interface ModeResult {
  mode: SdkMode;
  /** The floor bundled in this mode (its SDK, when bundled, minified like ours). */
  floor: BundleResult;
  functions: BundleResult[];
  /** The largest of the functions' init ratios: the worst deployed function ÷ the fastest floor. */
  initRatio: number | null;
  maxBundleBytes: number;
}

export interface ColdStartResult {
  /** The mode the CDK stack deploys; the headline numbers come from it. */
  stackMode: SdkMode;
  runs: number;
  nodeVersion: string;
  modes: ModeResult[];
  /** The fastest floor's median over the modes measured, which every ratio divides by. */
  floorMs: number;
}

/**
 * The floor's environment: Lambda's own variables only. No NODE_OPTIONS (source maps), no settings:
 * the fastest a Lambda holding these clients can start.
 */
function floorEnvironment(): Record<string, string> {
  return lambdaRuntimeVariables(FLOOR, 512);
}

function functionEnvironment(name: ServiceName, deployed: DeployedEnvironment): Record<string, string> {
  return { ...lambdaRuntimeVariables(name, deployed.memoryMb), ...deployed.variables };
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

interface ModeSamples {
  mode: SdkMode;
  bundles: Bundle[];
  samples: Map<string, number[]>;
}

async function measureMode(
  mode: SdkMode,
  workDir: string,
  environments: Record<ServiceName, DeployedEnvironment>,
  options: ColdStartOptions,
): Promise<ModeSamples> {
  const outDir = join(workDir, mode);
  const entries: Array<[string, string]> = [
    [FLOOR, 'bench/floor-entry.ts'],
    ...FUNCTIONS.map((fn): [string, string] => [fn, `functions/${fn}.ts`]),
  ];
  const bundles: Bundle[] = [];
  for (const [name, entry] of entries) bundles.push(await bundleEntry(name, entry, outDir, mode));
  const environmentOf = (name: string): Record<string, string> =>
    name === FLOOR ? floorEnvironment() : functionEnvironment(name as ServiceName, environments[name as ServiceName]);

  const samples = new Map<string, number[]>(bundles.map((b) => [b.name, []]));
  // Round-robin, each round starting at a different bundle, so a slow spell of a shared machine
  // falls on all bundles alike rather than on whichever was measured then.
  for (let round = 0; round <= options.runs; round++) {
    for (let i = 0; i < bundles.length; i++) {
      const bundle = bundles[(round + i) % bundles.length] as Bundle;
      const ms = await timeImport(bundle.file, environmentOf(bundle.name), workDir);
      // Round 0 only warms the page cache and Node's compile cache paths.
      if (round > 0) samples.get(bundle.name)?.push(ms);
    }
    if (round > 0 && round % 5 === 0) options.progress(`  cold start (${mode}): ${round}/${options.runs} rounds`);
  }
  return { mode, bundles, samples };
}

function modeResult({ mode, bundles, samples }: ModeSamples, floorMs: number): ModeResult {
  const result = (b: Bundle): BundleResult => {
    const s = samples.get(b.name) ?? [];
    const m = median(s);
    return {
      name: b.name,
      bytes: b.bytes,
      medianInitMs: m,
      samplesMs: s,
      initRatio: b.name === FLOOR ? null : ratio(m, floorMs),
      largestInputs: b.largestInputs,
    };
  };
  const functions = bundles.slice(1).map(result);
  const ratios = functions.map((f) => f.initRatio).filter((r): r is number => r !== null);
  return {
    mode,
    floor: result(bundles[0] as Bundle),
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
    options.progress("part 1: synthesizing the stack for each function's environment");
    const environments = deployedEnvironments();
    // The fastest floor is the one with the SDK bundled and minified: measured whatever the stack's mode.
    const modes = [...new Set<SdkMode>([STACK_SDK_MODE, 'bundled-sdk', ...options.modes])];
    const measured: ModeSamples[] = [];
    for (const mode of modes) {
      options.progress(`part 1: bundling and cold-starting (${mode}, ${options.runs} runs each)`);
      measured.push(await measureMode(mode, workDir, environments, options));
    }
    const floorMs = Math.min(...measured.map((m) => median(m.samples.get(FLOOR) ?? [])));
    return {
      stackMode: STACK_SDK_MODE,
      runs: options.runs,
      nodeVersion: process.version,
      modes: measured.map((m) => modeResult(m, floorMs)),
      floorMs,
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}
