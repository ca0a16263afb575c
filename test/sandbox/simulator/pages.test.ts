import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '#sandbox/simulator/clock';
import type { Clock } from '#sandbox/simulator/clock';
import { startSimulator } from '#sandbox/simulator/server';
import type { RunningSimulator } from '#sandbox/simulator/server';
import { httpsCall, refundParams, secapiRefund } from './refund-support';
import {
  FAIL_REPLY,
  MERCHANT,
  Receiver,
  SUCCESS_REPLY,
  callV2,
  createOrder,
  debugOrder,
  newOutTradeNo,
  pay,
  queryParams,
  waitFor,
} from './support';

// The first notification retry (15 s) comes after 150 ms, so a refused attempt is followed by another soon.
const TIME_SCALE = 100;
let sim: RunningSimulator;
let receiver: Receiver;
/** Moved forward by a test that needs one order created after another: real time, plus this. */
let clockAheadMs = 0;
const clock: Clock = { ...systemClock, now: () => Date.now() + clockAheadMs };

beforeAll(async () => {
  receiver = await Receiver.start();
  sim = await startSimulator({ merchant: MERCHANT, timeScale: TIME_SCALE, notifyReplyTimeoutMs: 1000, clock });
});
afterEach(() => {
  receiver.respond = () => ({ body: SUCCESS_REPLY });
});
afterAll(async () => {
  await sim.close();
  await receiver.close();
});

interface PageAnswer {
  status: number;
  headers: Headers;
  text: string;
}

async function get(path: string): Promise<PageAnswer> {
  const res = await fetch(`${sim.url}${path}`);
  return { status: res.status, headers: res.headers, text: await res.text() };
}

const cashierPath = (outTradeNo: string) => `/sandbox/cashier/${encodeURIComponent(outTradeNo)}`;

interface Live {
  trade_state: string;
  payable: boolean;
  paid: boolean;
  notification_status: string;
  notifications: { html: string; digest: string; count: number };
  refunds: { html: string; digest: string; count: number };
}

async function live(outTradeNo: string): Promise<Live> {
  const answer = await get(`${cashierPath(outTradeNo)}/live`);
  expect(answer.status).toBe(200);
  return JSON.parse(answer.text) as Live;
}

/** The text content of the element with this id (its markup as sent, entities left as they are). */
function elementById(page: string, id: string): string | undefined {
  const match = new RegExp(`<(\\w+)[^>]*\\bid="${id}"[^>]*>([\\s\\S]*?)</\\1>`).exec(page);
  return match?.[2]?.trim();
}

