import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { AWS_BODY_LIMITS } from '#sandbox/local/gateway';
import { openApiDocument } from '#shared/app/openapi-document';
import { APP_BACKEND_ROUTES, BILL_ROUTES, type Route, routeKey, routePath } from '#shared/app/routes';
import { beijingDateOf } from '#shared/domain/bill-date';
import { setBillFaults } from '../helpers/bill-e2e';
import { type HttpAnswer, startTestStack, type TestStack } from '../helpers/local-stack';
import { sandboxEncryptedUserData, sandboxLogin, simulatorUrlOf } from '../helpers/miniprogram-sandbox';
import { openApiResponseValidator } from '../helpers/openapi-validator';
import { paidOrder, type PaidOrder, uniqueNo, waitForRefundStatus } from '../helpers/refund-e2e';
import { waitFor } from '../helpers/wait-for';

/**
 * Every app-backend and bill route called for real through the local gateway, in both WeChat Pay API
 * versions (their payment times differ at WeChat: v2 `yyyyMMddHHmmss`, v3 RFC 3339): each answer,
 * success or error, must be one the OpenAPI document lists for its route and status, and its body must
 * validate against the document's schema for it (JSON Schema 2020-12, date-time checked). Last, every
 * route must have been seen answering its success, a 400, and the 404 and 409 it documents.
 */

/** WeChat's durations ÷ 60: an order may be closed 5 s after its creation, a refund finishes in a second. */
const TIME_SCALE = 60;
/** GET /events lists an event 10 s after it is recorded, plus slack. */
const LISTED_WITHIN_MS = 45_000;

const ROUTES: Route[] = [...Object.values(APP_BACKEND_ROUTES), ...Object.values(BILL_ROUTES)];
const validate = openApiResponseValidator(openApiDocument());

interface Call {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
}

