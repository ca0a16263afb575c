import { mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type BundlingOptions, LogLevel, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { build, type BuildOptions, type Format, type LogLevel as EsbuildLogLevel } from 'esbuild';

import { PAYMENT_BUNDLING } from '#infra/cdk/payment-function';

/** The AWS SDK left to the Lambda runtime (NodejsFunction's default), or bundled in (`bundleAwsSDK: true`). */
export type SdkMode = 'runtime-sdk' | 'bundled-sdk';

/** What the stack deploys, read from its bundling options so the two cannot disagree. */
export const STACK_SDK_MODE: SdkMode = sdkModeOf(PAYMENT_BUNDLING);

// externalModules would also decide it, but stackBundleOptions refuses options it does not translate.
export function sdkModeOf(bundling: Pick<BundlingOptions, 'bundleAwsSDK'>): SdkMode {
  return bundling.bundleAwsSDK === true ? 'bundled-sdk' : 'runtime-sdk';
}

export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

const FORMATS: Record<OutputFormat, Format> = { [OutputFormat.CJS]: 'cjs', [OutputFormat.ESM]: 'esm' };
const LOG_LEVELS: Record<LogLevel, EsbuildLogLevel> = {
  [LogLevel.VERBOSE]: 'verbose',
  [LogLevel.DEBUG]: 'debug',
  [LogLevel.INFO]: 'info',
  [LogLevel.WARNING]: 'warning',
  [LogLevel.ERROR]: 'error',
  [LogLevel.SILENT]: 'silent',
};

/**
 * The esbuild options the CDK stack bundles every Lambda with: PaymentFunction's own bundling
 * options (infra/cdk/payment-function.ts), in esbuild's names, plus what NodejsFunction adds by
 * itself for that configuration (aws-cdk-lib/aws-lambda-nodejs Bundling): --bundle
 * --platform=node, and in 'runtime-sdk' mode --external:@aws-sdk/* --external:@smithy/* (its
 * default for Node 18+ runtimes without bundleAwsSDK, with the
 * `@aws-cdk/aws-lambda-nodejs:sdkV3ExcludeSmithyPackages` flag that cdk.json turns on). The mode is
 * a parameter so the mode the stack does not deploy stays measurable beside it.
 */
export function stackBundleOptions(sdk: SdkMode): BuildOptions {
  const {
    forceDockerBundling: _localAnyway,
    format,
    target,
    mainFields,
    banner,
    minify,
    sourceMap,
    sourcesContent,
    logLevel,
    // Translated by `sdk` (STACK_SDK_MODE reads them), so the other mode can be bundled too.
    bundleAwsSDK: _bundleAwsSdk,
    ...untranslated
  } = PAYMENT_BUNDLING;
  // An option added to the stack without a translation here must fail the build, or the bench
  // would quietly measure something other than what is deployed.
  untranslated satisfies Record<string, never>;
  return {
    bundle: true,
    platform: 'node',
    target,
    format: FORMATS[format],
    minify,
    sourcemap: sourceMap,
    sourcesContent,
    mainFields: [...mainFields],
    banner: { js: banner },
    external: sdk === 'runtime-sdk' ? ['@aws-sdk/*', '@smithy/*'] : [],
    logLevel: LOG_LEVELS[logLevel],
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
export function bytesByPackage(
  inputs: Record<string, { bytesInOutput: number }>,
): Array<{ input: string; bytes: number }> {
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
