import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import type * as z from 'zod';

import type { createOrderBodySchema } from '../app/create-order-schema';
import type { decryptMiniProgramDataBodySchema } from '../app/miniprogram-schema';
import type { createReconciliationBodySchema } from '../app/reconciliation-schema';
import type { createRefundBodySchema } from '../app/refund-schema';
import {
  decryptedUserDataResponseSchema,
  type DecryptedUserDataResponse,
  errorResponseSchema,
  eventListResponseSchema,
  type EventListResponse,
  gatewayErrorResponseSchema,
  miniProgramSessionResponseSchema,
  type MiniProgramSessionResponse,
  orderResponseSchema,
  type OrderResponse,
  reconciliationResponseSchema,
  type ReconciliationResponse,
  refundListResponseSchema,
  type RefundListResponse,
  refundResponseSchema,
  type RefundResponse,
} from '../app/response-schemas';
import { APP_BACKEND_ROUTES, BILL_ROUTES, type Route, routePath } from '../app/routes';
import { AppBackendError } from './app-backend-error';
import { type AwsCredentials, type AwsCredentialsProvider, type RawAnswer, SigV4Transport } from './sigv4-transport';

/** The bodies as the API takes them (defaults such as `currency` may be left out). */
export type CreateOrderRequest = z.input<typeof createOrderBodySchema>;
export type CreateRefundRequest = z.input<typeof createRefundBodySchema>;
export type DecryptMiniProgramDataRequest = z.input<typeof decryptMiniProgramDataBodySchema>;
export type CreateReconciliationRequest = z.input<typeof createReconciliationBodySchema>;

export interface AppBackendClientOptions {
  /** The API's invoke URL (`https://{api-id}.execute-api.{region}.amazonaws.com`), or the local gateway's. */
  baseUrl: string;
  /** The API's region: the signature names it, and API Gateway refuses any other. */
  region: string;
  /**
   * Who signs: by default the AWS SDK's default chain (environment, SSO, shared files, web identity,
   * ECS/EC2 roles), asked before each call so temporary credentials are refreshed.
   */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** By default the global fetch. */
  fetch?: typeof fetch;
  /** For each call, the answer's body included; default 30 s (API Gateway's own limit is 30 s). */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * The app-backend API (README "The API") as typed calls, each signed with SigV4 for `execute-api`, as
 * the HTTP API's IAM authorization requires. Every answer is checked against the schema the OpenAPI
 * document is made from: what the caller gets is what the types say, or an AppBackendError.
 *
 * No call is retried here. An error is `retryable` only when sending the same call again can do no
 * harm: a GET, a close, a reconciliation of a day, a decryption, and a create or refund that carries its
 * own out_trade_no or out_refund_no (the API answers the same order or refund again). A create or refund
 * without its id is never retryable: after a timeout it may have been made, and a retry makes another.
 */
export class AppBackendClient {
  private readonly transport: SigV4Transport;

  constructor(options: AppBackendClientOptions) {
    this.transport = new SigV4Transport({
      baseUrl: options.baseUrl,
      region: options.region,
      credentials: options.credentials ?? fromNodeProviderChain(),
      fetch: options.fetch ?? globalThis.fetch,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    });
  }

  /** `POST /orders`: a new payment (201), or the same one again for the same request. */
  createOrder(body: CreateOrderRequest): Promise<OrderResponse> {
    return this.call(APP_BACKEND_ROUTES.createOrder, {}, orderResponseSchema, {
      body,
      idempotent: body.out_trade_no !== undefined,
    });
  }

  /** `GET /orders/{out_trade_no}`; `sync` asks WeChat first when the order is not final. */
  getOrder(outTradeNo: string, options: { sync?: boolean } = {}): Promise<OrderResponse> {
    return this.call(APP_BACKEND_ROUTES.getOrder, { out_trade_no: outTradeNo }, orderResponseSchema, {
      query: { sync: options.sync === true ? '1' : undefined },
      idempotent: true,
    });
  }

  /** `POST /orders/{out_trade_no}/close`: closes at WeChat, then here (409 when paid or too early). */
  closeOrder(outTradeNo: string): Promise<OrderResponse> {
    // Closing a closed order answers it again: the order names itself in the path.
    return this.call(APP_BACKEND_ROUTES.closeOrder, { out_trade_no: outTradeNo }, orderResponseSchema, {
      idempotent: true,
    });
  }

  /** `POST /orders/{out_trade_no}/refunds`: a new refund (201) or the same one again (200). */
  createRefund(outTradeNo: string, body: CreateRefundRequest): Promise<RefundResponse> {
    return this.call(APP_BACKEND_ROUTES.createRefund, { out_trade_no: outTradeNo }, refundResponseSchema, {
      body,
      idempotent: body.out_refund_no !== undefined,
    });
  }

