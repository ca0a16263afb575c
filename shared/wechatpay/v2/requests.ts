import * as z from 'zod';
import { clientIpSchema } from '../core/client-ip';
import { isPlainText, utf8Bytes } from '../core/text-fields';
import { outTradeNoSchema, transactionIdSchema } from '../core/trade-ids';
import { fromWechatTime } from './time';

/**
 * What the v2 client sends, validated before anything is signed or sent. Field names are WeChat's.
 * Lengths follow WeChat's String(n) field types, counted in UTF-8 bytes where the field may hold
 * Chinese (body, attach, scene_info): the stricter reading, so nothing we accept is refused there.
 */

export const V2_TRADE_TYPES = ['JSAPI', 'NATIVE', 'APP', 'MWEB'] as const;
export type V2TradeType = (typeof V2_TRADE_TYPES)[number];

export interface UnifiedOrderRequest {
  body: string;
  out_trade_no: string;
  /** Integer fen. */
  total_fee: number;
  spbill_create_ip: string;
  notify_url: string;
  trade_type: V2TradeType;
  /** Required for JSAPI (the payer in the merchant's appid). */
  openid?: string;
  /** Required for NATIVE. */
  product_id?: string;
  attach?: string;
  /** yyyyMMddHHmmss, Beijing time. */
  time_expire?: string;
  /** JSON as WeChat wants it; required for MWEB: `{"h5_info": {...}}`. */
  scene_info?: string;
}

export type OrderQueryRequest = { out_trade_no: string } | { transaction_id: string };

const maxBytes = (n: number) => (s: string) => utf8Bytes(s) <= n;

export const nonceSchema = z.string().regex(/^[0-9A-Za-z_-]{1,32}$/, 'must be 1-32 of 0-9 A-Z a-z _ -');

const visibleAscii = (max: number) =>
  z.string().regex(new RegExp(`^[\\x21-\\x7e]{1,${max}}$`), `must be 1-${max} visible ASCII characters`);

export const notifyUrlSchema = z
  .string()
  .max(256, 'must be at most 256 characters')
  .pipe(z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }))
  .refine((u) => !u.includes('?') && !u.includes('#'), 'must not carry a query string or fragment');

const sceneInfoSchema = z
  .string()
  .min(1)
  .refine(maxBytes(256), 'must be at most 256 bytes')
  .refine((s) => {
    try {
      const v: unknown = JSON.parse(s);
      return typeof v === 'object' && v !== null && !Array.isArray(v);
    } catch {
      return false;
    }
  }, 'must be a JSON object');

export const unifiedOrderRequestSchema = z
  .strictObject({
    body: z
      .string()
      .min(1, 'must not be empty')
      .refine(isPlainText, 'must not hold control characters')
      .refine(maxBytes(128), 'must be at most 128 bytes (UTF-8)'),
    out_trade_no: outTradeNoSchema,
    total_fee: z.int('must be an integer number of fen').positive('must be positive'),
    spbill_create_ip: clientIpSchema,
    notify_url: notifyUrlSchema,
    trade_type: z.enum(V2_TRADE_TYPES, { error: `must be one of ${V2_TRADE_TYPES.join(', ')}` }),
    openid: visibleAscii(128).optional(),
    product_id: visibleAscii(32).optional(),
    attach: z
      .string()
      .refine(isPlainText, 'must not hold control characters')
      .refine(maxBytes(127), 'must be at most 127 bytes (UTF-8)')
      .optional(),
    time_expire: z
      .string()
      .refine((s) => fromWechatTime(s) !== undefined, 'must be a real time as yyyyMMddHHmmss')
      .optional(),
    scene_info: sceneInfoSchema.optional(),
  })
  .superRefine((req, ctx) => {
    if (req.trade_type === 'JSAPI' && req.openid === undefined) {
      ctx.addIssue({ code: 'custom', path: ['openid'], message: 'is required when trade_type is JSAPI' });
    }
    if (req.trade_type === 'NATIVE' && req.product_id === undefined) {
      ctx.addIssue({ code: 'custom', path: ['product_id'], message: 'is required when trade_type is NATIVE' });
    }
    if (req.trade_type === 'MWEB' && req.scene_info === undefined) {
      ctx.addIssue({ code: 'custom', path: ['scene_info'], message: 'is required when trade_type is MWEB' });
    }
  });

export const orderQueryRequestSchema = z
  .strictObject({
    out_trade_no: outTradeNoSchema.optional(),
    transaction_id: transactionIdSchema.optional(),
  })
  .refine((q) => (q.out_trade_no === undefined) !== (q.transaction_id === undefined), {
    message: 'give exactly one of out_trade_no and transaction_id',
  });