describe('GET /sandbox/cashier/{out_trade_no}', () => {
  it('shows a NATIVE order as a phone cashier: amount, description, type, state, an SVG QR code', async () => {
    const { outTradeNo } = await createOrder(sim.url, {
      trade_type: 'NATIVE',
      total_fee: '1',
      body: 'Green tea',
      notify_url: receiver.url,
    });
    const page = await get(cashierPath(outTradeNo));
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(elementById(page.text, 'amount')).toBe('¥0.01');
    expect(elementById(page.text, 'description')).toBe('Green tea');
    expect(elementById(page.text, 'trade-type')).toBe('NATIVE');
    expect(elementById(page.text, 'trade-state')).toBe('NOTPAY');
    for (const action of ['pay', 'fail', 'cancel'])
      expect(page.text).toMatch(new RegExp(`<button[^>]*data-action="${action}"(?![^>]*disabled)[^>]*>`));
    expect(page.text).toMatch(/<p id="result"[^>]*><\/p>/);
    expect(page.text).toMatch(/<ol id="notifications"[^>]*>\s*<\/ol>/);
    expect(page.text).toMatch(/<ul id="refunds"[^>]*>/);

    // An inline SVG, wide enough to scan, on a white background; the browser test reads its pixels.
    const qr = /<div id="qr"[^>]*>\s*(<svg[\s\S]*?<\/svg>)/.exec(page.text)?.[1] ?? '';
    expect(qr).not.toBe('');
    expect(Number(/<svg[^>]*\bwidth="(\d+)"/.exec(qr)?.[1])).toBeGreaterThanOrEqual(200);
    expect(qr).toMatch(/fill="#ffffff"/);
  });

  it('shows no QR code for an APP order, and amounts in yuan from integer fen', async () => {
    const { outTradeNo } = await createOrder(sim.url, { trade_type: 'APP', total_fee: '123456' });
    const page = await get(cashierPath(outTradeNo));
    expect(elementById(page.text, 'amount')).toBe('¥1234.56');
    expect(elementById(page.text, 'trade-type')).toBe('APP');
    expect(page.text).not.toContain('id="qr"');
    expect(page.text).not.toContain('<svg');
  });

  it("shows the merchant's text as text: a description holding a script tag is escaped", async () => {
    const { outTradeNo } = await createOrder(sim.url, {
      body: `<script>alert("x")</script> & 'tea'`,
      attach: 'a',
    });
    const page = await get(cashierPath(outTradeNo));
    expect(elementById(page.text, 'description')).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;tea&#39;',
    );
    expect(page.text).not.toContain('<script>alert');
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  });

  it('sends a Content-Security-Policy that lets through only its own nonced style and script', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const first = await get(cashierPath(outTradeNo));
    const csp = first.headers.get('content-security-policy') ?? '';
    const nonce = /script-src 'nonce-([A-Za-z0-9+/=]+)'/.exec(csp)?.[1];
    expect(nonce).toBeDefined();
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain(`style-src 'nonce-${nonce}'`);
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const scripts = [...first.text.matchAll(/<script([^>]*)>/g)].map((m) => m[1]);
    expect(scripts).toEqual([` nonce="${nonce}"`]);
    expect([...first.text.matchAll(/<style([^>]*)>/g)].map((m) => m[1])).toEqual([` nonce="${nonce}"`]);
    expect(first.text).not.toMatch(/\son[a-z]+=/i); // no inline event handler, which the CSP would block
    expect(first.headers.get('x-content-type-options')).toBe('nosniff');
    // A fresh nonce for every page.
    const second = await get(cashierPath(outTradeNo));
    expect(second.headers.get('content-security-policy')).not.toBe(csp);
  });

  it('answers an unknown order with a 404 page naming it, escaped', async () => {
    const page = await get(cashierPath('<b>nope</b>'));
    expect(page.status).toBe(404);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.text).toContain('No such order');
    expect(page.text).toContain('&lt;b&gt;nope&lt;/b&gt;');
    expect((await get(`${cashierPath('nope')}/live`)).status).toBe(404);
  });

  it('is served over HTTPS on the same port', async () => {
    const { outTradeNo } = await createOrder(sim.url);
    const answer = await httpsCall(`${sim.httpsUrl}${cashierPath(outTradeNo)}`, { ca: sim.tls.caCertPem });
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe('text/html; charset=utf-8');
    expect(answer.text).toContain(`data-out-trade-no="${outTradeNo}"`);
  });
});

