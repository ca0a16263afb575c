import * as z from 'zod';

/**
 * The simulator's record of one trade, the same whichever protocol created it. Protocol details
 * (v2's sign type; v3 has none) live under `protocol`; everything else is WeChat's own model. The
 * protocol that created the order decides how its payment notification is written.
 * Defined as zod schemas because the state file is read back from disk and must be checked.
 */

export const tradeStateSchema = z.enum(['NOTPAY', 'USERPAYING', 'SUCCESS', 'CLOSED', 'PAYERROR']);
export type TradeState = z.infer<typeof tradeStateSchema>;

export const tradeTypeSchema = z.enum(['JSAPI', 'NATIVE', 'APP', 'MWEB']);
export type TradeType = z.infer<typeof tradeTypeSchema>;

export const protocolSchema = z.discriminatedUnion('version', [
  z.object({ version: z.literal('v2'), signType: z.enum(['MD5', 'HMAC-SHA256']) }),
  z.object({ version: z.literal('v3') }),
]);
export type ProtocolInfo = z.infer<typeof protocolSchema>;

export const prepaySchema = z.object({
  prepayId: z.string(),
  issuedAt: z.number(),
  expiresAt: z.number(),
  codeUrl: z.string().optional(),
  mwebUrl: z.string().optional(),
});
export type Prepay = z.infer<typeof prepaySchema>;

export const paymentSchema = z.object({
  transactionId: z.string(),
  paidAt: z.number(),
  openid: z.string(),
  bankType: z.string(),
  cashFee: z.number().int(),
});
export type Payment = z.infer<typeof paymentSchema>;

/** A notification's delivery progress, the same for payments and refunds. */
export const notificationProgressFields = {
  /** A new event replaces the job; attempts of an old one stop when they see the id change. */
  id: z.string(),
  status: z.enum(['pending', 'delivered', 'gave_up', 'dropped']),
  /** Attempts made so far. */
  attempts: z.number().int().min(0),
  /** When the next attempt is due (epoch ms); kept so a restarted simulator resumes the schedule. */
  nextAttemptAt: z.number().optional(),
};
export const notificationProgressSchema = z.object(notificationProgressFields);
export type NotificationProgress = z.infer<typeof notificationProgressSchema>;

export const notificationJobSchema = z.object({ ...notificationProgressFields, event: z.enum(['SUCCESS', 'FAIL']) });
export type NotificationJob = z.infer<typeof notificationJobSchema>;

export const orderSchema = z.object({
  outTradeNo: z.string(),
  appid: z.string(),
  mchid: z.string(),
  protocol: protocolSchema,
  /** What makes two create requests "the same content" (protocol-defined, opaque here). */
  fingerprint: z.string(),
  tradeType: tradeTypeSchema,
  description: z.string(),
  attach: z.string().optional(),
  totalFee: z.number().int().positive(),
  currency: z.string(),
  notifyUrl: z.string(),
  openid: z.string().optional(),
  productId: z.string().optional(),
  deviceInfo: z.string().optional(),
  sceneInfo: z.string().optional(),
  createdAt: z.number(),
  /** The merchant's time_expire, scaled (epoch ms); payment is refused from then on. */
  expiresAt: z.number().optional(),
  prepay: prepaySchema,
  state: tradeStateSchema,
  payment: paymentSchema.optional(),
  closedAt: z.number().optional(),
  notification: notificationJobSchema.optional(),
});
export type SimOrder = z.infer<typeof orderSchema>;

/** One thing the simulator received or sent for an order, kept for GET /sandbox/orders/{out_trade_no}. */
export const journalEntrySchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('api'),
    at: z.string(),
    path: z.string(),
    request: z.string(),
    httpStatus: z.number().int(),
    response: z.string(),
    fault: z.string().optional(),
  }),
  z.object({
    kind: z.literal('refund'),
    at: z.string(),
    outRefundNo: z.string(),
    /** The status the refund moved to. */
    status: z.string(),
    /** What moved it: the request, the 60-second completion, or the control API. */
    by: z.enum(['request', 'auto', 'control']),
  }),
  z.object({
    kind: z.literal('payer'),
    at: z.string(),
    result: z.string(),
    outcome: z.string(),
  }),
  z.object({
    kind: z.literal('notify'),
    at: z.string(),
    jobId: z.string(),
    attempt: z.number().int(),
    copy: z.number().int(),
    url: z.string(),
    outcome: z.enum(['delivered', 'failed', 'timeout', 'error', 'dropped']),
    /** Set for a refund notification (the journal is the order's). */
    outRefundNo: z.string().optional(),
    fault: z.string().optional(),
    body: z.string().optional(),
    httpStatus: z.number().int().optional(),
    reply: z.string().optional(),
    durationMs: z.number().optional(),
    error: z.string().optional(),
  }),
]);
export type JournalEntry = z.infer<typeof journalEntrySchema>;
