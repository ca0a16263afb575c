import * as z from 'zod';

import { validationErrorOf } from './schema-errors';

/**
 * `?sync=` of GET /orders/{out_trade_no} and GET /orders/{…}/refunds/{out_refund_no}: `1` asks WeChat
 * before answering (unless the record is final), `0` or none answers from storage. The handlers
 * parse with it and the OpenAPI document describes it, so the two cannot disagree.
 */
export const syncQuerySchema = z.object({
  sync: z
    .enum(['0', '1'], 'must be 0 or 1')
    .optional()
    .meta({ description: '1: ask WeChat first unless the record is final; 0 or absent: answer from storage.' }),
});

/** Whether the query asks WeChat first; any other value than 0 or 1 is a 400 naming `sync`. */
export function parseSyncQuery(query: Record<string, string | undefined> | undefined): boolean {
  const parsed = syncQuerySchema.safeParse({ sync: query?.sync });
  if (!parsed.success) throw validationErrorOf(parsed.error);
  return parsed.data.sync === '1';
}
