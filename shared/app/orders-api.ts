import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import type { ListEvents } from '../domain/list-events';
import type { Clock } from '../domain/ports';
import { parseCreateOrder, parseOutTradeNo } from './create-order-schema';
import type { MiniProgramUseCases, PaymentUseCases, RefundUseCases } from './dependencies';
import { eventView } from './event-view';
import { errorBody, json } from './http-responses';
import { jsonBody } from './json-body';
import { orderView, type OrderViewOptions } from './order-view';
import { parseListEventsQuery } from './list-events-schema';
import {
  MAX_USER_DATA_BODY_BYTES,
  parseCreateMiniProgramSession,
  parseDecryptMiniProgramData,
} from './miniprogram-schema';
import { parseCreateRefund, parseOutRefundNo } from './refund-schema';
import { refundView } from './refund-view';
import type { MiniProgramSessionResponse, RefundListResponse } from './response-schemas';
import { parseSyncQuery } from './sync-query-schema';
import { APP_BACKEND_ROUTES, type AppBackendRouteName, type Route, routeKey } from './routes';

/** API Gateway's payload cap is 10 MB; an order or a refund is a few hundred bytes. */
const MAX_BODY_BYTES = 16 * 1024;

/**
 * What the routes need: the use cases (built once WeChat credentials are loaded), the clock, and how
 * this deployment shows an order (locally: the cashier link).
 */
export interface OrdersApi {
  clock: Clock;
  orderViewOptions: OrderViewOptions;
  useCases(): Promise<PaymentUseCases>;
  refunds(): Promise<RefundUseCases>;
  /** The events log's reader; needs no WeChat credentials. */
  events(): Promise<ListEvents>;
  /** The mini program login and user data; needs the AppSecret besides the appid. */
  miniProgram(): Promise<MiniProgramUseCases>;
}

type RouteHandler = (event: APIGatewayProxyEventV2, api: OrdersApi) => Promise<APIGatewayProxyStructuredResultV2>;

/** One handler per app-backend route: a route added to the table without one does not compile. */
const ROUTE_HANDLERS: Record<AppBackendRouteName, RouteHandler> = {
  async createOrder(event, api) {
    const { createPayment } = await api.useCases();
    const order = await createPayment.execute(parseCreateOrder(jsonBody(event, MAX_BODY_BYTES), api.clock.now()));
    return json(201, orderView(order, api.orderViewOptions));
  },
  async getOrder(event, api) {
    const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
    const sync = parseSyncQuery(event.queryStringParameters);
    const { getPayment } = await api.useCases();
    const order = await getPayment.execute(outTradeNo, { sync });
    return json(200, orderView(order, api.orderViewOptions));
  },
  async closeOrder(event, api) {
    const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
    const { closePayment } = await api.useCases();
    const order = await closePayment.execute(outTradeNo);
    return json(200, orderView(order, api.orderViewOptions));
  },
  async createRefund(event, api) {
    const { createRefund } = await api.refunds();
    const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
    const request = parseCreateRefund(outTradeNo, jsonBody(event, MAX_BODY_BYTES), api.clock.now());
    const { refund, created } = await createRefund.execute(request);
    // The same refund asked for again (same out_refund_no, same content) is the one already made.
    return json(created ? 201 : 200, refundView(refund));
  },
  async listRefunds(event, api) {
    const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
    const { listRefunds } = await api.refunds();
    const refunds = await listRefunds.execute(outTradeNo);
    return json(200, { refunds: refunds.map(refundView) } satisfies RefundListResponse);
  },
  async getRefund(event, api) {
    const outTradeNo = parseOutTradeNo(event.pathParameters?.out_trade_no);
    const outRefundNo = parseOutRefundNo(event.pathParameters?.out_refund_no);
    const sync = parseSyncQuery(event.queryStringParameters);
    const { getRefund } = await api.refunds();
    const refund = await getRefund.execute(outTradeNo, outRefundNo, { sync });
    return json(200, refundView(refund));
  },
  async listEvents(event, api) {
    const query = parseListEventsQuery(event.queryStringParameters);
    const events = await api.events();
    const page = await events.list(query);
    // `next` is always a cursor, even for an empty page: asked with later, it misses none recorded since.
    return json(200, { events: page.events.map(eventView), next: page.next });
  },
  async createMiniProgramSession(event, api) {
    const { code } = parseCreateMiniProgramSession(jsonBody(event, MAX_BODY_BYTES));
    const { startSession } = await api.miniProgram();
    const { openid, unionid } = await startSession.execute(code);
    // The identity only: the session key never leaves the server.
    return json(201, { openid, ...(unionid === undefined ? {} : { unionid }) } satisfies MiniProgramSessionResponse);
  },
  async decryptMiniProgramData(event, api) {
    const { openid, data } = parseDecryptMiniProgramData(jsonBody(event, MAX_USER_DATA_BODY_BYTES));
    const { decryptUserData } = await api.miniProgram();
    return json(200, await decryptUserData.execute(openid, data));
  },
};

/** By the routeKey API Gateway puts in the event. */
const ROUTES_BY_KEY: ReadonlyMap<string, { route: Route; handle: RouteHandler }> = new Map(
  (Object.keys(APP_BACKEND_ROUTES) as AppBackendRouteName[]).map((name) => {
    const route = APP_BACKEND_ROUTES[name];
    return [routeKey(route), { route, handle: ROUTE_HANDLERS[name] }];
  }),
);

/**
 * The app-backend routes (routes.ts), chosen by the event's routeKey and method. Errors are left to
 * the handler's error layer (http-errors.ts), which maps them to HTTP in one place.
 */
export async function routeOrders(
  event: APIGatewayProxyEventV2,
  api: OrdersApi,
): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext.http.method;
  const route = event.routeKey;
  const found = ROUTES_BY_KEY.get(route);
  if (found !== undefined && found.route.method === method) return found.handle(event, api);
  return json(404, errorBody('NOT_FOUND', `no route ${route}`));
}
