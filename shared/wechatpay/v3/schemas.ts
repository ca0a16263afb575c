import * as z from 'zod';
import { AEAD_ALGORITHM } from './aead';

/** Shapes of WeChat Pay APIv3 JSON this project reads. Unknown extra fields are allowed and ignored. */

/** v3 trade_state values; ACCEPT ("received, awaiting debit") appears on some payment paths. */
export const V3_TRADE_STATES = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
  'ACCEPT',
] as const;
export type V3TradeState = (typeof V3_TRADE_STATES)[number];

const fen = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A transaction, as answered by the query APIs and carried (encrypted) by payment notifications. */
export const transactionSchema = z.object({
  appid: z.string().min(1),
  mchid: z.string().min(1),
  out_trade_no: z.string().min(1).max(32),
  transaction_id: z.string().min(1).max(32).optional(),
  trade_type: z.string().optional(),
  trade_state: z.enum(V3_TRADE_STATES),
  trade_state_desc: z.string().optional(),
  bank_type: z.string().optional(),
  attach: z.string().optional(),
  success_time: z.string().optional(),
  payer: z.object({ openid: z.string().optional() }).optional(),
  amount: z
    .object({
      total: fen.optional(),
      payer_total: fen.optional(),
      currency: z.string().optional(),
      payer_currency: z.string().optional(),
    })
    .optional(),
});
export type V3Transaction = z.infer<typeof transactionSchema>;

export const notificationEnvelopeSchema = z.object({
  id: z.string().min(1),
  create_time: z.string().min(1),
  event_type: z.string().min(1),
  resource_type: z.literal('encrypt-resource'),
  summary: z.string().optional(),
  resource: z.object({
    algorithm: z.literal(AEAD_ALGORITHM),
    ciphertext: z.string().min(1),
    nonce: z.string().min(1),
    associated_data: z.string().optional(),
    original_type: z.string().min(1),
  }),
});
export type V3NotificationEnvelope = z.infer<typeof notificationEnvelopeSchema>;

export const prepayIdAnswerSchema = z.object({ prepay_id: z.string().min(1).max(64) });
export const codeUrlAnswerSchema = z.object({ code_url: z.string().min(1).max(512) });
export const h5UrlAnswerSchema = z.object({ h5_url: z.string().min(1).max(512) });

export const errorAnswerSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(1024).optional(),
});
