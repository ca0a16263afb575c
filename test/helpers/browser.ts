import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { type Browser, chromium, type Page } from 'playwright-core';

import { findChromium } from './chromium-path';

/** Where browser tests keep their screenshots (git-ignored; CI keeps them as the run's artefacts). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../../test-artifacts/screenshots/', import.meta.url));

/**
 * A quiet, self-contained browser: no sandbox (CI containers and root cannot set up Chromium's),
 * no GPU, and nothing that phones home (QUIC, background networking, component updates, sync), so
 * the only traffic is the test's own, on loopback.
 */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Launches the system Chromium (see findChromium) headless through playwright-core. Playwright gives
 * every launch a fresh `--user-data-dir` in a temporary directory and removes it on close, so no
 * profile is shared between runs or test files. Start one per test file and close it in afterAll.
 */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = findChromium();
  try {
    return await chromium.launch({ executablePath, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  } catch (err) {
    throw new Error(`could not start Chromium (${executablePath}): ${(err as Error).message}`, { cause: err });
  }
}

export interface OpenedPage {
  page: Page;
  /**
   * Script errors, console errors (a Content-Security-Policy violation is one) and answers of 400 or
   * more the page received, with their URL: a page that works leaves this empty. The browser's own
   * /favicon.ico request is left out: it is the browser's habit, not the page's.
   */
  problems: string[];
}

/** A new page in a context of its own (no cookies or storage shared with other tests). */
export async function openPage(browser: Browser): Promise<OpenedPage> {
  const context = await browser.newContext({ viewport: { width: 800, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    // A failed load is reported below with its URL, which this message lacks.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource'))
      problems.push(`console error: ${msg.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400 && new URL(response.url()).pathname !== '/favicon.ico')
      problems.push(`HTTP ${response.status()} ${response.request().method()} ${response.url()}`);
  });
  page.on('requestfailed', (request) => {
    problems.push(`request failed: ${request.method()} ${request.url()} (${request.failure()?.errorText ?? '?'})`);
  });
  page.on('close', () => void context.close().catch(() => undefined));
  return { page, problems };
}

/**
 * Screenshots the whole page to test-artifacts/screenshots/<name>.png, replacing an earlier one of
 * that name, and returns the PNG bytes (so a test can read what was really drawn).
 */
export async function saveScreenshot(page: Page, name: string): Promise<Buffer> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`screenshot name must be kebab-case: ${name}`);
  const png = await page.screenshot({ fullPage: true, type: 'png', animations: 'disabled' });
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  await writeFile(join(SCREENSHOT_DIR, `${name}.png`), png);
  return png;
}
