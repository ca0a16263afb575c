import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

import { NotFoundError } from '../domain/errors';
import type { Clock } from '../domain/ports';
import { errorBody, json } from './http-responses';
import { jsonBody } from './json-body';
import type { Reconciliations } from './reconciliation-runs';
import { parseCreateReconciliation, parseReconciliationDate } from './reconciliation-schema';
import { reconciliationView } from './reconciliation-view';
import { BILL_ROUTES, type BillRouteName, type Route, routeKey } from './routes';

/** `{ "bill_date": "YYYY-MM-DD" }` is 26 bytes; room for whitespace, nothing more. */
const MAX_BODY_BYTES = 1024;

/** What the bill routes need. */
export interface BillsApi {
  clock: Clock;
  /** A run needs the merchant's credentials (loaded on its first use); reading a report does not. */
  reconciliations: Reconciliations;
}

type RouteHandler = (event: APIGatewayProxyEventV2, api: BillsApi) => Promise<APIGatewayProxyStructuredResultV2>;

/** One handler per bill route: a route added to BILL_ROUTES without one does not compile. */
const ROUTE_HANDLERS: Record<BillRouteName, RouteHandler> = {
  async createReconciliation(event, api) {
    const billDate = parseCreateReconciliation(jsonBody(event, MAX_BODY_BYTES), api.clock.now());
    const report = await api.reconciliations.run(billDate);
    return json(201, reconciliationView(report));
  },
  async getReconciliation(event, api) {
    const billDate = parseReconciliationDate(event.pathParameters?.bill_date);
    const report = await api.reconciliations.get(billDate);
    if (report === undefined) {
      throw new NotFoundError(`no reconciliation of ${billDate}; POST /reconciliations runs one`, {
        code: 'RECONCILIATION_NOT_FOUND',
      });
    }
    return json(200, reconciliationView(report));
  },
};

const ROUTES_BY_KEY: ReadonlyMap<string, { route: Route; handle: RouteHandler }> = new Map(
  (Object.keys(BILL_ROUTES) as BillRouteName[]).map((name) => {
    const route = BILL_ROUTES[name];
    return [routeKey(route), { route, handle: ROUTE_HANDLERS[name] }];
  }),
);

/**
 * The bill routes (routes.ts), chosen by the event's routeKey and method. Errors are left to the
 * caller's error layer (http-errors.ts).
 */
export async function routeBills(
  event: APIGatewayProxyEventV2,
  api: BillsApi,
): Promise<APIGatewayProxyStructuredResultV2> {
  const found = ROUTES_BY_KEY.get(event.routeKey);
  if (found !== undefined && found.route.method === event.requestContext.http.method) return found.handle(event, api);
  return json(404, errorBody('NOT_FOUND', `no route ${event.routeKey}`));
}
