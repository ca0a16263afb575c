import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/**
 * The names a system Chromium is installed under: Debian's package is `chromium`, Ubuntu's (and some
 * older distributions') `chromium-browser`. We drive the distribution's browser rather than
 * Playwright's download so CI installs it with apt like any other tool (.ci/run).
 */
const CHROMIUM_NAMES = ['chromium', 'chromium-browser'];

export class ChromiumNotFoundError extends Error {
  override readonly name = 'ChromiumNotFoundError';
}

function isExecutableFile(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The Chromium executable the browser tests drive: `CHROMIUM_PATH` when set (it must be an executable
 * file: a wrong override is an error, never silently replaced by another browser), else the first
 * `chromium` or `chromium-browser` on the PATH.
 */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const override = env.CHROMIUM_PATH;
  if (override !== undefined && override !== '') {
    if (!isAbsolute(override) || !isExecutableFile(override)) {
      throw new ChromiumNotFoundError(
        `CHROMIUM_PATH=${override} is not an executable file (give the absolute path of a Chromium or Chrome binary)`,
      );
    }
    return override;
  }
  const dirs = (env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
  for (const name of CHROMIUM_NAMES) {
    for (const dir of dirs) {
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  throw new ChromiumNotFoundError(
    `no Chromium on the PATH (looked for ${CHROMIUM_NAMES.join(', ')}): install Debian's package ` +
      '(`sudo apt-get install chromium`; .ci/run does it) or set CHROMIUM_PATH to a Chromium executable',
  );
}
