import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import QRCode from 'qrcode';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, openPage, saveScreenshot, SCREENSHOT_DIR } from '#test/helpers/browser';
import { readQrCode } from '#test/helpers/qr-code-reader';

/**
 * The simulator's pages in a real browser (Debian's Chromium through playwright-core): what a
 * developer sees, scans and presses. Screenshots of every page go to test-artifacts/screenshots/.
 */

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
});

describe('the browser harness', () => {
  let server: Server;
  let baseUrl: string;
  const codeUrl = 'weixin://wxpay/bizpayurl?pr=HarnessCheck42';

  beforeAll(async () => {
    const svg = await QRCode.toString(codeUrl, { type: 'svg', margin: 4, width: 240 });
    const pages: Record<string, string> = {
      '/qr': `<!doctype html><html><body><h1>A code</h1><div style="width:240px">${svg}</div></body></html>`,
      '/blank': '<!doctype html><html><body><h1>No code here</h1></body></html>',
    };
    server = createServer((req, res) => {
      const page = pages[req.url ?? ''];
      res.writeHead(page === undefined ? 404 : 200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page ?? 'not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
  });

  it('reads a QR code from the pixels of a screenshot, and the screenshot is kept', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(`${baseUrl}/qr`);
    const png = await saveScreenshot(page, 'harness-qr');
    expect(readQrCode(png)).toBe(codeUrl);
    expect(await readFile(join(SCREENSHOT_DIR, 'harness-qr.png'))).toEqual(png);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('reads nothing from a page without a QR code', async () => {
    const { page } = await openPage(browser);
    await page.goto(`${baseUrl}/blank`);
    expect(readQrCode(await saveScreenshot(page, 'harness-blank'))).toBeUndefined();
    await page.close();
  });

  it('reports a page’s script error, a blocked inline script and a failed load with its URL', async () => {
    const { page, problems } = await openPage(browser);
    await page.setContent('<script>throw new Error("boom")</script>');
    await page.setContent(
      '<meta http-equiv="Content-Security-Policy" content="script-src \'none\'"><script>1</script>',
    );
    await page.goto(`${baseUrl}/missing`);
    await expect.poll(() => problems.length).toBeGreaterThanOrEqual(3);
    expect(problems.join('\n')).toContain('boom');
    expect(problems.join('\n')).toContain('Content Security Policy');
    expect(problems.join('\n')).toContain(`HTTP 404 GET ${baseUrl}/missing`);
    await page.close();
  });
});
