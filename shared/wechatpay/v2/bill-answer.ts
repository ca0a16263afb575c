import type { BillDownload } from '../bills/bill-download';
import { GZIP_MAGIC, gunzipBill } from '../bills/bill-download';
import { BillResponseBody } from '../bills/bill-response';
import type { Transport } from '../core/client-options';
import { discardBody } from '../core/http-exchange';
import { httpStatusError } from '../core/http-status';
import { badResponseError, returnFailError } from './error-codes';
import { XmlError, parseXml } from './xml';

/**
 * How `pay/downloadbill` answers: the gzip file itself (no XML, no signature, no hash: a bill
 * altered on the way is caught by its summary not matching its lines), or, on failure, an XML body
 * (it starts with `<`) with return_code FAIL and WeChat's words in return_msg. Two of those are not
 * errors: `No Bill Exist` (no trade that day; WeChat's documentation spells it `NO Bill Exist`, the
 * API answers `No`) and `Bill Creating` (not made yet; ask again later). Any other, such as
 * `invalid bill_date`, is a WechatPayError as for the client's other calls.
 */

const WHAT = 'POST /pay/downloadbill';
/** A failure answer is a few hundred bytes. */
const MAX_FAILURE_BYTES = 64 * 1024;
const LESS_THAN = 0x3c;

export async function readBillAnswer(
  response: Response,
  transport: Transport,
  maxBillBytes: number,
): Promise<BillDownload> {
  const answer = { httpStatus: response.status };
  if (response.status < 200 || response.status > 299) {
    await discardBody(response);
    throw httpStatusError(response.status);
  }
  const body = new BillResponseBody(response, transport, WHAT);
  const head = await body.head(GZIP_MAGIC.length);
  if (head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1])
    return { kind: 'bill', content: gunzipBill(body.chunks(), maxBillBytes) };
  const bytes = await body.all(MAX_FAILURE_BYTES);
  const first = bytes?.find((byte) => byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0a);
  if (bytes === undefined || first !== LESS_THAN)
    throw badResponseError(`${WHAT}: the answer is neither a gzip file nor XML`, answer);
  let fields: Record<string, string>;
  try {
    fields = parseXml(new TextDecoder('utf-8', { fatal: true }).decode(bytes), MAX_FAILURE_BYTES);
  } catch (error) {
    if (!(error instanceof XmlError) && !(error instanceof TypeError)) throw error;
    throw badResponseError(`${WHAT}: the answer is not readable XML`, answer, error);
  }
  if (fields.return_code !== 'FAIL') throw badResponseError(`${WHAT}: an XML answer that is not a failure`, answer);
  const said = (fields.return_msg ?? '').trim();
  if (/^no bill exist$/i.test(said)) return { kind: 'no_bill' };
  if (/^bill creating$/i.test(said)) return { kind: 'creating' };
  throw returnFailError(said, answer);
}