describe.each(['v2', 'v3'] as const)('every route answers as the OpenAPI document says (%s)', (apiVersion) => {
  let stack: TestStack;
  /** `METHOD /path status` of every answer checked. */
  const seen = new Set<string>();

  /** Calls the route; whatever it answers must be documented for it and match its schema. */
  async function documentedAnswer(route: Route, call: Call = {}): Promise<HttpAnswer> {
    const query = call.query === undefined ? '' : `?${new URLSearchParams(call.query).toString()}`;
    const answer = await stack.api(route.method, `${routePath(route, call.params)}${query}`, call.body);
    expect(answer.headers.get('content-type'), `${routeKey(route)}: ${answer.text}`).toMatch(/^application\/json/);
    const body: unknown = JSON.parse(answer.text);
    const { problems } = validate(route, answer.status, body);
    expect(problems, `${routeKey(route)} ${answer.status}: ${answer.text}`).toEqual([]);
    seen.add(`${routeKey(route)} ${answer.status}`);
    return answer;
  }

  /** As documentedAnswer, and the answer must have `status`. */
  async function expectAnswer(route: Route, status: number, call: Call = {}): Promise<HttpAnswer> {
    const answer = await documentedAnswer(route, call);
    expect(answer.status, `${routeKey(route)}: ${answer.text}`).toBe(status);
    return answer;
  }

  function orderBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      out_trade_no: uniqueNo('OAS'),
      description: 'openapi check',
      amount: { total: 100 },
      trade_type: 'NATIVE',
      product_id: 'sku',
      scene_info: { payer_client_ip: '198.51.100.20' },
      ...overrides,
    };
  }

  let paid: PaidOrder;
  let openid: string;
  const outRefundNo = uniqueNo('OASR');

  beforeAll(async () => {
    stack = await startTestStack({
      timeScale: TIME_SCALE,
      env: { WECHATPAY_API_VERSION: apiVersion, REFUND_CHECK_SCHEDULE: '1' },
    });
    // What several tests read is made here, so that any one of them runs alone (-t): a logged-in
    // user, a paid order with a finished refund, and a closed order (its payment.closed event).
    const toClose = await expectAnswer(APP_BACKEND_ROUTES.createOrder, 201, { body: orderBody() });
    const login = await sandboxLogin(simulatorUrlOf(stack));
    const session = await expectAnswer(APP_BACKEND_ROUTES.createMiniProgramSession, 201, {
      body: { code: login.code },
    });
    openid = session.json.openid as string;
    paid = await paidOrder(stack, 100);
    await expectAnswer(APP_BACKEND_ROUTES.createRefund, 201, {
      params: { out_trade_no: paid.outTradeNo },
      body: { out_refund_no: outRefundNo, amount: { refund: 30 }, reason: 'one item returned' },
    });
    await waitForRefundStatus(stack, paid.outTradeNo, outRefundNo, 'SUCCESS');
    // WeChat (scaled) closes an order only once it is old enough: asked until it does.
    const closed = await waitFor(
      () =>
        stack.api(
          'POST',
          routePath(APP_BACKEND_ROUTES.closeOrder, { out_trade_no: toClose.json.out_trade_no as string }),
        ),
      (answer) => answer.status === 200,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(closed.json.status).toBe('CLOSED');
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
  });

  it('mini program sessions: 201, 400 for a used code or a bad body, 403 for a blocked user', async () => {
    const route = APP_BACKEND_ROUTES.createMiniProgramSession;
    const login = await sandboxLogin(simulatorUrlOf(stack));
    const session = await expectAnswer(route, 201, { body: { code: login.code } });
    expect(session.json.openid).toBe(login.openid);
    const used = await expectAnswer(route, 400, { body: { code: login.code } });
    expect(used.json).toMatchObject({ error: { code: 'CODE_USED', field: 'code' } });
    await expectAnswer(route, 400, { body: { code: '' } });
    const blocked = await sandboxLogin(simulatorUrlOf(stack), { high_risk: true });
    const refused = await expectAnswer(route, 403, { body: { code: blocked.code } });
    expect(refused.json).toMatchObject({ error: { code: 'HIGH_RISK_USER' } });
  });

  it('mini program user data: 200, 400 for a foreign watermark or a bad body, 404 without a session', async () => {
    const route = APP_BACKEND_ROUTES.decryptMiniProgramData;
    const sealed = await sandboxEncryptedUserData(simulatorUrlOf(stack), {
      openid,
      data: { nickName: '微信用户' },
    });
    const opened = await expectAnswer(route, 200, { body: { openid, ...sealed } });
    expect(opened.json).toMatchObject({ nickName: '微信用户', watermark: { appid: expect.any(String) } });
    const foreign = await sandboxEncryptedUserData(simulatorUrlOf(stack), {
      openid,
      watermark_appid: 'wx0000000000000000',
    });
    await expectAnswer(route, 400, { body: { openid, ...foreign } });
    await expectAnswer(route, 400, { body: { openid, iv: sealed.iv } });
    await expectAnswer(route, 404, { body: { openid: `o${uniqueNo('NOSESSION')}`, ...sealed } });
  });

  it('creates orders of every trade type (201), refuses a reused out_trade_no (409) and a bad body (400)', async () => {
    const route = APP_BACKEND_ROUTES.createOrder;
    const bodies = [
      orderBody(),
      orderBody({ trade_type: 'APP', product_id: undefined }),
      orderBody({ trade_type: 'JSAPI', product_id: undefined, payer: { openid } }),
      orderBody({
        trade_type: 'MWEB',
        product_id: undefined,
        scene_info: {
          payer_client_ip: '198.51.100.20',
          h5_info: { type: 'Wap', app_name: 'shop', app_url: 'https://shop.example' },
        },
      }),
    ];
    for (const body of bodies) {
      const created = await expectAnswer(route, 201, { body });
      // Locally the order also links to the simulator's cashier page, which the document allows.
      expect(created.json).toMatchObject({
        trade_type: body.trade_type,
        sandbox_cashier_url: expect.stringContaining('/sandbox/cashier/'),
      });
      expect(created.json.client).not.toHaveProperty('sandbox_cashier_url');
    }
    const again = bodies[0] as Record<string, unknown>;
    await expectAnswer(route, 201, { body: again });
    const reused = await expectAnswer(route, 409, { body: { ...again, description: 'other content' } });
    expect(reused.json).toMatchObject({ error: { code: 'OUT_TRADE_NO_USED' } });
    await expectAnswer(route, 400, { body: orderBody({ amount: { total: 1.5 } }) });
    await expectAnswer(route, 400, { body: orderBody({ trade_type: 'JSAPI', product_id: undefined }) });
  });

  it('answers 502 with retryable when WeChat Pay keeps failing', async () => {
    const outTradeNo = uniqueNo('OASF');
    const faulted = await stack.simulator('POST', '/sandbox/faults', { api: 'http500', out_trade_no: outTradeNo });
    expect(faulted.status, faulted.text).toBeLessThan(300);
    try {
      const failed = await expectAnswer(APP_BACKEND_ROUTES.createOrder, 502, {
        body: orderBody({ out_trade_no: outTradeNo }),
      });
      expect(failed.json).toMatchObject({ error: { retryable: true } });
    } finally {
      await stack.simulator('DELETE', '/sandbox/faults');
    }
  }, 60_000);

  it('gets a paid order (200, plain and ?sync=1), 404 for an unknown one, 400 for a bad number or sync', async () => {
    const route = APP_BACKEND_ROUTES.getOrder;
    const got = await expectAnswer(route, 200, { params: { out_trade_no: paid.outTradeNo } });
    expect(got.json).toMatchObject({ status: 'PAID', payment: { transaction_id: paid.transactionId } });
    await expectAnswer(route, 200, { params: { out_trade_no: paid.outTradeNo }, query: { sync: '1' } });
    await expectAnswer(route, 404, { params: { out_trade_no: uniqueNo('OASX') } });
    await expectAnswer(route, 400, { params: { out_trade_no: 'x' } });
    await expectAnswer(route, 400, { params: { out_trade_no: paid.outTradeNo }, query: { sync: 'yes' } });
  });

  it('closes an order (200 once old enough, 409 before and when paid), 404 unknown, 400 bad number', async () => {
    const route = APP_BACKEND_ROUTES.closeOrder;
    const created = await expectAnswer(APP_BACKEND_ROUTES.createOrder, 201, { body: orderBody() });
    const params = { out_trade_no: created.json.out_trade_no as string };
    const early = await expectAnswer(route, 409, { params });
    expect(early.json).toMatchObject({ error: { code: 'TOO_EARLY' } });
    // WeChat (scaled) closes an order only once it is old enough: asked until it does.
    const closed = await waitFor(
      () => documentedAnswer(route, { params }),
      (answer) => answer.status === 200 || answer.json.error === undefined,
      { timeoutMs: 30_000, intervalMs: 500 },
    );
    expect(closed.json.status).toBe('CLOSED');
    const paidClose = await expectAnswer(route, 409, { params: { out_trade_no: paid.outTradeNo } });
    expect(paidClose.json).toMatchObject({ error: { code: 'ORDERPAID' } });
    await expectAnswer(route, 404, { params: { out_trade_no: uniqueNo('OASX') } });
    await expectAnswer(route, 400, { params: { out_trade_no: 'x' } });
  }, 60_000);

  it('creates a refund (201, the same again 200), 409 for its conflicts, 404 unknown order, 400 bad body', async () => {
    const route = APP_BACKEND_ROUTES.createRefund;
    // An order of its own: the shared one's refund summary stays what the other tests expect.
    const own = await paidOrder(stack, 100);
    const params = { out_trade_no: own.outTradeNo };
    const body = { out_refund_no: uniqueNo('OASR'), amount: { refund: 30 }, reason: 'one item returned' };
    await expectAnswer(route, 201, { params, body });
    await expectAnswer(route, 200, { params, body });
    const reused = await expectAnswer(route, 409, { params, body: { ...body, amount: { refund: 31 } } });
    expect(reused.json).toMatchObject({ error: { code: 'OUT_REFUND_NO_USED' } });
    const exceeded = await expectAnswer(route, 409, { params, body: { amount: { refund: 1_000 } } });
    expect(exceeded.json).toMatchObject({ error: { code: 'REFUND_AMOUNT_EXCEEDED' } });
    const unpaid = await expectAnswer(APP_BACKEND_ROUTES.createOrder, 201, { body: orderBody() });
    const notPaid = await expectAnswer(route, 409, {
      params: { out_trade_no: unpaid.json.out_trade_no as string },
      body: { amount: { refund: 1 } },
    });
    expect(notPaid.json).toMatchObject({ error: { code: 'ORDER_NOT_PAID' } });
    await expectAnswer(route, 404, { params: { out_trade_no: uniqueNo('OASX') }, body: { amount: { refund: 1 } } });
    await expectAnswer(route, 400, { params, body: { amount: { refund: -1 } } });
    await expectAnswer(route, 400, { params, body: { amount: { refund: 1 }, reason: 'x'.repeat(81) } });
  });

  it('gets the refund once WeChat finished it (200, also ?sync=1), 404 and 400 otherwise', async () => {
    const route = APP_BACKEND_ROUTES.getRefund;
    const params = { out_trade_no: paid.outTradeNo, out_refund_no: outRefundNo };
    const got = await expectAnswer(route, 200, { params });
    expect(got.json).toMatchObject({ status: 'SUCCESS', success_time: expect.any(String) });
    await expectAnswer(route, 200, { params, query: { sync: '1' } });
    await expectAnswer(route, 404, { params: { ...params, out_refund_no: uniqueNo('OASX') } });
    await expectAnswer(route, 404, { params: { ...params, out_trade_no: uniqueNo('OASX') } });
    await expectAnswer(route, 400, { params: { ...params, out_refund_no: 'no spaces' } });
    // The order's view now sums its refunds.
    const order = await expectAnswer(APP_BACKEND_ROUTES.getOrder, 200, { params: { out_trade_no: paid.outTradeNo } });
    expect(order.json.refund).toEqual({ refunded: 30, pending: 0, refundable: 70 });
  });

  it("lists an order's refunds (200), 404 for an unknown order, 400 for a bad number", async () => {
    const route = APP_BACKEND_ROUTES.listRefunds;
    const listed = await expectAnswer(route, 200, { params: { out_trade_no: paid.outTradeNo } });
    expect(listed.json.refunds).toEqual([expect.objectContaining({ out_refund_no: outRefundNo })]);
    await expectAnswer(route, 404, { params: { out_trade_no: uniqueNo('OASX') } });
    await expectAnswer(route, 400, { params: { out_trade_no: 'x' } });
  });

  it(
    'lists events of payments and refunds (200, page by page), 400 for a bad limit',
    async () => {
      const route = APP_BACKEND_ROUTES.listEvents;
      const wanted = ['payment.succeeded', 'payment.closed', 'refund.succeeded'];
      const types = await waitFor(
        async () => {
          const found = new Set<string>();
          let after: string | undefined;
          for (;;) {
            const page = await expectAnswer(route, 200, {
              query: { limit: '2', ...(after === undefined ? {} : { after }) },
            });
            const events = page.json.events as Array<{ type: string }>;
            for (const event of events) found.add(event.type);
            after = page.json.next as string;
            if (events.length < 2) return found;
          }
        },
        (found) => wanted.every((type) => found.has(type)),
        { timeoutMs: LISTED_WITHIN_MS, intervalMs: 1_000 },
      );
      expect([...types]).toEqual(expect.arrayContaining(wanted));
      await expectAnswer(route, 400, { query: { limit: 'many' } });
      await expectAnswer(route, 400, { query: { limit: '0' } });
    },
    LISTED_WITHIN_MS + 15_000,
  );

  it('reconciles today (201), 409 while a bill is built, 400 bad day; gets reports (200, 404, 400)', async () => {
    const create = BILL_ROUTES.createReconciliation;
    const get = BILL_ROUTES.getReconciliation;
    const today = beijingDateOf(new Date());
    const report = await expectAnswer(create, 201, { body: { bill_date: today } });
    expect(report.json).toMatchObject({ bill_date: today, api_version: apiVersion, bill_found: true });
    await expectAnswer(get, 200, { params: { bill_date: today } });
    const yesterday = beijingDateOf(new Date(Date.now() - 86_400_000));
    await setBillFaults(stack, yesterday, { creating: true });
    const notReady = await expectAnswer(create, 409, { body: { bill_date: yesterday } });
    expect(notReady.json).toMatchObject({ error: { code: 'BILL_NOT_READY' } });
    expect(notReady.headers.get('retry-after')).toMatch(/^\d+$/);
    await expectAnswer(get, 404, { params: { bill_date: yesterday } });
    await expectAnswer(create, 400, { body: { bill_date: '2026-02-30' } });
    await expectAnswer(create, 400, { body: { day: today } });
    await expectAnswer(get, 400, { params: { bill_date: 'yesterday' } });
  }, 60_000);

  it("a body over API Gateway's payload limit: 413 with its { message }, as the document lists", async () => {
    const tooLarge = 'x'.repeat(AWS_BODY_LIMITS.orders + 1);
    const refused = await expectAnswer(APP_BACKEND_ROUTES.createOrder, 413, { body: tooLarge });
    expect(refused.json).toEqual({ message: 'Request Entity Too Large' });
  });

  it('has seen every route answer its success, a 400, and each 404 and 409 the document lists for it', () => {
    const document = openApiDocument();
    const paths = document.paths as Record<string, Record<string, { responses: Record<string, unknown> }>>;
    const missing = ROUTES.flatMap((route) => {
      const listed = Object.keys(paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {});
      const key = routeKey(route);
      const wanted = listed.filter((status) => ['404', '409'].includes(status)).concat('400');
      const lacking = wanted.filter((status) => !seen.has(`${key} ${status}`));
      const success = listed.filter((status) => status.startsWith('2')).some((status) => seen.has(`${key} ${status}`));
      return [...lacking.map((status) => `${key} ${status}`), ...(success ? [] : [`${key} 2xx`])];
    });
    expect(missing).toEqual([]);
  });
});
