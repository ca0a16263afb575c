import * as z from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiPathsObject,
  type ZodOpenApiResponseObject,
} from 'zod-openapi';

import { outRefundNoSchema } from '../wechatpay/core/trade-ids';
import { createOrderBodySchema, outTradeNoSchema } from './create-order-schema';
import { LOGIN_RETRY_AFTER_SECONDS } from './http-errors';
import { listEventsQuerySchema } from './list-events-schema';
import { createMiniProgramSessionBodySchema, decryptMiniProgramDataBodySchema } from './miniprogram-schema';
import { billDateSchema, createReconciliationBodySchema } from './reconciliation-schema';
import { createRefundBodySchema } from './refund-schema';
import {
  decryptedUserDataResponseSchema,
  errorResponseSchema,
  eventListResponseSchema,
  gatewayErrorResponseSchema,
  miniProgramSessionResponseSchema,
  orderResponseSchema,
  reconciliationResponseSchema,
  refundListResponseSchema,
  refundResponseSchema,
} from './response-schemas';
import {
  APP_BACKEND_ROUTES,
  type AppBackendRouteName,
  BILL_ROUTES,
  type BillRouteName,
  type HttpMethod,
  type Route,
} from './routes';
import { syncQuerySchema } from './sync-query-schema';

/**
 * The OpenAPI 3.1 document of the app-backend and bill routes, generated from the zod schemas that
 * validate the requests and describe the answers (response-schemas.ts). zod-openapi is a build-time
 * dependency: only the tooling (`npm run openapi`, `cdk synth`) and the local gateway import this
 * module, never a function (test/infra/openapi holds the bundles to that).
 */

const SIGV4 = 'sigv4';

/** The path parameters of the routes, by name, as the handlers check them. */
const PATH_PARAMETERS: Readonly<Record<string, z.ZodString>> = {
  out_trade_no: outTradeNoSchema,
  out_refund_no: outRefundNoSchema,
  bill_date: billDateSchema.meta({ description: 'A Beijing calendar day, YYYY-MM-DD.' }),
};

function pathParameters(route: Route): z.ZodObject | undefined {
  const names = [...route.path.matchAll(/\{([^/{}]+)\}/g)].map((match) => match[1] as string);
  if (names.length === 0) return undefined;
  return z.object(
    Object.fromEntries(
      names.map((name) => {
        const schema = PATH_PARAMETERS[name];
        if (schema === undefined) throw new Error(`no schema for the path parameter ${name} of ${route.path}`);
        return [name, schema];
      }),
    ),
  );
}

function jsonContent(schema: z.ZodType) {
  return { 'application/json': { schema } };
}

function answer(description: string, schema: z.ZodType, headers?: ZodOpenApiResponseObject['headers']) {
  return { description, content: jsonContent(schema), ...(headers === undefined ? {} : { headers }) };
}

const retryAfter = (seconds: string) => ({
  'retry-after': {
    description: `Seconds to wait before asking again (${seconds}).`,
    schema: { type: 'string' as const, pattern: '^\\d+$' },
  },
});

/** API Gateway's throttling, before the function; a route answering its own 429 documents both bodies. */
const THROTTLED =
  "Too Many Requests: API Gateway's throttling (the stage's rate or burst limit), before the function; " +
  'ask again later.';

/**
 * What every route may answer besides its own: a bad request, and API Gateway's own answers (its IAM
 * refusal, a body over its limit, throttling, a function that failed or did not answer in time).
 */
const COMMON_RESPONSES = {
  '400': answer('INVALID_REQUEST: the request is malformed; `field` names the field at fault.', errorResponseSchema),
  '403': answer(
    'Refused by API Gateway (IAM): no, a wrong or a stale SigV4 signature, or no execute-api:Invoke on the route.',
    gatewayErrorResponseSchema,
  ),
  '413': answer(
    "Request Entity Too Large: API Gateway's payload limit (10 MB), before the function. The function's own, " +
      'much smaller cap on a JSON body is a 400.',
    gatewayErrorResponseSchema,
  ),
  '429': answer(THROTTLED, gatewayErrorResponseSchema),
  '500': answer(
    "Internal error (the function's `{ error }`), or API Gateway's `{ message }` when the function failed.",
    z.union([errorResponseSchema, gatewayErrorResponseSchema]),
  ),
  '503': answer(
    'Service Unavailable: API Gateway stopped waiting for the function (30 s, the HTTP API limit); the function ' +
      'may still finish, so a create is asked again with its own out_trade_no or out_refund_no. Locally also ' +
      'while the stack is starting.',
    gatewayErrorResponseSchema,
  ),
} satisfies Record<string, ZodOpenApiResponseObject>;

const WECHAT_FAILED = answer(
  'WeChat Pay (or WeChat) failed or refused: its code, and `retryable` (whether the same request may succeed later).',
  errorResponseSchema,
);

const notFound = (what: string) => answer(`NOT_FOUND: ${what}`, errorResponseSchema);

type Operation = Omit<ZodOpenApiOperationObject, 'security' | 'operationId'>;