describe('the live view the cashier polls', () => {
  it("shows the payment, then each attempt's outcome with the merchant's reply", async () => {
    const { outTradeNo } = await createOrder(sim.url, { trade_type: 'NATIVE', notify_url: receiver.url });
    const before = await live(outTradeNo);
    expect(before).toMatchObject({ trade_state: 'NOTPAY', payable: true, paid: false });
    expect(before.notifications.count).toBe(0);
    expect(await live(outTradeNo)).toEqual(before); // the digests are stable while nothing changes

    receiver.respond = (index) => ({ body: index === 0 ? FAIL_REPLY : SUCCESS_REPLY });
    expect((await pay(sim.url, outTradeNo)).status).toBe(200);
    const after = await waitFor(
      async () => {
        const view = await live(outTradeNo);
        return view.notifications.count >= 2 && view;
      },
      5000,
      'two attempts',
    );
    expect(after).toMatchObject({ trade_state: 'SUCCESS', payable: false, paid: true });
    expect(after.notifications.digest).not.toBe(before.notifications.digest);
    const items = after.notifications.html.match(/<li[^>]*>/g) ?? [];
    expect(items).toEqual([
      '<li data-outcome="refused" data-attempt="1">',
      '<li data-outcome="acknowledged" data-attempt="2">',
    ]);
    // The replies are shown, as text.
    expect(after.notifications.html).toContain('&lt;![CDATA[not yet]]&gt;');
    expect(after.notifications.html).toContain('&lt;return_code&gt;&lt;![CDATA[SUCCESS]]&gt;');
    expect(after.notification_status).toContain('acknowledged after 2 attempt(s)');

    // The page itself, reloaded, shows the same state.
    const page = await get(cashierPath(outTradeNo));
    expect(elementById(page.text, 'trade-state')).toBe('SUCCESS');
    expect(page.text).toMatch(/<button[^>]*data-action="pay"[^>]*disabled/);
    expect(page.text).toContain(`data-digest="${after.notifications.digest}"`);
  });

  it('calls an attempt no merchant answered "failed", and a reply holding markup stays text', async () => {
    const unreachable = await createOrder(sim.url, { notify_url: 'http://127.0.0.1:9/notify/pay' });
    await pay(sim.url, unreachable.outTradeNo, 'FAIL');
    const failed = await waitFor(async () => {
      const view = await live(unreachable.outTradeNo);
      return view.notifications.count >= 1 && view;
    });
    expect(failed.trade_state).toBe('PAYERROR');
    expect(failed.payable).toBe(true);
    expect(failed.notifications.html).toMatch(/^<li data-outcome="failed" data-attempt="1">/);

    receiver.respond = () => ({ status: 500, body: '<script>alert(1)</script>' });
    const { outTradeNo } = await createOrder(sim.url, { notify_url: receiver.url });
    await pay(sim.url, outTradeNo);
    const refused = await waitFor(async () => {
      const view = await live(outTradeNo);
      return view.notifications.count >= 1 && view;
    });
    expect(refused.notifications.html).toContain('data-outcome="refused"');
    expect(refused.notifications.html).toContain('HTTP 500');
    expect(refused.notifications.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(refused.notifications.html).not.toContain('<script>');
  });

  it('lists the refunds of a paid order with their actions, final ones disabled', async () => {
    const { outTradeNo } = await createOrder(sim.url, { total_fee: '1000', notify_url: receiver.url });
    const unpaid = await get(cashierPath(outTradeNo));
    expect(unpaid.text).toMatch(/<section[^>]*id="refund-section"[^>]*hidden/);
    await pay(sim.url, outTradeNo);
    const params = refundParams(outTradeNo, { total_fee: '1000', refund_fee: '300' });
    expect((await secapiRefund(sim, params)).fields.result_code).toBe('SUCCESS');
    const outRefundNo = params.out_refund_no as string;

    const view = await live(outTradeNo);
    expect(view.trade_state).toBe('REFUND');
    expect(view.refunds.count).toBe(1);
    expect(view.refunds.html).toContain(`<li data-out-refund-no="${outRefundNo}" data-status="PROCESSING">`);
    for (const action of ['refund-success', 'refund-close', 'refund-abnormal'])
      expect(view.refunds.html).toMatch(new RegExp(`<button[^>]*data-action="${action}"(?![^>]*disabled)[^>]*>`));
    expect(view.refunds.html).toContain('¥3.00 of ¥10.00');
    const page = await get(cashierPath(outTradeNo));
    expect(page.text).not.toMatch(/<section[^>]*id="refund-section"[^>]*hidden/);
    expect(page.text).toContain(`data-out-refund-no="${outRefundNo}"`);

    const completed = await fetch(`${sim.url}/sandbox/refunds/${outRefundNo}/complete`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ result: 'SUCCESS' }),
    });
    expect(completed.status).toBe(200);
    const done = await live(outTradeNo);
    expect(done.refunds.html).toContain('data-status="SUCCESS"');
    for (const action of ['refund-success', 'refund-close', 'refund-abnormal'])
      expect(done.refunds.html).toMatch(new RegExp(`<button[^>]*data-action="${action}"[^>]*disabled`));
  });
});

