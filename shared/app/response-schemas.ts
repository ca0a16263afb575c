import * as z from 'zod';

import { DISCREPANCY_KINDS } from '../domain/bill-reconciliation';
import { EVENT_ID_PATTERN, EVENT_TYPES } from '../domain/events';
import { ORDER_STATUSES, TRADE_TYPES } from '../domain/order';
import { REFUND_STATUSES } from '../domain/refund';

/**
 * What the app-backend and bill routes answer, as zod schemas: the OpenAPI document
 * (openapi-document.ts) is generated from them and the app-backend client parses answers with them,
 * so both say what the views (order-view.ts, refund-view.ts, …) really send. `.meta({ id })` makes
 * a schema an OpenAPI component. The views build their answers by hand; test/e2e/openapi-responses
 * holds real answers of every route against these.
 */

/** Every time in an answer: RFC 3339 with its offset (`Z` included); OpenAPI `format: date-time`. */
const dateTime = () => z.iso.datetime({ offset: true });

/** Every amount: integer fen. */
const fen = () => z.number().int().nonnegative();

const currency = z.literal('CNY');

const amountSchema = z.object({ total: fen(), currency }).meta({ id: 'Amount' });

const appClientSchema = z
  .object({
    appid: z.string(),
    partnerid: z.string(),
    prepayid: z.string(),
    package: z.literal('Sign=WXPay'),
    noncestr: z.string(),
    timestamp: z.string(),
    sign: z.string(),
  })
  .meta({ id: 'AppClient', description: "APP: the OpenSDK PayReq's fields." });

const jsapiClientSchema = z
  .object({
    appId: z.string(),
    timeStamp: z.string(),
    nonceStr: z.string(),
    package: z.string(),
    signType: z.string().meta({ description: 'v2: MD5 or HMAC-SHA256; v3: RSA.' }),
    paySign: z.string(),
  })
  .meta({ id: 'JsapiClient', description: 'JSAPI: the arguments of wx.requestPayment / getBrandWCPayRequest.' });

const nativeClientSchema = z
  .object({ code_url: z.string() })
  .meta({ id: 'NativeClient', description: 'NATIVE: the text of the QR code the payer scans.' });

const mwebClientSchema = z
  .object({ mweb_url: z.string() })
  .meta({ id: 'MwebClient', description: "MWEB (H5): the URL that opens WeChat's cashier from a mobile browser." });

const paymentSchema = z.object({
  transaction_id: z.string(),
  amount: amountSchema,
  paid_at: dateTime(),
  bank_type: z.string().nullable(),
  payer: z.object({ openid: z.string().nullable() }),
});

const latePaymentSchema = z
  .object({
    transaction_id: z.string(),
    amount: amountSchema,
    paid_at: dateTime(),
    received_at: dateTime(),
  })
  .meta({ description: 'A payment WeChat took for an order already CLOSED here: to be refunded, not fulfilled.' });

const refundSummarySchema = z
  .object({ refunded: fen(), pending: fen(), refundable: fen() })
  .meta({ description: 'Fen: SUCCESS refunds, PROCESSING and ABNORMAL ones, and what is left of the payment.' });

export const orderResponseSchema = z
  .object({
    out_trade_no: z.string(),
    status: z.enum(ORDER_STATUSES),
    trade_type: z.enum(TRADE_TYPES),
    description: z.string(),
    amount: amountSchema,
    prepay_id: z.string().nullable(),
    expires_at: dateTime(),
    client: z
      // null until WeChat's prepay is in; one flat union, so the document lists five choices, not two.
      .union([appClientSchema, jsapiClientSchema, nativeClientSchema, mwebClientSchema, z.null()])
      .meta({ description: "What the phone, page or QR code needs to open WeChat's cashier, by trade_type." }),
    // Beside `client`, not in it: v2's sign covers every field of the APP and JSAPI sets, and
    // wx.requestPayment takes the set as it is, so the client stays exactly what WeChat signed.
    sandbox_cashier_url: z.url().optional().meta({
      description: "The local simulator's cashier page for this order; present only on a local stack, never in AWS.",
    }),
    created_at: dateTime(),
    updated_at: dateTime(),
    payment: paymentSchema.optional(),
    late_payment: latePaymentSchema.optional(),
    refund: refundSummarySchema.optional(),
    reason: z.string().optional(),
    checks_exhausted_at: dateTime().optional(),
  })
  .meta({ id: 'Order' });
