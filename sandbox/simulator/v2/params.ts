import * as z from 'zod';
import { fromWechatTime } from '#shared/wechatpay/v2/time';
import { isNotifyUrl } from '../notify-url';

/**
 * WeChat's v2 request fields and their rules. WeChat's String(n) limits are applied to UTF-8 bytes,
 * which is how WeChat counts (a Chinese character takes three). Messages read like WeChat's own
 * ("body参数长度有误") with the rule in English.
 */

const utf8Max = (n: number) =>
  z.string().refine((s) => Buffer.byteLength(s, 'utf8') <= n, `参数长度有误 (at most ${n} bytes of UTF-8)`);

export const OUT_TRADE_NO_PATTERN = /^[0-9A-Za-z_\-|*]{1,32}$/;

const outTradeNo = z
  .string()
  .regex(OUT_TRADE_NO_PATTERN, '参数格式错误 (at most 32 characters of 0-9 A-Z a-z _ - | *)');

const beijingTime = z
  .string()
  .refine((s) => fromWechatTime(s) !== undefined, '参数格式错误 (yyyyMMddHHmmss, Beijing time)');

const notifyUrl = utf8Max(256).refine(isNotifyUrl, '参数格式错误 (an http(s) URL without query string)');

const totalFee = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, '参数格式错误 (a positive integer number of fen)')
  .refine((s) => Number(s) <= 2_147_483_647, '参数格式错误 (at most 2147483647 fen)');

const sceneInfo = utf8Max(256).refine((s) => {
  try {
    const info = JSON.parse(s) as { h5_info?: { type?: unknown } };
    return typeof info === 'object' && info !== null && typeof info.h5_info?.type === 'string';
  } catch {
    return false;
  }
}, '参数格式错误 (JSON like {"h5_info":{"type":"Wap",…}})');

const envelope = {
  appid: utf8Max(32),
  mch_id: utf8Max(32),
  nonce_str: utf8Max(32),
  sign: utf8Max(64),
  sign_type: z.enum(['MD5', 'HMAC-SHA256'], '参数格式错误 (MD5 or HMAC-SHA256)').optional(),
};

export const unifiedOrderSchema = z
  .object({
    ...envelope,
    device_info: utf8Max(32).optional(),
    body: utf8Max(128),
    detail: utf8Max(6000).optional(),
    attach: utf8Max(127).optional(),
    out_trade_no: outTradeNo,
    fee_type: z.literal('CNY', '参数格式错误 (the simulator takes CNY only)').optional(),
    total_fee: totalFee,
    spbill_create_ip: z.union([z.ipv4(), z.ipv6()], '参数格式错误 (an IPv4 or IPv6 address)'),
    time_start: beijingTime.optional(),
    time_expire: beijingTime.optional(),
    goods_tag: utf8Max(32).optional(),
    notify_url: notifyUrl,
    trade_type: z.enum(['JSAPI', 'NATIVE', 'APP', 'MWEB'], '参数格式错误 (JSAPI, NATIVE, APP or MWEB)'),
    product_id: utf8Max(32).optional(),
    limit_pay: z.literal('no_credit', '参数格式错误 (no_credit)').optional(),
    openid: utf8Max(128).optional(),
    receipt: z.literal('Y', '参数格式错误 (Y)').optional(),
    profit_sharing: z.enum(['Y', 'N'], '参数格式错误 (Y or N)').optional(),
    scene_info: sceneInfo.optional(),
  })
  .superRefine((p, ctx) => {
    // Fields that are optional in the table but required by the trade type.
    const need = (field: 'openid' | 'product_id' | 'scene_info', message: string): void => {
      if (p[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message });
    };
    if (p.trade_type === 'JSAPI') need('openid', 'trade_type=JSAPI时必须传openid (openid is required for JSAPI)');
    if (p.trade_type === 'NATIVE')
      need('product_id', 'trade_type=NATIVE时必须传product_id (product_id is required for NATIVE)');
    if (p.trade_type === 'MWEB')
      need('scene_info', 'trade_type=MWEB时必须传scene_info (scene_info is required for MWEB)');
  });
export type UnifiedOrderParams = z.infer<typeof unifiedOrderSchema>;

