import * as z from 'zod';

import { ValidationError } from '../domain/errors';
import { TRADE_TYPES } from '../domain/order';
import type { NewPayment } from '../domain/payment-request';
import { isClientIp } from '../wechatpay/core/client-ip';
import { isPlainText, utf8Bytes } from '../wechatpay/core/text-fields';
import { validationErrorOf } from './schema-errors';

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

/** The merchant's order number, as WeChat takes it in both API versions (also a path parameter). */
export const outTradeNoSchema = z.string().regex(OUT_TRADE_NO, 'must be 6–32 characters of 0-9 A-Z a-z _ - | *');

// The strictest of WeChat's v2 and v3 rules (lengths both in characters and in UTF-8 bytes, no
// control characters), so a request accepted here is one WeChat accepts in either version: a
// refusal after the order is stored would use up its out_trade_no.
function text(min: number, maxChars: number, maxBytes: number) {
  return z
    .string()
    .min(min, 'must not be empty')
    .max(maxChars, `must be at most ${maxChars} characters`)
    .refine((s) => utf8Bytes(s) <= maxBytes, `must be at most ${maxBytes} bytes in UTF-8`)
    .refine(isPlainText, 'must not hold control characters');
}

/** v2 sends scene_info as one JSON string of at most 256 bytes. */
const MAX_SCENE_INFO_BYTES = 256;

/** Body of POST /orders; field names follow WeChat APIv3's JSON names (README.md, "The API"). */
export const createOrderBodySchema = z
  .object({
    out_trade_no: outTradeNoSchema.optional(),
    description: text(1, 127, 127),
    amount: z.strictObject({
      total: z
        .number()
        .int('must be an integer number of fen')
        .positive('must be a positive number of fen')
        .max(100_000_000_00, 'is too large'),
      currency: z.literal('CNY', 'must be CNY').default('CNY'),
    }),
    trade_type: z.enum(TRADE_TYPES, `must be one of ${TRADE_TYPES.join(', ')}`),
    payer: z
      .strictObject({ openid: z.string().regex(/^[\x21-\x7e]{1,128}$/, 'must be 1–128 visible ASCII characters') })
      .optional(),
    scene_info: z.strictObject({
      payer_client_ip: z.string().refine(isClientIp, 'must be an IPv4 or IPv6 address'),
      h5_info: z
        .strictObject({
          type: z.enum(['Wap', 'iOS', 'Android']),
          app_name: text(1, 64, 64).optional(),
          app_url: text(1, 256, 256).optional(),
          bundle_id: text(1, 128, 128).optional(),
          package_name: text(1, 128, 128).optional(),
        })
        .optional(),
    }),
    product_id: z
      .string()
      .min(1)
      .max(32)
      .regex(/^[0-9A-Za-z_-]+$/, 'must be letters, digits, _ or -')
      .optional(),
    attach: text(1, 127, 127).optional(),
    time_expire: z.iso.datetime({ offset: true, message: 'must be an RFC 3339 date-time' }).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    if (body.trade_type === 'JSAPI' && body.payer === undefined) {
      ctx.addIssue({ code: 'custom', path: ['payer', 'openid'], message: 'is required for JSAPI payments' });
    }
    if (body.trade_type === 'NATIVE' && body.product_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['product_id'], message: 'is required for NATIVE payments' });
    }
    if (body.trade_type === 'MWEB' && body.scene_info.h5_info === undefined) {
      ctx.addIssue({ code: 'custom', path: ['scene_info', 'h5_info'], message: 'is required for MWEB (H5) payments' });
    }
    const h5Info = body.scene_info.h5_info;
    if (h5Info !== undefined && utf8Bytes(JSON.stringify({ h5_info: h5Info })) > MAX_SCENE_INFO_BYTES) {
      ctx.addIssue({
        code: 'custom',
        path: ['scene_info', 'h5_info'],
        message: `must be at most ${MAX_SCENE_INFO_BYTES} bytes as JSON`,
      });
    }
  });

/** WeChat needs time to show the cashier; an expiry closer than this cannot be paid. */
const MIN_EXPIRY_LEAD_MS = 60_000;

/**
 * WeChat's own bound on time_expire: seven days, which is also what an order without one lives at
 * WeChat. Refused here, with a 400, rather than stored and then refused by WeChat.
 */
export const MAX_EXPIRY_LEAD_DAYS = 7;
const MAX_EXPIRY_LEAD_MS = MAX_EXPIRY_LEAD_DAYS * 24 * 60 * 60 * 1000;

export function parseCreateOrder(body: unknown, now: Date): NewPayment {
  const parsed = createOrderBodySchema.safeParse(body);
  if (!parsed.success) throw validationErrorOf(parsed.error);
  const b = parsed.data;
  let expiresAt: string | undefined;
  if (b.time_expire !== undefined) {
    const at = Date.parse(b.time_expire);
    if (at < now.getTime() + MIN_EXPIRY_LEAD_MS) {
      throw new ValidationError('time_expire must be at least one minute in the future', 'time_expire');
    }
    if (at > now.getTime() + MAX_EXPIRY_LEAD_MS) {
      throw new ValidationError(
        `time_expire must be at most ${MAX_EXPIRY_LEAD_DAYS} days ahead (WeChat Pay's limit)`,
        'time_expire',
      );
    }
    expiresAt = new Date(at).toISOString();
  }
  return {
    outTradeNo: b.out_trade_no,
    description: b.description,
    amount: { total: b.amount.total, currency: b.amount.currency },
    tradeType: b.trade_type,
    payerOpenid: b.payer?.openid,
    productId: b.product_id,
    payerClientIp: b.scene_info.payer_client_ip,
    h5Info: b.scene_info.h5_info,
    attach: b.attach,
    expiresAt,
  };
}

export function parseOutTradeNo(value: string | undefined): string {
  const parsed = outTradeNoSchema.safeParse(value);
  if (!parsed.success) {
    const rule = value === undefined ? 'is required' : (parsed.error.issues[0]?.message ?? 'is invalid');
    throw new ValidationError(`out_trade_no ${rule}`, 'out_trade_no');
  }
  return parsed.data;
}
