import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { build, type BuildOptions } from 'esbuild';

/**
 * The esbuild options the CDK stack bundles every Lambda with, in one place. They mirror
 * infra/cdk/payment-function.ts (PaymentFunction's `bundling`) plus what NodejsFunction adds by
 * itself for that configuration (aws-cdk-lib/aws-lambda-nodejs Bundling):
 *   --platform=node --target=node22 --format=esm --minify --sourcemap --sources-content=false
 *   --main-fields=module,main --banner:js=<require shim> --log-level=warning
 *   --external:@aws-sdk/* --external:@smithy/*  (NodejsFunction's default for Node 18+ runtimes,
 *   with the `@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages` flag that cdk.json turns on:
 *   the Lambda runtime's own SDK is used, not a bundled copy)
 * PaymentFunction does not export its bundling options; if it ever does, import them here instead.
 */
const REQUIRE_SHIM =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/** As deployed (SDK from the runtime), or with the SDK bundled in (`bundleAwsSDK: true`). */
export type SdkMode = 'runtime-sdk' | 'bundled-sdk';

export const STACK_SDK_MODE: SdkMode = 'runtime-sdk';

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

export function stackBundleOptions(sdk: SdkMode): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_SHIM },
    external: sdk === 'runtime-sdk' ? ['@aws-sdk/*', '@smithy/*'] : [],
    logLevel: 'warning',
    absWorkingDir: REPO_ROOT,
  };
}

export interface Bundle {
  name: string;
  /** The .mjs file, as NodejsFunction names it (index.mjs in its own folder). */
  file: string;
  /** Minified bytes of index.mjs (the source map is not counted: it is not loaded at start). */
  bytes: number;
  /** Bytes per top-level package or source folder, largest first: what to look at when a bundle is big. */
  largestInputs: Array<{ input: string; bytes: number }>;
}

/** Groups esbuild's per-file output bytes by npm package (or by first two path segments for our own code). */
export function bytesByPackage(inputs: Record<string, { bytesInOutput: number }>): Array<{ input: string; bytes: number }> {
  const totals = new Map<string, number>();
  for (const [file, info] of Object.entries(inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
    const key = pkg ?? file.split('/').slice(0, 2).join('/');
    totals.set(key, (totals.get(key) ?? 0) + info.bytesInOutput);
  }
  return [...totals].map(([input, bytes]) => ({ input, bytes })).sort((a, b) => b.bytes - a.bytes);
}

/** Bundles `entry` (relative to the repo) to `<outDir>/<name>/index.mjs` the way the stack does. */
export async function bundleEntry(name: string, entry: string, outDir: string, sdk: SdkMode): Promise<Bundle> {
  const dir = join(outDir, name);
  await mkdir(dir, { recursive: true });
  const file = join(dir, 'index.mjs');
  const result = await build({ ...stackBundleOptions(sdk), entryPoints: [entry], outfile: file, metafile: true });
  const output = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith('.mjs'))?.[1];
  return {
    name,
    file,
    bytes: (await stat(file)).size,
    largestInputs: output ? bytesByPackage(output.inputs).slice(0, 5) : [],
  };
}