/** One operation per route: a route added to routes.ts without one does not compile. */
const OPERATIONS: Record<AppBackendRouteName | BillRouteName, Operation> = {
  createOrder: {
    tags: ['Orders'],
    summary: "Create a payment: WeChat's prepay, and what the client needs to open the cashier",
    description: 'The same request again answers the same payment; the same out_trade_no with other content is a 409.',
    requestBody: { required: true, content: jsonContent(createOrderBodySchema) },
    responses: {
      '201': answer('The order, with `client` for its trade_type.', orderResponseSchema),
      '409': answer('OUT_TRADE_NO_USED: the out_trade_no was used with other content.', errorResponseSchema),
      '502': WECHAT_FAILED,
    },
  },
  getOrder: {
    tags: ['Orders'],
    summary: "The order's authoritative status and payment facts",
    requestParams: { query: syncQuerySchema },
    responses: {
      '200': answer('The order.', orderResponseSchema),
      '404': notFound('no such order.'),
      '502': WECHAT_FAILED,
    },
  },
  closeOrder: {
    tags: ['Orders'],
    summary: 'Close the order at WeChat, then here',
    responses: {
      '200': answer('The order, CLOSED.', orderResponseSchema),
      '404': notFound('no such order.'),
      '409': answer('ORDERPAID (the order is paid), or TOO_EARLY (within 5 minutes of creation).', errorResponseSchema),
      '502': WECHAT_FAILED,
    },
  },
  createRefund: {
    tags: ['Refunds'],
    summary: 'Refund (part of) a paid order',
    requestBody: { required: true, content: jsonContent(createRefundBodySchema) },
    responses: {
      '200': answer('The same refund, asked for again (same out_refund_no, same content).', refundResponseSchema),
      '201': answer('A new refund.', refundResponseSchema),
      '404': notFound('no such order.'),
      '409': answer(
        'OUT_REFUND_NO_USED, ORDER_NOT_PAID, REFUND_AMOUNT_EXCEEDED, TOO_MANY_REFUNDS or REFUND_WINDOW_CLOSED.',
        errorResponseSchema,
      ),
      '502': WECHAT_FAILED,
    },
  },
  listRefunds: {
    tags: ['Refunds'],
    summary: 'Every refund of the order, oldest first',
    responses: {
      '200': answer("The order's refunds.", refundListResponseSchema),
      '404': notFound('no such order.'),
    },
  },
  getRefund: {
    tags: ['Refunds'],
    summary: 'One refund of the order',
    requestParams: { query: syncQuerySchema },
    responses: {
      '200': answer('The refund.', refundResponseSchema),
      '404': notFound('no such order, or no such refund of it.'),
      '502': WECHAT_FAILED,
    },
  },
  listEvents: {
    tags: ['Events'],
    summary: "Every order's and refund's events, oldest first, from a cursor (30 days kept)",
    requestParams: {
      query: listEventsQuerySchema.extend({
        after: listEventsQuerySchema.shape.after.meta({ description: 'The `next` of the previous page.' }),
        limit: listEventsQuerySchema.shape.limit.meta({ description: 'Events per page, 1 to 100.' }),
      }),
    },
    responses: { '200': answer('A page of events and the cursor to ask with next.', eventListResponseSchema) },
  },
  createMiniProgramSession: {
    tags: ['Mini program'],
    summary: "A mini program's wx.login() code → the user's openid (the session key stays here)",
    requestBody: { required: true, content: jsonContent(createMiniProgramSessionBodySchema) },
    responses: {
      '201': answer("The user's openid (and unionid).", miniProgramSessionResponseSchema),
      '400': answer(
        'INVALID_REQUEST, or WeChat refused the code (INVALID_CODE, CODE_USED) with its `wechat_errcode`.',
        errorResponseSchema,
      ),
      '403': answer(
        "HIGH_RISK_USER (WeChat's refusal, `{ error }`), or API Gateway's IAM refusal (`{ message }`).",
        z.union([errorResponseSchema, gatewayErrorResponseSchema]),
      ),
      '429': answer(
        "RATE_LIMITED: WeChat's login quota (`{ error }`, with retry-after); " +
          "or API Gateway's throttling (`{ message }`).",
        z.union([errorResponseSchema, gatewayErrorResponseSchema]),
        retryAfter(`${LOGIN_RETRY_AFTER_SECONDS}`),
      ),
      '502': WECHAT_FAILED,
    },
  },
  decryptMiniProgramData: {
    tags: ['Mini program'],
    summary: "Decrypt user data the mini program received, with the user's kept session key",
    requestBody: { required: true, content: jsonContent(decryptMiniProgramDataBodySchema) },
    responses: {
      '200': answer('The decrypted data, its watermark checked.', decryptedUserDataResponseSchema),
      '400': answer(
        'INVALID_REQUEST, or the data was refused (it does not decrypt, or is watermarked for another appid).',
        errorResponseSchema,
      ),
      '404': notFound('no login session is kept for this openid: log in again.'),
    },
  },
  createReconciliation: {
    tags: ['Reconciliation'],
    summary: "Reconcile a Beijing day: WeChat's trade bill against the orders and refunds here",
    requestBody: { required: true, content: jsonContent(createReconciliationBodySchema) },
    responses: {
      '201': answer("The day's report.", reconciliationResponseSchema),
      '409': answer(
        'BILL_NOT_READY: WeChat is still generating the bill; ask again after `retry-after`.',
        errorResponseSchema,
        retryAfter('by default an hour'),
      ),
      '502': WECHAT_FAILED,
    },
  },
  getReconciliation: {
    tags: ['Reconciliation'],
    summary: 'The stored report of a day',
    responses: {
      '200': answer("The day's report.", reconciliationResponseSchema),
      '404': answer('RECONCILIATION_NOT_FOUND: the day was never reconciled.', errorResponseSchema),
    },
  },
};

