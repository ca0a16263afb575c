/**
 * Every HTTP route of the backend, shared by the CDK stack (the HTTP API's routes), the local gateway
 * (which matches requests against them and builds the same events) and the handlers (which dispatch
 * on them), so the three cannot drift apart.
 */

export type HttpMethod = 'GET' | 'POST';

export interface Route {
  readonly method: HttpMethod;
  /** API Gateway's path syntax: `{name}` is one path segment, handed over as pathParameters.name. */
  readonly path: string;
}

/** The app-backend API (README "The API"), all on the orders Lambda, IAM-authorised in AWS. */
export const APP_BACKEND_ROUTES = {
  createOrder: { method: 'POST', path: '/orders' },
  getOrder: { method: 'GET', path: '/orders/{out_trade_no}' },
  closeOrder: { method: 'POST', path: '/orders/{out_trade_no}/close' },
  createRefund: { method: 'POST', path: '/orders/{out_trade_no}/refunds' },
  listRefunds: { method: 'GET', path: '/orders/{out_trade_no}/refunds' },
  getRefund: { method: 'GET', path: '/orders/{out_trade_no}/refunds/{out_refund_no}' },
  /** Every order's and refund's events, oldest first, from a cursor: the pull path beside webhooks. */
  listEvents: { method: 'GET', path: '/events' },
  /** A mini program's wx.login() code → the user's openid; the session key stays here (sealed). */
  createMiniProgramSession: { method: 'POST', path: '/miniprogram/sessions' },
  /** User data the mini program sent, opened with the user's kept session key. */
  decryptMiniProgramData: { method: 'POST', path: '/miniprogram/decrypt' },
} as const satisfies Record<string, Route>;

export type AppBackendRouteName = keyof typeof APP_BACKEND_ROUTES;

/**
 * Daily bill reconciliation (README "Bill reconciliation"): on the bills Lambda, not the orders one
 * (a large day's bill takes minutes and a full vCPU), IAM-authorised in AWS like the app-backend API.
 */
export const BILL_ROUTES = {
  /** `{ bill_date }`: downloads WeChat's bill of that Beijing day, compares, stores the report. */
  createReconciliation: { method: 'POST', path: '/reconciliations' },
  /** The stored report of a day. */
  getReconciliation: { method: 'GET', path: '/reconciliations/{bill_date}' },
} as const satisfies Record<string, Route>;

export type BillRouteName = keyof typeof BILL_ROUTES;

/** Where WeChat Pay posts notifications: a path on the notify Function URL in AWS, on the gateway locally. */
export const NOTIFY_ROUTE = { method: 'POST', path: '/notify/pay' } as const satisfies Route;

/**
 * Where WeChat Pay posts refund notifications: beside NOTIFY_ROUTE on the same notify URL, so one
 * Function URL serves both (the refund notify_url is NOTIFY_URL with its last segment `pay` replaced
 * by `refund`: see refundNotifyUrl in dependencies.ts).
 */
export const NOTIFY_REFUND_ROUTE = { method: 'POST', path: '/notify/refund' } as const satisfies Route;

/** Every route of the notify function. */
export const NOTIFY_ROUTES = [NOTIFY_ROUTE, NOTIFY_REFUND_ROUTE] as const satisfies readonly Route[];

/** The local gateway's own readiness check; AWS has no such route. */
export const HEALTH_ROUTE = { method: 'GET', path: '/health' } as const satisfies Route;

/** `METHOD /path`, as API Gateway names a route in its template and in each event's routeKey. */
export function routeKey(route: Route): string {
  return `${route.method} ${route.path}`;
}

/** A concrete path of the route, each parameter URL-encoded as one segment. */
export function routePath(route: Route, parameters: Readonly<Record<string, string>> = {}): string {
  return route.path.replace(/\{([^/{}]+)\}/g, (_whole, name: string) => {
    const value = parameters[name];
    if (value === undefined) throw new Error(`${routeKey(route)} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
}

/**
 * The notify_url given to WeChat with each refund: the payments' NOTIFY_URL with its NOTIFY_ROUTE path
 * replaced by NOTIFY_REFUND_ROUTE's (`…/notify/pay` → `…/notify/refund`), so both reach the same notify
 * function. Undefined when NOTIFY_URL does not end in NOTIFY_ROUTE's path: the notify function answers
 * only on its own paths, so no refund notification could arrive (a start-up error for who needs it).
 */
export function refundNotifyUrlOf(notifyUrl: string): string | undefined {
  if (!notifyUrl.endsWith(NOTIFY_ROUTE.path)) return undefined;
  return `${notifyUrl.slice(0, -NOTIFY_ROUTE.path.length)}${NOTIFY_REFUND_ROUTE.path}`;
}