export const orderQuerySchema = z
  .object({ ...envelope, transaction_id: utf8Max(32).optional(), out_trade_no: outTradeNo.optional() })
  .superRefine((p, ctx) => {
    if (p.transaction_id === undefined && p.out_trade_no === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['out_trade_no'],
        message: 'transaction_id和out_trade_no至少填一个 (give transaction_id or out_trade_no)',
      });
    }
  });

export const closeOrderSchema = z.object({ ...envelope, out_trade_no: outTradeNo });

export interface ParamProblem {
  errCode: 'LACK_PARAMS' | 'INVALID_REQUEST';
  field: string;
  description: string;
}

/** The first rule a request broke, as WeChat's err_code: a missing field or a malformed one. */
export function describeProblem(error: z.ZodError, params: Record<string, string>): ParamProblem {
  const issue = error.issues[0];
  const field = String(issue?.path[0] ?? '');
  if (params[field] === undefined) {
    const description = issue?.code === 'custom' ? issue.message : `缺少参数${field} (${field} is required)`;
    return { errCode: 'LACK_PARAMS', field, description };
  }
  return { errCode: 'INVALID_REQUEST', field, description: `${field}${issue?.message ?? '参数格式错误'}` };
}

/** WeChat ignores empty fields (they are not signed either), so they count as absent. */
export function withoutEmpty(params: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(params).filter(([, v]) => v !== ''));
}

/** out_refund_no: WeChat's String(64) of 0-9 A-Z a-z _ - | * @ (one more character than out_trade_no). */
export const OUT_REFUND_NO_PATTERN = /^[0-9A-Za-z_\-|*@]{1,64}$/;

const outRefundNo = z
  .string()
  .regex(OUT_REFUND_NO_PATTERN, '参数格式错误 (at most 64 characters of 0-9 A-Z a-z _ - | * @)');

const needOrder = (p: { transaction_id?: string; out_trade_no?: string }, ctx: z.RefinementCtx): void => {
  if (p.transaction_id === undefined && p.out_trade_no === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['out_trade_no'],
      message: 'transaction_id和out_trade_no至少填一个 (give transaction_id or out_trade_no)',
    });
  }
};

export const refundSchema = z
  .object({
    ...envelope,
    transaction_id: utf8Max(32).optional(),
    out_trade_no: outTradeNo.optional(),
    out_refund_no: outRefundNo,
    total_fee: totalFee,
    refund_fee: totalFee,
    refund_fee_type: z.literal('CNY', '参数格式错误 (the simulator takes CNY only)').optional(),
    // WeChat's String(80), counted in characters as the merchant's API counts a refund's reason.
    refund_desc: z
      .string()
      .refine((s) => [...s].length <= 80, '参数长度有误 (at most 80 characters)')
      .optional(),
    refund_account: z
      .enum(
        ['REFUND_SOURCE_UNSETTLED_FUNDS', 'REFUND_SOURCE_RECHARGE_FUNDS'],
        '参数格式错误 (REFUND_SOURCE_UNSETTLED_FUNDS or REFUND_SOURCE_RECHARGE_FUNDS)',
      )
      .optional(),
    notify_url: notifyUrl.optional(),
    // Legacy fields older SDKs still send (op_user_id = mch_id).
    op_user_id: utf8Max(32).optional(),
    device_info: utf8Max(32).optional(),
  })
  .superRefine(needOrder);
export type RefundParams = z.infer<typeof refundSchema>;

export const refundQuerySchema = z
  .object({
    ...envelope,
    transaction_id: utf8Max(32).optional(),
    out_trade_no: outTradeNo.optional(),
    out_refund_no: outRefundNo.optional(),
    refund_id: utf8Max(32).optional(),
    offset: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,4})$/, '参数格式错误 (a non-negative integer)')
      .optional(),
  })
  .superRefine((p, ctx) => {
    if ([p.transaction_id, p.out_trade_no, p.out_refund_no, p.refund_id].every((v) => v === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['out_refund_no'],
        message:
          'transaction_id、out_trade_no、out_refund_no和refund_id至少填一个 ' +
          '(give refund_id, out_refund_no, transaction_id or out_trade_no)',
      });
    }
  });
export type RefundQueryParams = z.infer<typeof refundQuerySchema>;
