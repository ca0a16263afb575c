import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';

import { OPENAPI_FILE_NAME, openApiJson, writeOpenApiFile } from '#infra/openapi/openapi-file';
import { openApiDocument } from '#shared/app/openapi-document';

/**
 * The OpenAPI document at build time: `npm run openapi` prints it, `cdk synth` writes it beside the
 * template, and no function's bundle carries its generator (zod-openapi is a devDependency).
 */

const run = promisify(execFile);
const TSX = join('node_modules', '.bin', 'tsx');
const scratch: string[] = [];

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'openapi-'));
  scratch.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('npm run openapi (infra/openapi/print-openapi.ts)', () => {
  it('prints the document', async () => {
    const { stdout } = await run(TSX, ['infra/openapi/print-openapi.ts']);
    expect(JSON.parse(stdout)).toEqual(openApiDocument());
  });

  it('names the server given with --server-url', async () => {
    const { stdout } = await run(TSX, ['infra/openapi/print-openapi.ts', '--server-url', 'https://api.example.com/']);
    expect(JSON.parse(stdout)).toEqual(openApiDocument({ serverUrl: 'https://api.example.com/' }));
  });

  it.each([[['--server-url']], [['--server-url', 'ftp://x']], [['--other', 'https://x']]])(
    'exits 2 with the usage for %j',
    async (args) => {
      const failed = await run(TSX, ['infra/openapi/print-openapi.ts', ...args]).then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(failed?.code).toBe(2);
      expect(failed?.stdout).toBe('');
      expect(failed?.stderr).toMatch(/usage: npm run openapi/);
    },
  );
});

describe('writeOpenApiFile', () => {
  it('writes the document as openapi.json into the directory, making it when missing', () => {
    const outdir = join(scratchDir(), 'cdk.out');
    const path = writeOpenApiFile(outdir);
    expect(path).toBe(join(outdir, OPENAPI_FILE_NAME));
    expect(readFileSync(path, 'utf8')).toBe(openApiJson());
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(openApiDocument());
  });
});

describe('cdk synth (infra/app.ts)', () => {
  it('writes openapi.json beside the template in the cloud assembly', async () => {
    const outdir = scratchDir();
    // The assets are not bundled (the CDK's own switch): this is about the files synth writes.
    await run(TSX, ['infra/app.ts'], {
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }) },
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(readdirSync(outdir)).toEqual(expect.arrayContaining(['WechatPayStack.template.json', OPENAPI_FILE_NAME]));
    expect(JSON.parse(readFileSync(join(outdir, OPENAPI_FILE_NAME), 'utf8'))).toEqual(openApiDocument());
  }, 180_000);
});

describe("the functions' bundles", () => {
  it('hold neither the document nor its generator', async () => {
    const entryPoints = readdirSync('functions')
      .filter((name) => name.endsWith('.ts'))
      .map((name) => join('functions', name));
    expect(entryPoints.length).toBeGreaterThan(0);
    const { metafile } = await build({
      entryPoints,
      bundle: true,
      platform: 'node',
      format: 'esm',
      // The packages stay imports: what matters is whether anything imports the generator at all.
      packages: 'external',
      write: false,
      metafile: true,
      outdir: scratchDir(),
      logLevel: 'silent',
    });
    const inputs = Object.keys(metafile.inputs);
    expect(inputs).toContain('shared/app/routes.ts');
    expect(inputs.filter((path) => /openapi-document/.test(path))).toEqual([]);
    const imported = Object.values(metafile.inputs).flatMap((input) => input.imports.map((i) => i.path));
    expect(imported.filter((path) => path.startsWith('zod-openapi'))).toEqual([]);
  });
});
