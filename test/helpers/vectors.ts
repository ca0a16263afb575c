import { readFileSync } from 'node:fs';

/**
 * The published WeChat Pay test vectors, kept in the repository (test/helpers/vectors, each entry
 * with its source; see the README there) so a clone anywhere can check them.
 */
const VECTORS_DIR = new URL('./vectors/', import.meta.url);

export function loadVectors<T = unknown>(file: string): T {
  return JSON.parse(readFileSync(new URL(file, VECTORS_DIR), 'utf8')) as T;
}
