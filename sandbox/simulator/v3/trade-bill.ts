import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import * as z from 'zod';
import { checkBillDate } from '../bill-dates';
import type { V3Call } from './call';
import type { V3Context } from './context';
import { describeProblem } from './params';
import { answer, v3Error } from './replies';
import type { V3Reply } from './replies';

export const TRADE_BILL_PATH = '/v3/bill/tradebill';
export const BILL_DOWNLOAD_PATH = '/v3/billdownload/file';

/**
 * The v3 bill file starts with a UTF-8 byte order mark (public v3 clients strip one before reading);
 * the hash covers it, as it covers every byte of the file.
 */
const BOM = '\uFEFF';

const tradeBillQuerySchema = z.object({
  bill_date: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date written YYYY-MM-DD'),
  // The simulator makes ALL bills only: SUCCESS and REFUND are refused as if unknown.
  bill_type: z.literal('ALL', 'ALL (the only bill type the simulator makes)').optional(),
  tar_type: z.literal('GZIP', 'GZIP').optional(),
  sub_mchid: z.string().optional(),
});

/**
 * GET /v3/bill/tradebill?bill_date=…&bill_type=ALL&tar_type=GZIP: `{ hash_type: "SHA1", hash_value,
 * download_url }` (signed like every v3 answer), the hash over the file's decompressed bytes; 400
 * NO_STATEMENT_EXIST for a day without trades, 400 STATEMENT_CREATING while the day is "creating",
 * 400 PARAM_ERROR for a malformed, future or expired date. The URL is on the origin the caller used.
 */
export function tradeBill(call: V3Call, ctx: V3Context): V3Reply {
  const query = Object.fromEntries(call.query);
  const parsed = tradeBillQuerySchema.safeParse(query);
  if (!parsed.success) {
    const problem = describeProblem(parsed.error, 'query', query);
    return v3Error(400, 'PARAM_ERROR', problem.message, problem.detail);
  }
  const date = checkBillDate(parsed.data.bill_date, ctx.clock.now());
  if (!date.ok) {
    return v3Error(400, 'PARAM_ERROR', `输入源"/query/bill_date"校验失败 (bill_date is ${date.message})`, {
      location: 'query',
      field: 'bill_date',
      issue: date.message,
    });
  }
  const issued = ctx.bills.issue(date.date, 'v3');
  if (issued.kind === 'creating') return v3Error(400, 'STATEMENT_CREATING', '账单生成中,请稍后再试 (ask again later)');
  if (issued.kind === 'no_bill') return v3Error(400, 'NO_STATEMENT_EXIST', '账单文件不存在 (no trade on that day)');
  const served = Buffer.from(BOM + issued.served, 'utf8');
  const gzip = parsed.data.tar_type === 'GZIP';
  const token = ctx.billTokens.issue({ bytes: gzip ? gzipSync(served) : served, gzip });
  return answer({
    hash_type: 'SHA1',
    hash_value: createHash('sha1')
      .update(BOM + issued.original, 'utf8')
      .digest('hex'),
    download_url: `${call.origin}${BILL_DOWNLOAD_PATH}?token=${token}`,
  });
}
