import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The contents of a generated secret file: read when it exists, else created once. Two processes
 * starting together (the local stack and a standalone simulator on the same data directory) end up
 * with the same secret: the file is written under a temporary name and hard-linked into place, which
 * fails for the second writer, who then reads the first one's. Owner-only permissions.
 */
export function readOrCreateSecret(path: string, create: () => string): string {
  const existing = readIfPresent(path);
  if (existing !== undefined) return existing;
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const content = create();
  writeFileSync(temporary, content, { mode: 0o600 });
  try {
    linkSync(temporary, path);
    return content;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return readFileSync(path, 'utf8');
  } finally {
    unlinkSync(temporary);
  }
}

function readIfPresent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
