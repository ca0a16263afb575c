import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

import QRCode from 'qrcode';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { launchBrowser, openPage, saveScreenshot, SCREENSHOT_DIR } from '#test/helpers/browser';
import { startTestStack, type HttpAnswer, type TestStack } from '#test/helpers/local-stack';
import { readQrCode } from '#test/helpers/qr-code-reader';
import { waitForAcceptance } from '#test/helpers/refund-e2e';
import { waitFor } from '#test/helpers/wait-for';

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

// A page's live view polls, and each step waits for the next poll: room for a loaded CI machine.
describe('the simulator’s pages', { timeout: 60_000 }, () => {
  let stack: TestStack;
  let seq = 0;

  beforeAll(async () => {
    // Time scale 1: a refund stays PROCESSING for WeChat's 60 s, so only the page's button ends it.
    stack = await startTestStack({ timeScale: 1 });
  });

  afterAll(async () => {
    await stack?.stop();
  });

  function outTradeNo(): string {
    seq += 1;
    return `BRW${Date.now()}${String(seq).padStart(3, '0')}`;
  }

  async function createOrder(tradeType: 'NATIVE' | 'APP', description: string, total = 1): Promise<HttpAnswer> {
    const no = outTradeNo();
    const created = await stack.api('POST', '/orders', {
      out_trade_no: no,
      description,
      amount: { total },
      trade_type: tradeType,
      scene_info: { payer_client_ip: '203.0.113.9' },
      ...(tradeType === 'NATIVE' ? { product_id: 'sku1' } : {}),
    });
    expect(created.status, created.text).toBe(201);
    return created;
  }

  function clientOf(created: HttpAnswer): Record<string, unknown> {
    return created.json.client as Record<string, unknown>;
  }

  /** The cashier page the order's answer points developers to, which must be the simulator's. */
  function cashierUrlOf(created: HttpAnswer): string {
    const no = String(created.json.out_trade_no);
    const expected = `${stack.simulatorUrl}/sandbox/cashier/${encodeURIComponent(no)}`;
    expect(created.json.sandbox_cashier_url).toBe(expected);
    return expected;
  }

  async function text(scope: Page | Locator, selector: string): Promise<string> {
    return ((await scope.locator(selector).first().textContent()) ?? '').trim();
  }

  async function orderStatus(no: string, query = ''): Promise<unknown> {
    return (await stack.api('GET', `/orders/${no}${query}`)).json.status;
  }

  it('shows a NATIVE order with a QR code of code_url that scans, pays it, and the merchant hears it', async () => {
    const created = await createOrder('NATIVE', 'Browser tea 一杯');
    const no = String(created.json.out_trade_no);
    const codeUrl = clientOf(created).code_url;
    expect(codeUrl).toMatch(/^weixin:\/\/wxpay\/bizpayurl\?pr=/);

    const { page, problems } = await openPage(browser);
    await page.goto(cashierUrlOf(created));
    expect(await text(page, '#amount')).toBe('¥0.01');
    expect(await text(page, '#description')).toBe('Browser tea 一杯');
    expect(await text(page, '#trade-type')).toBe('NATIVE');
    expect(await text(page, '#trade-state')).toBe('NOTPAY');
    const qr = await page.locator('#qr svg').boundingBox();
    expect(qr?.width).toBeGreaterThanOrEqual(200);

    // What the page really draws must scan to the order's own code_url.
    const unpaid = await saveScreenshot(page, 'cashier-native-unpaid');
    expect(readQrCode(unpaid)).toBe(codeUrl);

    await page.locator('button[data-action="pay"]').click();
    await expect.poll(() => text(page, '#result')).toContain('errCode 0');
    await expect.poll(() => text(page, '#trade-state'), { timeout: 10_000 }).toBe('SUCCESS');
    const acknowledged = page.locator('#notifications li[data-outcome="acknowledged"]');
    await acknowledged.first().waitFor({ timeout: 10_000 });
    // The merchant's own v2 reply to WeChat, as WeChat received it.
    await expect.poll(() => acknowledged.first().textContent()).toMatch(/<return_code>(<!\[CDATA\[)?SUCCESS/);
    expect(await page.locator('#notifications li:not([data-outcome="acknowledged"])').count()).toBe(0);
    await saveScreenshot(page, 'cashier-native-paid');

    expect(await orderStatus(no)).toBe('PAID');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an APP order’s cancel is errCode -2 and changes nothing; the order stays unpaid at WeChat and here', async () => {
    const created = await createOrder('APP', 'Browser cancel');
    const no = String(created.json.out_trade_no);
    const { page, problems } = await openPage(browser);
    await page.goto(cashierUrlOf(created));
    expect(await text(page, '#trade-type')).toBe('APP');

    await page.locator('button[data-action="cancel"]').click();
    await expect.poll(() => text(page, '#result')).toContain('errCode -2');
    await saveScreenshot(page, 'cashier-app-cancelled');
    expect(await text(page, '#trade-state')).toBe('NOTPAY');

    // ?sync=1 asks WeChat (the simulator) itself: still NOTPAY there, so still pending here.
    expect(await orderStatus(no, '?sync=1')).toBe('PENDING');
    const atWechat = await stack.simulator('GET', `/sandbox/orders/${no}`);
    const order = atWechat.json.order as { trade_state: string; notification: unknown };
    expect(order.trade_state).toBe('NOTPAY');
    // Nothing to tell the merchant: no notification was ever scheduled, let alone sent.
    expect(order.notification).toBeNull();
    expect(atWechat.json.notifications).toEqual([]);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an APP order’s fail is errCode -1: WeChat tells the merchant, who records the failure', async () => {
    const created = await createOrder('APP', 'Browser fail');
    const no = String(created.json.out_trade_no);
    const { page, problems } = await openPage(browser);
    await page.goto(cashierUrlOf(created));

    await page.locator('button[data-action="fail"]').click();
    await expect.poll(() => text(page, '#result')).toContain('errCode -1');
    await expect.poll(() => text(page, '#trade-state'), { timeout: 10_000 }).toBe('PAYERROR');
    await page.locator('#notifications li[data-outcome="acknowledged"]').first().waitFor({ timeout: 10_000 });
    await saveScreenshot(page, 'cashier-app-failed');

    await waitFor(
      () => orderStatus(no, '?sync=1'),
      (status) => status === 'FAILED',
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an action WeChat refuses reads "<action> refused: <code>", with no errCode', async () => {
    const created = await createOrder('APP', 'Browser refused cancel');
    const no = String(created.json.out_trade_no);
    const { page, problems } = await openPage(browser);
    // The page's timers stand still: it keeps showing the order payable after it is paid elsewhere.
    await page.clock.install();
    await page.goto(cashierUrlOf(created));
    const paid = await stack.simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBe(200);

    await page.locator('button[data-action="cancel"]').click();
    await expect.poll(() => text(page, '#result')).toMatch(/^Cancel refused: ORDERPAID\b/);
    expect(await text(page, '#result')).not.toContain('errCode');
    await saveScreenshot(page, 'cashier-app-cancel-refused');
    // The click's poll shows the paid order at once.
    await expect.poll(() => text(page, '#trade-state')).toBe('SUCCESS');
    expect(problems).toEqual([`HTTP 409 POST ${stack.simulatorUrl}/sandbox/orders/${no}/pay`]);
    await page.close();
  });

  it('a stale poll answering after a newer one changes nothing, and polls do not double up', async () => {
    const created = await createOrder('APP', 'Browser poll race');
    const { page, problems } = await openPage(browser);
    await page.clock.install();
    // The timer's poll is held: answered with the state of its time (NOTPAY), but only after the
    // click's own poll has shown the payment.
    let liveRequests = 0;
    let staleFetched!: () => void;
    const fetched = new Promise<void>((resolve) => (staleFetched = resolve));
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    await page.route('**/live', async (route) => {
      liveRequests += 1;
      if (liveRequests !== 1) return route.continue();
      const stale = await route.fetch();
      staleFetched();
      await released;
      return route.fulfill({ response: stale });
    });
    await page.goto(cashierUrlOf(created));
    await page.clock.runFor(1000);
    await fetched;

    await page.locator('button[data-action="pay"]').click();
    await expect.poll(() => text(page, '#trade-state')).toBe('SUCCESS');
    const staleAnswer = page.waitForResponse((response) => response.url().endsWith('/live'));
    release();
    await staleAnswer;
    // A round trip from the page: its handling of the stale answer is done by then.
    await page.evaluate(() => fetch('/health').then((r) => r.text()));
    expect(await text(page, '#trade-state')).toBe('SUCCESS');

    // One timer pending (the click's poll's), not two: a second runs one poll only.
    expect(liveRequests).toBe(2);
    await page.clock.runFor(1000);
    await expect.poll(() => liveRequests).toBe(3);
    await page.clock.runFor(100);
    await page.evaluate(() => fetch('/health').then((r) => r.text()));
    expect(liveRequests).toBe(3);
    expect(problems).toEqual([]);
    await page.close();
  });

  /** A NATIVE order paid through the simulator's control API, PAID here. */
  async function paidOrder(description: string, total: number): Promise<HttpAnswer> {
    const created = await createOrder('NATIVE', description, total);
    const no = String(created.json.out_trade_no);
    const paid = await stack.simulator('POST', `/sandbox/orders/${no}/pay`, { result: 'SUCCESS' });
    expect(paid.status, paid.text).toBe(200);
    await waitFor(
      () => orderStatus(no),
      (status) => status === 'PAID',
    );
    return created;
  }

  async function createRefund(no: string, refund: number): Promise<string> {
    const outRefundNo = `R${no}`;
    const res = await stack.api('POST', `/orders/${no}/refunds`, { out_refund_no: outRefundNo, amount: { refund } });
    expect(res.status, res.text).toBeLessThan(300);
    await waitForAcceptance(stack, no, outRefundNo);
    return outRefundNo;
  }

  it('a refund made through the API shows on the paid order’s cashier, and its success button ends it', async () => {
    const created = await paidOrder('Browser refund', 300);
    const no = String(created.json.out_trade_no);
    const outRefundNo = await createRefund(no, 120);

    const { page, problems } = await openPage(browser);
    await page.goto(cashierUrlOf(created));
    const refund = page.locator(`#refunds li[data-out-refund-no="${outRefundNo}"]`);
    await refund.waitFor({ timeout: 10_000 });
    expect(await refund.textContent()).toContain('PROCESSING');
    await saveScreenshot(page, 'cashier-refund-processing');

    await refund.locator('button[data-action="refund-success"]').click();
    await waitFor(
      async () => (await stack.api('GET', `/orders/${no}/refunds/${outRefundNo}`)).json.status,
      (status) => status === 'SUCCESS',
    );
    await expect.poll(() => refund.textContent(), { timeout: 10_000 }).toContain('SUCCESS');
    await saveScreenshot(page, 'cashier-refund-success');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('/sandbox lists the orders and refunds with their states, each order linking to its cashier', async () => {
    const unpaid = await createOrder('NATIVE', 'Browser list unpaid', 5);
    const paid = await paidOrder('Browser list paid', 200);
    const paidNo = String(paid.json.out_trade_no);
    const outRefundNo = await createRefund(paidNo, 50);

    const { page, problems } = await openPage(browser);
    await page.goto(`${stack.simulatorUrl}/sandbox`);
    await saveScreenshot(page, 'sandbox-orders');

    const unpaidRow = page.locator(`#orders tr[data-out-trade-no="${String(unpaid.json.out_trade_no)}"]`);
    expect(await text(unpaidRow, '.state')).toBe('NOTPAY');
    expect(await unpaidRow.textContent()).toContain('¥0.05');
    const paidRow = page.locator(`#orders tr[data-out-trade-no="${paidNo}"]`);
    // Paid, then partly refunded: WeChat's query answers REFUND, and so does the list.
    expect(await text(paidRow, '.state')).toBe('REFUND');
    expect(await paidRow.textContent()).toContain('NATIVE');
    expect(await page.locator(`#refunds tr[data-out-refund-no="${outRefundNo}"]`).textContent()).toContain(
      'PROCESSING',
    );

    await paidRow.locator('a.cashier').click();
    await page.waitForURL(cashierUrlOf(paid));
    expect(await text(page, '#description')).toBe('Browser list paid');
    expect(problems).toEqual([]);
    await page.close();
  });
});
