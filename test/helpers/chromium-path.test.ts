import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { ChromiumNotFoundError, findChromium } from './chromium-path';

let root: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'chromium-path-'));
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A file named `name` in the folder `dir` under the test's root, executable unless said otherwise. */
function file(dir: string, name: string, mode = 0o755): string {
  mkdirSync(join(root, dir), { recursive: true });
  const path = join(root, dir, name);
  writeFileSync(path, '#!/bin/sh\n', { mode });
  return path;
}

const pathOf = (...dirs: string[]) => dirs.map((d) => join(root, d)).join(delimiter);

describe('findChromium', () => {
  it('takes the first chromium on the PATH, in PATH order', () => {
    file('a', 'other-tool');
    const second = file('b', 'chromium');
    file('c', 'chromium');
    expect(findChromium({ PATH: pathOf('a', 'b', 'c') })).toBe(second);
  });

  it('prefers Debian’s chromium to a chromium-browser earlier on the PATH, and takes chromium-browser alone', () => {
    const ubuntu = file('a', 'chromium-browser');
    const debian = file('b', 'chromium');
    expect(findChromium({ PATH: pathOf('a', 'b') })).toBe(debian);
    expect(findChromium({ PATH: pathOf('a') })).toBe(ubuntu);
  });

  it('skips a chromium that is not executable, or is a folder', () => {
    file('a', 'chromium', 0o644);
    mkdirSync(join(root, 'b', 'chromium'), { recursive: true });
    const real = file('c', 'chromium');
    expect(findChromium({ PATH: pathOf('a', 'b', 'c') })).toBe(real);
  });

  it('CHROMIUM_PATH wins over the PATH', () => {
    file('a', 'chromium');
    const chosen = file('elsewhere', 'my-chrome');
    expect(findChromium({ PATH: pathOf('a'), CHROMIUM_PATH: chosen })).toBe(chosen);
  });

  it('a CHROMIUM_PATH that is not an executable file is an error naming it, not a fallback to the PATH', () => {
    file('a', 'chromium');
    const missing = join(root, 'nowhere', 'chrome');
    const notExecutable = file('b', 'chrome', 0o644);
    for (const bad of [missing, notExecutable, 'chromium']) {
      expect(() => findChromium({ PATH: pathOf('a'), CHROMIUM_PATH: bad })).toThrow(ChromiumNotFoundError);
      expect(() => findChromium({ PATH: pathOf('a'), CHROMIUM_PATH: bad })).toThrow(`CHROMIUM_PATH=${bad}`);
    }
  });

  it('without any, says how to install it', () => {
    file('a', 'chromium', 0o644);
    expect(() => findChromium({ PATH: pathOf('a') })).toThrow(/no Chromium on the PATH.*apt-get install chromium/);
    expect(() => findChromium({})).toThrow(ChromiumNotFoundError);
  });
});