function operation(name: AppBackendRouteName | BillRouteName, route: Route): ZodOpenApiOperationObject {
  const own = OPERATIONS[name];
  const path = pathParameters(route);
  return {
    operationId: name,
    ...own,
    requestParams: { ...own.requestParams, ...(path === undefined ? {} : { path }) },
    responses: { ...COMMON_RESPONSES, ...own.responses },
    security: [{ [SIGV4]: [] }],
  };
}

function paths(): ZodOpenApiPathsObject {
  const routes: Array<[AppBackendRouteName | BillRouteName, Route]> = [
    ...(Object.entries(APP_BACKEND_ROUTES) as Array<[AppBackendRouteName, Route]>),
    ...(Object.entries(BILL_ROUTES) as Array<[BillRouteName, Route]>),
  ];
  const byPath: ZodOpenApiPathsObject = {};
  for (const [name, route] of routes) {
    const method = route.method.toLowerCase() as Lowercase<HttpMethod>;
    byPath[route.path] = { ...byPath[route.path], [method]: operation(name, route) };
  }
  return byPath;
}

/** The webhook each event is POSTed as (Standard Webhooks), the same body as an item of GET /events. */
const EVENT_WEBHOOK: ZodOpenApiOperationObject = {
  summary: 'An event, POSTed to MERCHANT_WEBHOOK_URL (Standard Webhooks)',
  description:
    'Signed: `webhook-signature` is `v1,` + base64 HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` ' +
    'with the base64-decoded bytes of MERCHANT_WEBHOOK_SECRET after its `whsec_` prefix. Any 2xx delivers it; ' +
    'anything else, or no answer in 5 s, is retried on WEBHOOK_RETRY_SCHEDULE.',
  requestParams: {
    header: z.object({
      'webhook-id': z.string().meta({ description: "The event's id, the same on every retry." }),
      'webhook-timestamp': z.string().regex(/^\d+$/).meta({ description: 'Unix seconds of this attempt.' }),
      'webhook-signature': z.string().meta({ description: 'Space-separated `v1,<base64>` signatures.' }),
    }),
  },
  // The event as the API answers it (its output component), not a request schema's input reading.
  requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Event' } } } },
  responses: { '2XX': { description: 'Delivered.' } },
};

function build(): Record<string, unknown> {
  const document = createDocument({
    openapi: '3.1.0',
    info: {
      title: 'WeChat Pay on AWS: app-backend API',
      version: '1',
      description:
        "Orders, refunds, events, mini program login and bill reconciliation for a merchant's app backend. " +
        'IAM-authorised in AWS: every request is signed with SigV4 (service execute-api). Amounts are integer ' +
        'fen, ids strings, every time RFC 3339 with its offset.',
    },
    tags: [
      { name: 'Orders' },
      { name: 'Refunds' },
      { name: 'Events' },
      { name: 'Mini program' },
      { name: 'Reconciliation' },
    ],
    security: [{ [SIGV4]: [] }],
    components: {
      securitySchemes: {
        [SIGV4]: {
          type: 'apiKey',
          in: 'header',
          name: 'Authorization',
          description:
            "AWS Signature Version 4 (AWS4-HMAC-SHA256), service `execute-api`, the API's region; the caller " +
            'needs execute-api:Invoke on the route. Sign with @smithy/signature-v4 (or any SigV4 signer) and send ' +
            'its Authorization, x-amz-date and (with temporary credentials) x-amz-security-token headers.',
          'x-amazon-apigateway-authtype': 'awsSigv4',
        },
      },
    },
    paths: paths(),
    webhooks: { event: { post: EVENT_WEBHOOK } },
  });
  // Plain JSON: what is printed, written and served is exactly this.
  return JSON.parse(JSON.stringify(document)) as Record<string, unknown>;
}

let built: Record<string, unknown> | undefined;

/**
 * The document; `serverUrl` (the local gateway, or a deployed API's URL) becomes its one server. Each
 * call answers a fresh copy, so a caller may change it.
 */
export function openApiDocument(options: { serverUrl?: string } = {}): Record<string, unknown> {
  built ??= build();
  const { openapi, info, ...rest } = structuredClone(built);
  const servers = options.serverUrl === undefined ? {} : { servers: [{ url: options.serverUrl }] };
  return { openapi, info, ...servers, ...rest };
}
