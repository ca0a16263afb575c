import * as z from 'zod';
import { clientIpSchema } from '../core/client-ip';
import { outTradeNoSchema } from '../core/trade-ids';

/** What the v3 client sends, validated before anything is signed or sent. */

/** What every prepay takes. */
export interface V3PrepayInput {
  description: string;
  outTradeNo: string;
  notifyUrl: string;
  amount: { total: number; currency?: 'CNY' };
  /** Any ISO 8601 instant; sent as RFC 3339 in +08:00 without fractions. */
  timeExpire?: string;
  attach?: string;
  /** Sent as scene_info.payer_client_ip. Required for H5. */
  payerClientIp?: string;
}

export interface V3H5Info {
  type: string;
  app_name?: string;
  app_url?: string;
  bundle_id?: string;
  package_name?: string;
}

export const prepayInputSchema = z.object({
  description: z.string().min(1).max(127),
  outTradeNo: outTradeNoSchema,
  notifyUrl: z
    .url({ protocol: /^https?$/ })
    .max(255)
    .refine((u) => !u.includes('?') && !u.includes('#'), 'notify_url must not carry a query string'),
  amount: z.object({
    total: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
    currency: z.literal('CNY').optional(),
  }),
  timeExpire: z.iso.datetime({ offset: true }).optional(),
  attach: z.string().max(128).optional(),
  payerClientIp: clientIpSchema.optional(),
});

export const openidSchema = z.string().min(1).max(128);

export const h5InfoSchema = z.object({
  type: z.string().min(1).max(32),
  app_name: z.string().max(64).optional(),
  app_url: z.string().max(256).optional(),
  bundle_id: z.string().max(128).optional(),
  package_name: z.string().max(128).optional(),
});
