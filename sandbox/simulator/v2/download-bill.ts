import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import { toXml } from '#shared/wechatpay/v2/xml';
import { checkBillDate, fromV2BillDate } from '../bill-dates';
import type { TradeBills } from '../bills';
import type { Clock } from '../clock';
import type { FaultRegistry } from '../faults';
import { sendBytes, sendText } from '../http-io';
import type { ReplyHolds } from '../reply-hold';
import type { Merchant } from '../sandbox-merchant';
import { authenticate } from './authenticate';
import { receiveV2Request } from './request';

export const DOWNLOAD_BILL_PATH = '/pay/downloadbill';

export interface DownloadBillDeps {
  merchant: Merchant;
  bills: TradeBills;
  clock: Clock;
  faults: FaultRegistry;
  holds: ReplyHolds;
  apiHoldMs: number;
}

/** WeChat's answer instead of a bill: unsigned XML, told from a bill by its first character `<`. */
type Refusal = { returnMsg: string; errorCode?: string };

/**
 * POST /pay/downloadbill: the day's ALL trade bill, text (or gzip with tar_type=GZIP) with no XML
 * around it and no signature; a refusal is `return_code FAIL` XML whose return_msg says why: `No
 * Bill Exist` (no trade that day, with error_code 20002 as WeChat adds), `Bill Creating`, `invalid
 * bill_date`, `invalid bill_type`, … The request is checked as every v2 call (signature under its
 * sign_type, the merchant's appid). Global API faults apply (the call names no order).
 */
export async function downloadBill(req: IncomingMessage, res: ServerResponse, deps: DownloadBillDeps): Promise<void> {
  const received = await receiveV2Request(req);
  if ('failure' in received) {
    sendRefusal(res, { returnMsg: received.failure });
    return;
  }
  const fault = deps.faults.takeApiFault(undefined, 'other');
  if (fault === 'http500') {
    sendText(res, 500, 'Internal Server Error', 'text/plain; charset=utf-8');
    return;
  }
  const outcome: Refusal | { bill: Buffer; gzip: boolean } =
    fault === 'systemerror' ? { returnMsg: 'system error' } : billFor(received.params, deps);
  // "timeout": the answer comes too late for the caller (a download changes nothing at WeChat).
  if (fault === 'timeout') await deps.holds.hold(deps.apiHoldMs);
  if ('returnMsg' in outcome) sendRefusal(res, outcome);
  else
    sendBytes(res, 200, outcome.bill, {
      'content-type': outcome.gzip ? 'application/octet-stream' : 'text/plain; charset=utf-8',
    });
}

function billFor(params: Record<string, string>, deps: DownloadBillDeps): Refusal | { bill: Buffer; gzip: boolean } {
  const auth = authenticate(params, deps.merchant);
  if (!auth.ok) return { returnMsg: auth.returnMsg };
  if (params.appid !== deps.merchant.appid)
    return { returnMsg: 'appid和mch_id不匹配 (appid does not belong to this mch_id)' };
  const date = checkBillDate(fromV2BillDate(params.bill_date ?? ''), deps.clock.now());
  if (!date.ok || params.bill_date?.length !== 8) return { returnMsg: 'invalid bill_date' };
  // The simulator makes ALL bills only (the one reconciliation needs); SUCCESS, REFUND and RECHARGE_REFUND are refused.
  if ((params.bill_type ?? 'ALL') !== 'ALL') return { returnMsg: 'invalid bill_type' };
  const tarType = params.tar_type;
  if (tarType !== undefined && tarType !== 'GZIP') return { returnMsg: 'invalid tar_type' };
  const issued = deps.bills.issue(date.date, 'v2');
  if (issued.kind === 'creating') return { returnMsg: 'Bill Creating' };
  if (issued.kind === 'no_bill') return { returnMsg: 'No Bill Exist', errorCode: '20002' };
  const text = Buffer.from(issued.served, 'utf8');
  return tarType === 'GZIP' ? { bill: gzipSync(text), gzip: true } : { bill: text, gzip: false };
}

function sendRefusal(res: ServerResponse, refusal: Refusal): void {
  const xml = toXml({ return_code: 'FAIL', return_msg: refusal.returnMsg, error_code: refusal.errorCode });
  sendText(res, 200, xml, 'text/xml; charset=utf-8');
}
