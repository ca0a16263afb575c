import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context, ScheduledEvent } from 'aws-lambda';
import { beforeEach, describe, expect, it, vi } from 'vitest';

import { createDependencies, type Dependencies } from '#shared/app/dependencies';
import { createBillsHandler, type BillsHandler } from '#shared/app/handlers';
import { BILL_ROUTES, type Route, routeKey, routePath } from '#shared/app/routes';
import type { ScheduledRunOutcome } from '#shared/app/scheduled-reconciliation';
import { METRIC_BILL_DISCREPANCIES, METRIC_BILL_NOT_READY } from '#shared/config/metric-names';
import { loadSettings } from '#shared/config/settings';
import type { BilledPayment, ReconciliationReport } from '#shared/domain/bill-reconciliation';
import { BillRefusedError } from '#shared/domain/errors';
import {
  InMemoryReconciliationStore,
  InMemorySettledRecords,
  ScriptedBillSource,
} from '#test/helpers/in-memory-bill-records';
import { InMemoryOrderStore } from '#test/helpers/in-memory-order-store';
import { InMemoryRefundStore } from '#test/helpers/in-memory-refund-store';
import { PAID_TRANSACTION_ID, paidOrder } from '#test/helpers/refund-harness';
import { TestClock } from '#test/helpers/test-clock';

/**
 * The bills function in process, as AWS invokes it: API Gateway v2 events on BILL_ROUTES and
 * EventBridge's scheduled event, over the in-memory stores, settled records and report store and a
 * scripted WeChat bill. Nothing here reaches a server: the WeChat side is built from settings and
 * never called (no day here needs a query).
 */

const SETTINGS = loadSettings({
  TABLE_NAME: 'orders',
  AWS_REGION: 'us-east-1',
  LOG_LEVEL: 'SILENT',
  WECHATPAY_APPID: 'wx0123456789abcdef',
  WECHATPAY_MCHID: '1900000109',
  WECHATPAY_API_KEY: '0123456789abcdef0123456789abcdef',
  WECHATPAY_BASE_URL: 'http://127.0.0.1:9',
});

/** 11:00 in Beijing on 2 January 2030: the bill of 1 January is WeChat's to serve. */
const NOW = '2030-01-02T03:00:00.000Z';
const DAY = '2030-01-01';

/** The bill line of paidOrder's payment (paid 2030-01-01 08:00 Beijing). */
function billedPayment(outTradeNo: string, overrides: Partial<BilledPayment> = {}): BilledPayment {
  return {
    kind: 'payment',
    outTradeNo,
    transactionId: PAID_TRANSACTION_ID,
    total: 1999,
    currency: 'CNY',
    state: 'SUCCESS',
    tradeTime: '2030-01-01T08:05:10+08:00',
    ...overrides,
  };
}

function httpEvent(route: Route, opts: { params?: Record<string, string>; body?: unknown; raw?: string } = {}) {
  const params = opts.params ?? {};
  return {
    version: '2.0',
    routeKey: routeKey(route),
    rawPath: routePath(route, params),
    rawQueryString: '',
    pathParameters: route.path.includes('{') ? params : undefined,
    headers: { 'content-type': 'application/json' },
    body: opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body)),
    isBase64Encoded: false,
    requestContext: { http: { method: route.method, path: routePath(route, params) } },
  } as unknown as APIGatewayProxyEventV2;
}

function scheduledEvent(time: string): ScheduledEvent {
  return {
    version: '0',
    id: 'cdc73f9d-aea9-11e3-9d5a-835b769c0d9c',
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '123456789012',
    time,
    region: 'us-east-1',
    resources: ['arn:aws:events:us-east-1:123456789012:rule/bills-daily'],
    detail: {},
  };
}

const CONTEXT = { functionName: 'bills', getRemainingTimeInMillis: () => 900_000 } as unknown as Context;

