import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { openApiDocument } from '#shared/app/openapi-document';

/** Beside the template in the cloud assembly (`cdk.out/openapi.json`), so a deploy can publish it. */
export const OPENAPI_FILE_NAME = 'openapi.json';

/** The document as its file holds it: two-space JSON, one trailing newline. */
export function openApiJson(options: { serverUrl?: string } = {}): string {
  return `${JSON.stringify(openApiDocument(options), null, 2)}\n`;
}

/** Writes the document into `outdir` (made if missing); answers the file's path. */
export function writeOpenApiFile(outdir: string): string {
  mkdirSync(outdir, { recursive: true });
  const path = join(outdir, OPENAPI_FILE_NAME);
  writeFileSync(path, openApiJson());
  return path;
}
