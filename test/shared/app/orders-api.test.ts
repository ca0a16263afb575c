import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { beforeEach, describe, expect, it } from 'vitest';

import { errorResponse } from '#shared/app/http-errors';
import { routeOrders, type OrdersApi } from '#shared/app/orders-api';
import { APP_BACKEND_ROUTES, type Route, routeKey, routePath } from '#shared/app/routes';
import { paidOrder, refundHarness, refundReport, type RefundHarness } from '#test/helpers/refund-harness';

/**
 * The refund routes in process: the event API Gateway builds, dispatched by routeKey to the domain's
 * refund use cases over the in-memory stores and a scripted WeChat, and answered as the error layer does.
 */

function event(
  route: Route,
  params: Record<string, string>,
  opts: { body?: unknown; query?: Record<string, string> } = {},
) {
  return {
    routeKey: routeKey(route),
    rawPath: routePath(route, params),
    pathParameters: params,
    queryStringParameters: opts.query,
    headers: { 'content-type': 'application/json' },
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    isBase64Encoded: false,
    requestContext: { http: { method: route.method } },
  } as unknown as APIGatewayProxyEventV2;
}

describe('refund routes', () => {
  let h: RefundHarness;
  let api: OrdersApi;

  async function call(evt: APIGatewayProxyEventV2): Promise<{ status: number; body: Record<string, unknown> }> {
    let response: APIGatewayProxyStructuredResultV2;
    try {
      response = await routeOrders(evt, api);
    } catch (error) {
      response = errorResponse(error);
    }
    return { status: response.statusCode ?? 0, body: JSON.parse(response.body ?? '{}') as Record<string, unknown> };
  }

  beforeEach(() => {
    h = refundHarness();
    api = {
      clock: h.clock,
      orderViewOptions: {},
      useCases: async () => {
        throw new Error('no payment route is called here');
      },
      refunds: async () => ({ createRefund: h.createRefund, getRefund: h.getRefund, listRefunds: h.listRefunds }),
      events: async () => {
        throw new Error('no events route is called here');
      },
      miniProgram: async () => {
        throw new Error('no mini program route is called here');
      },
    };
  });

  it('POST creates a refund (201, the contract’s shape); the same request again is the same refund (200)', async () => {
    const order = paidOrder();
    await h.orders.create(order);
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    const params = { out_trade_no: order.outTradeNo };
    const body = { out_refund_no: 'R1', amount: { refund: 500 }, reason: '退货' };

    const first = await call(event(APP_BACKEND_ROUTES.createRefund, params, { body }));
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      out_refund_no: 'R1',
      out_trade_no: order.outTradeNo,
      status: 'PROCESSING',
      amount: { refund: 500, total: 1999 },
      reason: '退货',
    });
    const again = await call(event(APP_BACKEND_ROUTES.createRefund, params, { body }));
    expect(again).toEqual({ status: 200, body: expect.objectContaining({ out_refund_no: 'R1' }) });
    expect(h.provider.submitted).toHaveLength(1);
  });

  it('POST: a body breaking a rule is a 400 naming the field, before anything is stored', async () => {
    const order = paidOrder();
    await h.orders.create(order);
    const answer = await call(
      event(APP_BACKEND_ROUTES.createRefund, { out_trade_no: order.outTradeNo }, { body: { amount: { refund: 0 } } }),
    );
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'INVALID_REQUEST', field: 'amount.refund' } } });
    expect(await h.refunds.listRefunds(order.outTradeNo)).toEqual([]);
  });

  it('POST: the domain’s refusals are 409s with their code', async () => {
    const unpaid = paidOrder({ status: 'PENDING', payment: undefined });
    await h.orders.create(unpaid);
    const notPaid = await call(
      event(APP_BACKEND_ROUTES.createRefund, { out_trade_no: unpaid.outTradeNo }, { body: { amount: { refund: 1 } } }),
    );
    expect(notPaid).toMatchObject({ status: 409, body: { error: { code: 'ORDER_NOT_PAID' } } });

    const order = paidOrder();
    await h.orders.create(order);
    const tooMuch = await call(
      event(
        APP_BACKEND_ROUTES.createRefund,
        { out_trade_no: order.outTradeNo },
        { body: { amount: { refund: 2000 } } },
      ),
    );
    expect(tooMuch).toMatchObject({ status: 409, body: { error: { code: 'REFUND_AMOUNT_EXCEEDED' } } });
  });

  it('GET one refund, from storage or (?sync=1) after asking WeChat; GET all of the order’s', async () => {
    const order = paidOrder();
    await h.orders.create(order);
    h.provider.onSubmit((s) => refundReport({ ...s, amount: { refund: s.refund, total: s.total } }, 'PROCESSING'));
    const params = { out_trade_no: order.outTradeNo };
    await call(
      event(APP_BACKEND_ROUTES.createRefund, params, { body: { out_refund_no: 'R1', amount: { refund: 500 } } }),
    );
    await call(
      event(APP_BACKEND_ROUTES.createRefund, params, { body: { out_refund_no: 'R2', amount: { refund: 100 } } }),
    );

    const one = { ...params, out_refund_no: 'R1' };
    expect(await call(event(APP_BACKEND_ROUTES.getRefund, one))).toMatchObject({
      status: 200,
      body: { status: 'PROCESSING' },
    });
    expect(h.provider.calls.filter((c) => c.method === 'queryRefund')).toEqual([]);

    h.provider.onQuery(
      refundReport(
        { outTradeNo: order.outTradeNo, outRefundNo: 'R1', amount: { refund: 500, total: 1999 } },
        'SUCCESS',
      ),
    );
    const synced = await call(event(APP_BACKEND_ROUTES.getRefund, one, { query: { sync: '1' } }));
    expect(synced).toMatchObject({
      status: 200,
      body: { status: 'SUCCESS', success_time: '2030-01-01T09:05:00+08:00' },
    });

    const list = await call(event(APP_BACKEND_ROUTES.listRefunds, params));
    expect(list.status).toBe(200);
    expect((list.body.refunds as Array<Record<string, unknown>>).map((r) => [r.out_refund_no, r.status])).toEqual([
      ['R1', 'SUCCESS'],
      ['R2', 'PROCESSING'],
    ]);
  });

  it('GET: unknown refund or order is a 404; a bad out_refund_no or sync a 400 naming it', async () => {
    const order = paidOrder();
    await h.orders.create(order);
    expect(
      await call(event(APP_BACKEND_ROUTES.getRefund, { out_trade_no: order.outTradeNo, out_refund_no: 'NOPE' })),
    ).toMatchObject({ status: 404 });
    expect(await call(event(APP_BACKEND_ROUTES.listRefunds, { out_trade_no: 'T_UNKNOWN_1' }))).toMatchObject({
      status: 404,
    });
    expect(
      await call(event(APP_BACKEND_ROUTES.getRefund, { out_trade_no: order.outTradeNo, out_refund_no: 'R 1' })),
    ).toMatchObject({ status: 400, body: { error: { field: 'out_refund_no' } } });
    expect(
      await call(
        event(
          APP_BACKEND_ROUTES.getRefund,
          { out_trade_no: order.outTradeNo, out_refund_no: 'R1' },
          { query: { sync: 'yes' } },
        ),
      ),
    ).toMatchObject({ status: 400, body: { error: { field: 'sync' } } });
  });
});