describe('the bills function', () => {
  let orders: InMemoryOrderStore;
  let refunds: InMemoryRefundStore;
  let reports: InMemoryReconciliationStore;
  let bills: ScriptedBillSource;
  let clock: TestClock;
  let deps: Dependencies;
  let handler: BillsHandler;
  let added: ReturnType<typeof vi.spyOn>;
  let warnings: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    orders = new InMemoryOrderStore();
    refunds = new InMemoryRefundStore(orders);
    reports = new InMemoryReconciliationStore();
    bills = new ScriptedBillSource('v2');
    clock = new TestClock(NOW);
    deps = createDependencies(SETTINGS, {
      clock,
      store: orders,
      refundStore: refunds,
      settledRecords: new InMemorySettledRecords(orders, refunds),
      reconciliationStore: reports,
      billSource: bills,
    });
    added = vi.spyOn(deps.observability.metrics, 'addMetric');
    warnings = vi.spyOn(deps.observability.logger, 'warn');
    vi.spyOn(deps.observability.metrics, 'publishStoredMetrics').mockImplementation(() => deps.observability.metrics);
    handler = createBillsHandler(deps);
  });

  async function call(evt: APIGatewayProxyEventV2) {
    const response = (await handler(evt, CONTEXT)) as APIGatewayProxyStructuredResultV2;
    return {
      status: response.statusCode,
      headers: response.headers ?? {},
      body: JSON.parse(response.body ?? '{}') as Record<string, unknown>,
    };
  }

  const post = (body: unknown) => call(httpEvent(BILL_ROUTES.createReconciliation, { body }));
  const get = (billDate: string) => call(httpEvent(BILL_ROUTES.getReconciliation, { params: { bill_date: billDate } }));
  const schedule = (time: string) => handler(scheduledEvent(time), CONTEXT) as Promise<ScheduledRunOutcome>;

  describe('POST /reconciliations and GET /reconciliations/{bill_date}', () => {
    it('a day that matches: 201 with the contract’s snake_case view, stored and served by GET', async () => {
      const order = paidOrder();
      await orders.create(order);
      bills.bill(DAY, [billedPayment(order.outTradeNo)]);

      const created = await post({ bill_date: DAY });
      const view = {
        bill_date: DAY,
        status: 'MATCHED',
        counts: { wechat: 1, here: 1, matched: 1, discrepancies: 0 },
        discrepancies: [],
        bill_found: true,
        api_version: 'v2',
        reconciled_at: NOW,
      };
      expect(created).toMatchObject({ status: 201, body: view });
      expect(Object.keys(created.body).sort()).toEqual(Object.keys(view).sort());
      expect(bills.fetched).toEqual([DAY]);

      clock.advance(3600);
      expect(await get(DAY)).toMatchObject({ status: 200, body: view });
      // GET reads the stored report: WeChat is not asked again.
      expect(bills.fetched).toEqual([DAY]);
    });

    it('discrepancies in the view (kind, out_trade_no, each side), counted in BillDiscrepancies', async () => {
      const missing = paidOrder();
      await orders.create(missing);
      bills.bill(DAY, [billedPayment('TUNKNOWN0001', { transactionId: '4200009999999999999999999999', total: 500 })]);

      const { status, body } = await post({ bill_date: DAY });
      expect(status).toBe(201);
      expect(body).toMatchObject({
        status: 'DISCREPANCIES',
        counts: { wechat: 1, here: 1, matched: 0, discrepancies: 2 },
      });
      expect(body.discrepancies).toEqual([
        {
          kind: 'MISSING_AT_WECHAT',
          out_trade_no: missing.outTradeNo,
          here: { status: 'PAID', amount: 1999, transaction_id: PAID_TRANSACTION_ID },
        },
        {
          kind: 'NOT_PAID_HERE',
          out_trade_no: 'TUNKNOWN0001',
          wechat: { status: 'SUCCESS', amount: 500, transaction_id: '4200009999999999999999999999' },
        },
      ]);
      expect(added).toHaveBeenCalledWith(METRIC_BILL_DISCREPANCIES, 'Count', 2);
    });

    it('an empty day (no bill at WeChat, nothing here): MATCHED, bill_found false, 0 counted', async () => {
      const { status, body } = await post({ bill_date: DAY });
      expect(status).toBe(201);
      expect(body).toMatchObject({ status: 'MATCHED', bill_found: false, counts: { wechat: 0, here: 0 } });
      expect(added).toHaveBeenCalledWith(METRIC_BILL_DISCREPANCIES, 'Count', 0);
    });

    it.each([
      ['a missing bill_date', {}, 'bill_date'],
      ['a bill_date not written YYYY-MM-DD', { bill_date: '2030-1-1' }, 'bill_date'],
      ['a bill_date that is not a string', { bill_date: 20300101 }, 'bill_date'],
      ['a day that does not exist', { bill_date: '2029-02-29' }, 'bill_date'],
      ['a day after today in Beijing', { bill_date: '2030-01-03' }, 'bill_date'],
      ['a day older than WeChat keeps bills', { bill_date: '2029-09-01' }, 'bill_date'],
      ['a field the contract does not have', { bill_date: DAY, type: 'ALL' }, 'type'],
    ])('%s is a 400 naming the field, and WeChat is not asked', async (_what, body, field) => {
      const answer = await post(body);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', field } } });
      expect(bills.fetched).toEqual([]);
    });

    it('today in Beijing is accepted although it is still yesterday in UTC', async () => {
      // 01:00 on 2 January in Beijing is 17:00 on 1 January in UTC.
      clock.set('2030-01-01T17:00:00.000Z');
      expect((await post({ bill_date: '2030-01-02' })).status).toBe(201);
      expect(bills.fetched).toEqual(['2030-01-02']);
    });

    it('a body that is not JSON is a 400', async () => {
      const answer = await call(httpEvent(BILL_ROUTES.createReconciliation, { raw: '{"bill_date":' }));
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST' } } });
    });

    it('a bill not ready: 409 BILL_NOT_READY with retry-after, nothing stored, BillNotReady counted', async () => {
      bills.notReady(DAY);
      const answer = await post({ bill_date: DAY });
      expect(answer).toMatchObject({ status: 409, body: { error: { code: 'BILL_NOT_READY' } } });
      expect(answer.headers['retry-after']).toMatch(/^[1-9]\d*$/);
      expect(await reports.get(DAY)).toBeUndefined();
      expect(added).toHaveBeenCalledWith(METRIC_BILL_NOT_READY, 'Count', 1);
      expect(added).not.toHaveBeenCalledWith(METRIC_BILL_DISCREPANCIES, expect.anything(), expect.anything());
    });

    it('a refused bill (its proof fails at its end): a retryable 502 BILL_REFUSED, nothing stored', async () => {
      const order = paidOrder();
      await orders.create(order);
      bills.bill(DAY, [billedPayment(order.outTradeNo)], new BillRefusedError('the bill disagrees with its summary'));
      const answer = await post({ bill_date: DAY });
      expect(answer).toMatchObject({
        status: 502,
        body: { error: { code: 'BILL_REFUSED', retryable: true, message: expect.stringMatching(/^WeChat Pay: /) } },
      });
      expect(await get(DAY)).toMatchObject({ status: 404 });
    });

    it('GET of a day never reconciled: 404 RECONCILIATION_NOT_FOUND; a malformed day: 400 bill_date', async () => {
      expect(await get(DAY)).toMatchObject({ status: 404, body: { error: { code: 'RECONCILIATION_NOT_FOUND' } } });
      expect(await get('yesterday')).toMatchObject({
        status: 400,
        body: { error: { code: 'INVALID_REQUEST', field: 'bill_date' } },
      });
    });

    it('GET serves a stored report older than WeChat keeps bills (reports are kept longer)', async () => {
      const old: ReconciliationReport = {
        billDate: '2029-06-01',
        status: 'MATCHED',
        counts: { wechat: 0, here: 0, matched: 0, discrepancies: 0 },
        discrepancies: [],
        billFound: false,
        apiVersion: 'v3',
        reconciledAt: '2029-06-02T02:30:05.000Z',
      };
      await reports.save(old);
      expect(await get('2029-06-01')).toMatchObject({ status: 200, body: { bill_date: '2029-06-01' } });
    });
  });

  describe('the daily schedule', () => {
    it('reconciles the Beijing day before the event’s time, and stores the report', async () => {
      const order = paidOrder();
      await orders.create(order);
      bills.bill(DAY, [billedPayment(order.outTradeNo)]);

      const outcome = await schedule('2030-01-02T02:30:00Z');
      expect(outcome).toEqual({ billDate: DAY, outcome: 'reconciled', status: 'MATCHED', discrepancies: 0 });
      expect(bills.fetched).toEqual([DAY]);
      expect(await reports.get(DAY)).toMatchObject({ billDate: DAY, status: 'MATCHED' });
      expect(added).toHaveBeenCalledWith(METRIC_BILL_DISCREPANCIES, 'Count', 0);
    });

    it('the day is Beijing’s: at 00:30 on 2 January in Beijing (still 1 January in UTC) it is 1 January', async () => {
      const outcome = await schedule('2030-01-01T16:30:00Z');
      expect(outcome).toMatchObject({ billDate: DAY });
      expect(bills.fetched).toEqual([DAY]);
    });

    it('a day with a stored report is left alone: the later runs of the morning do nothing', async () => {
      await schedule('2030-01-02T02:30:00Z');
      const stored = await reports.get(DAY);

      clock.advance(3600);
      const again = await schedule('2030-01-02T03:30:00Z');
      expect(again).toEqual({ billDate: DAY, outcome: 'already_reconciled', reconciledAt: stored?.reconciledAt });
      expect(bills.fetched).toEqual([DAY]);
      expect(await reports.get(DAY)).toEqual(stored);
    });

    it('a report made before the bill was final (10:00 Beijing the next day) does not settle the day', async () => {
      clock.set('2030-01-02T01:59:59.000Z');
      await schedule('2030-01-02T02:30:00Z');
      expect(await reports.get(DAY)).toMatchObject({ billFound: false });

      const order = paidOrder();
      await orders.create(order);
      bills.bill(DAY, [billedPayment(order.outTradeNo)]);
      clock.set('2030-01-02T03:30:00.000Z');
      const again = await schedule('2030-01-02T03:30:00Z');
      expect(again).toMatchObject({ billDate: DAY, outcome: 'reconciled', status: 'MATCHED' });
      expect(bills.fetched).toEqual([DAY, DAY]);
      expect(await reports.get(DAY)).toMatchObject({ billFound: true, reconciledAt: '2030-01-02T03:30:00.000Z' });
    });

    it('a bill not ready is logged and counted, not thrown; the next run reconciles it', async () => {
      bills.notReady(DAY);
      const first = await schedule('2030-01-02T02:30:00Z');
      expect(first).toMatchObject({ billDate: DAY, outcome: 'not_ready' });
      expect(warnings).toHaveBeenCalledWith(
        expect.stringContaining('not ready'),
        expect.objectContaining({ billDate: DAY }),
      );
      expect(added).toHaveBeenCalledWith(METRIC_BILL_NOT_READY, 'Count', 1);
      expect(await reports.get(DAY)).toBeUndefined();

      bills.bill(DAY, []);
      const next = await schedule('2030-01-02T03:30:00Z');
      expect(next).toMatchObject({ billDate: DAY, outcome: 'reconciled' });
      expect(bills.fetched).toEqual([DAY, DAY]);
    });

    it('anything else fails the invocation (the Lambda error alarm), with nothing stored', async () => {
      bills.bill(DAY, [billedPayment('T1')], new BillRefusedError('hash mismatch'));
      const errors = vi.spyOn(deps.observability.logger, 'error');
      await expect(schedule('2030-01-02T02:30:00Z')).rejects.toBeInstanceOf(BillRefusedError);
      expect(await reports.get(DAY)).toBeUndefined();
      expect(errors).toHaveBeenCalledWith(expect.any(String), expect.objectContaining({ billDate: DAY }));
    });

    it('a scheduled event without a time fails the invocation rather than guess a day', async () => {
      const event = { ...scheduledEvent('2030-01-02T02:30:00Z'), time: 'soon' };
      await expect(handler(event, CONTEXT)).rejects.toThrow(/scheduled event/);
      expect(bills.fetched).toEqual([]);
    });
  });
});

describe('the bills function at start-up', () => {
  it('needs neither QUEUE_URL nor NOTIFY_URL: it applies repairs, it schedules nothing', () => {
    expect(() => createBillsHandler(createDependencies(SETTINGS))).not.toThrow();
  });
});
