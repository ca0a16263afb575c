import * as z from 'zod';
import type { TradeType } from '../order-model';
import type { V3ErrorDetail } from './replies';
import { isNotifyUrl } from '../notify-url';

/**
 * WeChat's v3 request fields and their rules (JSON). Lengths are UTF-8 bytes, as WeChat counts
 * them (a Chinese character takes three). Unknown fields are ignored, as WeChat ignores them.
 */

const utf8 = (min: number, max: number) =>
  z.string().refine((s) => {
    const bytes = Buffer.byteLength(s, 'utf8');
    return bytes >= min && bytes <= max;
  }, `${min} to ${max} bytes of UTF-8`);

/** Paths and queries name any order the merchant may have made (v2 allows 1–32 characters). */
export const OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{1,32}$/;
/** A new v3 order's number: 6–32 of 0-9 A-Z a-z _ - | *. */
const NEW_OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{6,32}$/;
export const TRANSACTION_ID_PATTERN = /^[0-9A-Za-z]{1,32}$/;

/** RFC 3339 with seconds and an offset, no fractions: 2018-06-08T10:34:56+08:00. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})$/;
const rfc3339 = z
  .string()
  .refine(
    (s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)),
    'RFC 3339 like 2018-06-08T10:34:56+08:00 (seconds, an offset, no fractions)',
  );

const notifyUrl = utf8(1, 255).refine(isNotifyUrl, 'an http(s) URL without query string');

const ip = z.union([z.ipv4(), z.ipv6()], 'an IPv4 or IPv6 address');

const h5Info = z.object({
  type: z.enum(['iOS', 'Android', 'Wap'], 'iOS, Android or Wap'),
  app_name: utf8(1, 64).optional(),
  app_url: utf8(1, 256).optional(),
  bundle_id: utf8(1, 128).optional(),
  package_name: utf8(1, 128).optional(),
});

const sceneInfo = z.object({
  payer_client_ip: ip,
  device_id: utf8(1, 32).optional(),
  h5_info: h5Info.optional(),
});

const prepayBase = z.object({
  appid: utf8(1, 32),
  mchid: utf8(1, 32),
  description: utf8(1, 127),
  out_trade_no: z.string().regex(NEW_OUT_TRADE_NO_PATTERN, '6 to 32 of 0-9 A-Z a-z _ - | *'),
  time_expire: rfc3339.optional(),
  attach: utf8(1, 128).optional(),
  notify_url: notifyUrl,
  goods_tag: utf8(1, 32).optional(),
  support_fapiao: z.boolean().optional(),
  amount: z.object({
    total: z
      .number('a positive integer number of fen')
      .int('a positive integer number of fen')
      .min(1, 'a positive integer number of fen')
      .max(2_147_483_647, 'at most 2147483647 fen'),
    currency: z.literal('CNY', 'CNY (the simulator takes CNY only)').optional(),
  }),
  scene_info: sceneInfo.optional(),
  settle_info: z.object({ profit_sharing: z.boolean().optional() }).optional(),
});

export const prepaySchemas: Record<TradeType, z.ZodType<PrepayBody>> = {
  JSAPI: prepayBase.extend({ payer: z.object({ openid: utf8(1, 128) }) }),
  APP: prepayBase,
  NATIVE: prepayBase,
  // H5 needs to know where the payer is: the client IP and what kind of page or app they are in.
  MWEB: prepayBase.extend({ scene_info: sceneInfo.extend({ h5_info: h5Info }) }),
};

export type PrepayBody = z.infer<typeof prepayBase> & { payer?: { openid: string } };

export const closeBodySchema = z.object({ mchid: utf8(1, 32) });
export const mchidQuerySchema = z.object({ mchid: utf8(1, 32) });

export interface ParamProblem {
  message: string;
  detail: V3ErrorDetail;
}

/** The first rule a request broke, worded like WeChat's PARAM_ERROR (the JSON path of the field, then the rule). */
export function describeProblem(error: z.ZodError, location: V3ErrorDetail['location'], value: unknown): ParamProblem {
  const issue = error.issues[0];
  const path = issue?.path.map(String) ?? [];
  const field = path.join('.');
  const missing = valueAt(value, path) === undefined;
  const rule = missing ? 'is required' : (issue?.message ?? 'is invalid');
  const problem = missing ? '缺少必填字段' : '校验失败';
  const requirement = missing ? rule : `must be ${rule}`;
  return {
    message: `输入源"/${location}/${path.join('/')}"${problem} (${field} ${requirement})`,
    detail: { location, field, issue: rule },
  };
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** out_refund_no: 1–64 of 0-9 A-Z a-z _ - | * @. */
export const OUT_REFUND_NO_PATTERN = /^[0-9A-Za-z_\-|*@]{1,64}$/;

const fen = z
  .number('a positive integer number of fen')
  .int('a positive integer number of fen')
  .min(1, 'a positive integer number of fen')
  .max(2_147_483_647, 'at most 2147483647 fen');

export const refundBodySchema = z
  .object({
    sub_mchid: utf8(1, 32).optional(),
    transaction_id: z.string().regex(TRANSACTION_ID_PATTERN, '1 to 32 letters or digits').optional(),
    out_trade_no: z.string().regex(OUT_TRADE_NO_PATTERN, '1 to 32 of 0-9 A-Z a-z _ - | *').optional(),
    out_refund_no: z.string().regex(OUT_REFUND_NO_PATTERN, '1 to 64 of 0-9 A-Z a-z _ - | * @'),
    // String(80), counted in characters as the merchant's API counts a refund's reason.
    reason: z
      .string()
      .refine((s) => [...s].length >= 1 && [...s].length <= 80, '1 to 80 characters')
      .optional(),
    notify_url: notifyUrl.optional(),
    funds_account: z.literal('AVAILABLE', 'AVAILABLE').optional(),
    amount: z.object({
      refund: fen,
      total: fen,
      currency: z.literal('CNY', 'CNY (the simulator takes CNY only)'),
      from: z.array(z.object({ account: z.enum(['AVAILABLE', 'UNAVAILABLE']), amount: fen })).optional(),
    }),
  })
  .superRefine((p, ctx) => {
    if (p.transaction_id === undefined && p.out_trade_no === undefined)
      ctx.addIssue({ code: 'custom', path: ['out_trade_no'], message: 'transaction_id or out_trade_no' });
  });
export type RefundBody = z.infer<typeof refundBodySchema>;