  /** `GET /orders/{out_trade_no}/refunds`: every refund of the order, oldest first. */
  listRefunds(outTradeNo: string): Promise<RefundListResponse> {
    return this.call(APP_BACKEND_ROUTES.listRefunds, { out_trade_no: outTradeNo }, refundListResponseSchema, {
      idempotent: true,
    });
  }

  /** `GET /orders/{out_trade_no}/refunds/{out_refund_no}`; `sync` asks WeChat first when it is not final. */
  getRefund(outTradeNo: string, outRefundNo: string, options: { sync?: boolean } = {}): Promise<RefundResponse> {
    return this.call(
      APP_BACKEND_ROUTES.getRefund,
      { out_trade_no: outTradeNo, out_refund_no: outRefundNo },
      refundResponseSchema,
      { query: { sync: options.sync === true ? '1' : undefined }, idempotent: true },
    );
  }

  /** `GET /events`: events after the cursor (from the start without one), oldest first; `next` is the cursor. */
  listEvents(options: { after?: string; limit?: number } = {}): Promise<EventListResponse> {
    return this.call(APP_BACKEND_ROUTES.listEvents, {}, eventListResponseSchema, {
      query: { after: options.after, limit: options.limit === undefined ? undefined : String(options.limit) },
      idempotent: true,
    });
  }

  /** `POST /miniprogram/sessions`: the code of the mini program's wx.login() → the user's openid. */
  createMiniProgramSession(code: string): Promise<MiniProgramSessionResponse> {
    return this.call(APP_BACKEND_ROUTES.createMiniProgramSession, {}, miniProgramSessionResponseSchema, {
      body: { code },
      // WeChat takes a wx.login() code once: a second attempt is refused, the mini program must log in again.
      idempotent: false,
    });
  }

  /** `POST /miniprogram/decrypt`: user data the mini program received, opened with the user's session key. */
  decryptMiniProgramData(body: DecryptMiniProgramDataRequest): Promise<DecryptedUserDataResponse> {
    // Only reads: opens the data with the session key kept for the openid.
    return this.call(APP_BACKEND_ROUTES.decryptMiniProgramData, {}, decryptedUserDataResponseSchema, {
      body,
      idempotent: true,
    });
  }

  /** `POST /reconciliations`: reconciles a Beijing day with WeChat's bill (409 with retryAfterSeconds: not ready). */
  createReconciliation(body: CreateReconciliationRequest): Promise<ReconciliationResponse> {
    // The day names the report: a second run of the same day replaces it with the same comparison.
    return this.call(BILL_ROUTES.createReconciliation, {}, reconciliationResponseSchema, { body, idempotent: true });
  }

  /** `GET /reconciliations/{bill_date}`: the stored report of that day. */
  getReconciliation(billDate: string): Promise<ReconciliationResponse> {
    return this.call(BILL_ROUTES.getReconciliation, { bill_date: billDate }, reconciliationResponseSchema, {
      idempotent: true,
    });
  }

  private async call<S extends z.ZodType>(
    route: Route,
    parameters: Record<string, string>,
    schema: S,
    input: { query?: Record<string, string | undefined>; body?: unknown; idempotent: boolean },
  ): Promise<z.output<S>> {
    const answer = await this.transport.send({ method: route.method, path: routePath(route, parameters), ...input });
    if (answer.status < 200 || answer.status > 299) throw errorOf(answer, input.idempotent);
    const parsed = schema.safeParse(jsonOf(answer.text));
    if (!parsed.success) {
      throw new AppBackendError({
        status: answer.status,
        code: 'INVALID_RESPONSE',
        message: `${route.method} ${route.path}: the answer is not what the API promises (${parsed.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
          .join('; ')})`,
        retryable: false,
      });
    }
    return parsed.data;
  }
}

function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The error a non-2xx answer stands for: the backend's own error body, else API Gateway's, else the
 * status. The backend's `retryable` says the same call may succeed later; for a call that is not
 * idempotent it is false all the same (a 502 on a refund without its own id: WeChat may have made it).
 */
function errorOf(answer: RawAnswer, idempotent: boolean): AppBackendError {
  const json = jsonOf(answer.text);
  const retryAfterSeconds = retryAfterOf(answer.headers.get('retry-after'));
  const ours = errorResponseSchema.safeParse(json);
  if (ours.success) {
    const { code, message, field, retryable } = ours.data.error;
    return new AppBackendError({
      status: answer.status,
      code,
      message,
      field,
      retryable: retryable === true && !idempotent ? false : retryable,
      retryAfterSeconds,
    });
  }
  const gateway = gatewayErrorResponseSchema.safeParse(json);
  return new AppBackendError({
    status: answer.status,
    code: `HTTP_${answer.status}`,
    message: gateway.success ? gateway.data.message : `HTTP ${answer.status}`,
    retryAfterSeconds,
  });
}

/** Retry-After as seconds from now: delta-seconds or an HTTP date (RFC 9110 §10.2.3). */
function retryAfterOf(value: string | null): number | undefined {
  if (value === null) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}