export type OrderResponse = z.output<typeof orderResponseSchema>;

export const refundResponseSchema = z
  .object({
    out_refund_no: z.string(),
    out_trade_no: z.string(),
    status: z.enum(REFUND_STATUSES),
    amount: z.object({ refund: fen(), total: fen(), currency }),
    refund_id: z.string().optional(),
    reason: z.string().optional(),
    created_at: dateTime(),
    updated_at: dateTime(),
    success_time: dateTime().optional(),
  })
  .meta({ id: 'Refund' });
export type RefundResponse = z.output<typeof refundResponseSchema>;

export const refundListResponseSchema = z
  .object({ refunds: z.array(refundResponseSchema) })
  .meta({ id: 'RefundList', description: 'Every refund of the order, oldest first.' });
export type RefundListResponse = z.output<typeof refundListResponseSchema>;

export const eventResponseSchema = z
  .object({
    id: z.string().regex(EVENT_ID_PATTERN),
    type: z.enum(EVENT_TYPES),
    created_at: dateTime(),
    data: z
      .union([orderResponseSchema, refundResponseSchema])
      .meta({ description: 'The order (payment.*) or the refund (refund.*) as the API answered it at the change.' }),
  })
  .meta({ id: 'Event' });
export type EventResponse = z.output<typeof eventResponseSchema>;

export const eventListResponseSchema = z
  .object({
    events: z.array(eventResponseSchema),
    next: z.string().meta({ description: 'The cursor to ask with next (`after`), also after an empty page.' }),
  })
  .meta({ id: 'EventList' });
export type EventListResponse = z.output<typeof eventListResponseSchema>;

export const miniProgramSessionResponseSchema = z
  .object({ openid: z.string(), unionid: z.string().optional() })
  .meta({ id: 'MiniProgramSession' });
export type MiniProgramSessionResponse = z.output<typeof miniProgramSessionResponseSchema>;

export const decryptedUserDataResponseSchema = z
  .looseObject({
    watermark: z.looseObject({ appid: z.string(), timestamp: z.number().int().optional() }),
  })
  .meta({
    id: 'DecryptedUserData',
    description: "The user data as WeChat encrypted it, whole; its watermark's appid is this mini program's.",
  });
export type DecryptedUserDataResponse = z.output<typeof decryptedUserDataResponseSchema>;

const discrepancySideSchema = z
  .object({
    status: z.string(),
    amount: fen(),
    transaction_id: z.string().optional(),
    refund_id: z.string().optional(),
  })
  .meta({ id: 'DiscrepancySide' });

const discrepancySchema = z
  .object({
    kind: z.enum(DISCREPANCY_KINDS),
    out_trade_no: z.string(),
    out_refund_no: z.string().optional(),
    wechat: discrepancySideSchema.optional(),
    here: discrepancySideSchema.optional(),
    repaired: z.literal(true).optional(),
  })
  .meta({ id: 'Discrepancy' });

export const reconciliationResponseSchema = z
  .object({
    bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
    status: z.enum(['MATCHED', 'DISCREPANCIES']),
    counts: z.object({ wechat: fen(), here: fen(), matched: fen(), discrepancies: fen() }),
    discrepancies: z.array(discrepancySchema),
    bill_found: z.boolean(),
    api_version: z.enum(['v2', 'v3']),
    reconciled_at: dateTime(),
  })
  .meta({ id: 'Reconciliation' });
export type ReconciliationResponse = z.output<typeof reconciliationResponseSchema>;

export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      field: z.string().optional().meta({ description: 'The request field at fault (dotted path).' }),
      retryable: z.boolean().optional().meta({ description: 'On 502: whether the same request may succeed later.' }),
      wechat_errcode: z
        .number()
        .int()
        .optional()
        .meta({ description: "WeChat's errcode, when WeChat refused a mini program login." }),
    }),
  })
  .meta({ id: 'Error' });
export type ErrorResponse = z.output<typeof errorResponseSchema>;

/**
 * API Gateway's own answers, before or after the function (IAM refusal 403, a failed invocation 500):
 * `{ "message": ... }`. The local gateway answers the same way.
 */
export const gatewayErrorResponseSchema = z.object({ message: z.string() }).meta({ id: 'GatewayError' });
export type GatewayErrorResponse = z.output<typeof gatewayErrorResponseSchema>;
