import * as z from 'zod';
import { TRADE_STATES } from '../core/trade-state';

/** Shapes of WeChat Pay APIv3 JSON answers this project reads. Unknown extra fields are allowed and ignored. */

const fen = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** A transaction, as answered by the query APIs and carried (encrypted) by payment notifications. */
export const transactionSchema = z.object({
  appid: z.string().min(1),
  mchid: z.string().min(1),
  out_trade_no: z.string().min(1).max(32),
  transaction_id: z.string().min(1).max(32).optional(),
  trade_type: z.string().optional(),
  trade_state: z.enum(TRADE_STATES),
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

export const prepayIdAnswerSchema = z.object({ prepay_id: z.string().min(1).max(64) });
export const codeUrlAnswerSchema = z.object({ code_url: z.string().min(1).max(512) });
export const h5UrlAnswerSchema = z.object({ h5_url: z.string().min(1).max(512) });

export const errorAnswerSchema = z.object({
  code: z.string().min(1).max(64),
  message: z.string().max(1024).optional(),
});
