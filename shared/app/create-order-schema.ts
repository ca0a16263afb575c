import { isIP } from 'node:net';
import * as z from 'zod';

import { ValidationError } from '../domain/errors';
import { TRADE_TYPES } from '../domain/order';
import type { NewPayment } from '../domain/payment-request';

const OUT_TRADE_NO = /^[0-9A-Za-z_\-|*]{6,32}$/;

/** Body of POST /orders; field names follow WeChat APIv3's JSON names (product.md). */
const CreateOrderBody = z
  .object({
    out_trade_no: z.string().regex(OUT_TRADE_NO, 'must be 6–32 characters of 0-9 A-Z a-z _ - | *').optional(),
    description: z.string().min(1, 'must not be empty').max(128, 'must be at most 128 characters'),
    amount: z.strictObject({
      total: z.number().int('must be an integer number of fen').positive('must be a positive number of fen').max(100_000_000_00, 'is too large'),
      currency: z.literal('CNY', 'must be CNY').default('CNY'),
    }),
    trade_type: z.enum(TRADE_TYPES, `must be one of ${TRADE_TYPES.join(', ')}`),
    payer: z.strictObject({ openid: z.string().min(1).max(128) }).optional(),
    scene_info: z.strictObject({
      payer_client_ip: z.string().refine((ip) => isIP(ip) !== 0, 'must be an IPv4 or IPv6 address'),
      h5_info: z
        .strictObject({
          type: z.enum(['Wap', 'iOS', 'Android']),
          app_name: z.string().max(64).optional(),
          app_url: z.string().max(256).optional(),
          bundle_id: z.string().max(128).optional(),
          package_name: z.string().max(128).optional(),
        })
        .optional(),
    }),
    product_id: z.string().min(1).max(32).regex(/^[0-9A-Za-z_-]+$/, 'must be letters, digits, _ or -').optional(),
    attach: z.string().max(127, 'must be at most 127 characters').optional(),
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
  });

/** WeChat needs time to show the cashier; an expiry closer than this cannot be paid. */
const MIN_EXPIRY_LEAD_MS = 60_000;

export function parseCreateOrder(body: unknown, now: Date): NewPayment {
  const parsed = CreateOrderBody.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue?.code === 'unrecognized_keys') {
      const field = [...issue.path, issue.keys[0]].join('.');
      throw new ValidationError(`${field} is not a known field`, field);
    }
    const field = issue?.path.join('.') || undefined;
    throw new ValidationError(field ? `${field} ${issue?.message}` : (issue?.message ?? 'invalid request'), field);
  }
  const b = parsed.data;
  let expiresAt: string | undefined;
  if (b.time_expire !== undefined) {
    const at = Date.parse(b.time_expire);
    if (at < now.getTime() + MIN_EXPIRY_LEAD_MS) {
      throw new ValidationError('time_expire must be at least one minute in the future', 'time_expire');
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
  if (value === undefined || !OUT_TRADE_NO.test(value)) {
    throw new ValidationError('out_trade_no must be 6–32 characters of 0-9 A-Z a-z _ - | *', 'out_trade_no');
  }
  return value;
}
