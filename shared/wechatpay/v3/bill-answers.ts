import * as z from 'zod';
import { GZIP_MAGIC } from '../bills/bill-download';
import { BillResponseBody } from '../bills/bill-response';
import type { Transport } from '../core/client-options';
import type { AnswerFacts } from '../core/errors';
import { WechatPayError, invalidResponseError } from '../core/errors';
import { discardBody } from '../core/http-exchange';
import { httpStatusError } from '../core/http-status';

/**
 * The v3 trade bill in two steps. `GET /v3/bill/tradebill` (signed, its answer verified like any
 * other) gives the SHA1 of the decompressed bill and a download URL, valid for 30 s. `GET` on that
 * URL, with the merchant's Authorization over its path and query, gives the gzip file, whose answer
 * WeChat does NOT sign: the SHA1 is what proves the file. So the URL must be on the API's own origin:
 * our signature (and trust in what comes back) never goes to another host, whatever the answer says.
 * Errors of the first step: 400 NO_STATEMENT_EXIST (no trade that day), 400 STATEMENT_CREATING (not
 * made yet), 400 PARAM_ERROR, ….
 */

export const NO_STATEMENT_EXIST = 'NO_STATEMENT_EXIST';
export const STATEMENT_CREATING = 'STATEMENT_CREATING';

export const tradeBillAnswerSchema = z.object({
  hash_type: z.literal('SHA1'),
  hash_value: z.string().regex(/^[0-9A-Fa-f]{40}$/),
  download_url: z.url({ protocol: /^https?$/ }).max(2048),
});
export type TradeBillAnswer = z.infer<typeof tradeBillAnswerSchema>;

/** The download URL, refused unless it is on `baseUrl`'s origin (scheme, host and port). */
export function checkedDownloadUrl(downloadUrl: string, baseUrl: string, answer: AnswerFacts): URL {
  const url = new URL(downloadUrl);
  const origin = new URL(baseUrl).origin;
  // The token in the URL is a short-lived credential: only the origin goes into the message.
  if (url.origin !== origin)
    throw invalidResponseError(`the bill's download_url is on ${url.origin}, not on ${origin}`, answer);
  return url;
}

/**
 * The download's answer: a 2xx whose first bytes are gzip's, as the body to stream; any other
 * status is a failed exchange (unsigned, so whatever its body says is not WeChat's word).
 */
export async function readBillFile(response: Response, transport: Transport, what: string): Promise<BillResponseBody> {
  const requestId = response.headers.get('Request-ID');
  const answer: AnswerFacts = { httpStatus: response.status, ...(requestId !== null ? { requestId } : {}) };
  if (response.status < 200 || response.status > 299) {
    await discardBody(response);
    throw httpStatusError(response.status, requestId !== null ? { requestId } : {});
  }
  const body = new BillResponseBody(response, transport, what);
  const head = await body.head(GZIP_MAGIC.length);
  if (head[0] !== GZIP_MAGIC[0] || head[1] !== GZIP_MAGIC[1]) {
    await body.cancel();
    throw new WechatPayError('BAD_RESPONSE', `${what}: the bill file is not gzip`, {
      retryable: true,
      kind: 'transport',
      ...answer,
    });
  }
  return body;
}