describe("the payer's cancel (errCode -2)", () => {
  it('changes nothing at WeChat and notifies nobody, but is recorded as a payer action', async () => {
    const { outTradeNo } = await createOrder(sim.url, { notify_url: receiver.url });
    const cancelled = await pay(sim.url, outTradeNo, 'CANCEL');
    expect(cancelled.status).toBe(200);
    expect(cancelled.json.trade_state).toBe('NOTPAY');

    const query = await callV2(sim.url, '/pay/orderquery', queryParams({ out_trade_no: outTradeNo }));
    expect(query.fields.trade_state).toBe('NOTPAY');
    expect(query.fields.transaction_id).toBeUndefined();
    // No notification is even due: the order has none scheduled.
    expect(receiver.for(outTradeNo)).toEqual([]);
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.order?.notification).toBeNull();
    expect(debug.notifications).toEqual([]);
    expect(debug.payer).toEqual([
      expect.objectContaining({ result: 'CANCEL', outcome: expect.stringContaining('NOTPAY') }),
    ]);

    // The payer may still pay afterwards.
    expect((await pay(sim.url, outTradeNo)).json.trade_state).toBe('SUCCESS');
  });

  it('is refused for a paid order (409 ORDERPAID), and the refusal recorded', async () => {
    const { outTradeNo } = await createOrder(sim.url, { notify_url: receiver.url });
    await pay(sim.url, outTradeNo);
    const refused = await pay(sim.url, outTradeNo, 'CANCEL');
    expect(refused.status).toBe(409);
    expect(refused.json).toEqual({ error: expect.objectContaining({ code: 'ORDERPAID' }) });
    const debug = await debugOrder(sim.url, outTradeNo);
    expect(debug.payer.at(-1)).toEqual(expect.objectContaining({ result: 'CANCEL', outcome: 'refused: ORDERPAID' }));
    expect((await pay(sim.url, 'no-such-order', 'CANCEL')).status).toBe(404);
  });
});

describe('GET /sandbox', () => {
  it('lists recent orders (state, amount, type, time, a cashier link) and refunds, newest first, escaped', async () => {
    const older = await createOrder(sim.url, { body: '<i>older</i>', total_fee: '250', trade_type: 'NATIVE' });
    clockAheadMs += 1000; // created a second later on the simulator's clock
    const newer = await createOrder(sim.url, { out_trade_no: newOutTradeNo('L'), notify_url: receiver.url });
    await pay(sim.url, newer.outTradeNo);
    const params = refundParams(newer.outTradeNo, { total_fee: '1999', refund_fee: '1' });
    await secapiRefund(sim, params);

    const page = await get('/sandbox');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const orders = elementById(page.text, 'orders') ?? '';
    const row = (no: string) => new RegExp(`<tr data-out-trade-no="${no}">([\\s\\S]*?)</tr>`).exec(orders)?.[1] ?? '';
    const olderRow = row(older.outTradeNo);
    expect(olderRow).toContain('NOTPAY');
    expect(olderRow).toContain('¥2.50');
    expect(olderRow).toContain('NATIVE');
    expect(olderRow).toContain('&lt;i&gt;older&lt;/i&gt;');
    expect(olderRow).toMatch(/<time datetime="\d{4}-\d\d-\d\dT[^"]+Z">/);
    expect(olderRow).toContain(`<a class="cashier" href="/sandbox/cashier/${older.outTradeNo}">`);
    expect(row(newer.outTradeNo)).toContain('REFUND');
    expect(orders.indexOf(newer.outTradeNo)).toBeLessThan(orders.indexOf(older.outTradeNo));

    const refunds = elementById(page.text, 'refunds') ?? '';
    expect(refunds).toContain(`<tr data-out-refund-no="${params.out_refund_no as string}">`);
    expect((await get('/sandbox/')).status).toBe(200);
  });
});
