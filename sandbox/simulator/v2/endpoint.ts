import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignType } from '#shared/wechatpay/v2/sign';
import type { TradeBills } from '../bills';
import type { ApiCallKind, ApiFault, FaultRegistry } from '../faults';
import { sendText } from '../http-io';
import type { ReplyHolds } from '../reply-hold';
import type { Route } from '../router';
import type { StateStore } from '../state-store';
import { authenticate } from './authenticate';
import { closeOrder } from './close-order';
import type { V2Context } from './context';
import { DOWNLOAD_BILL_PATH, downloadBill } from './download-bill';
import { orderQuery } from './order-query';
import { OUT_TRADE_NO_PATTERN } from './params';
import { refund } from './refund';
import { refundQuery } from './refund-query';
import { receiveV2Request } from './request';
import { businessError, renderReply, transportFailure } from './replies';
import type { V2Reply } from './replies';
import { unifiedOrder } from './unified-order';

type Operation = (params: Record<string, string>, signType: SignType, ctx: V2Context, fault: ApiFault) => V2Reply;

export interface V2EndpointDeps extends V2Context {
  faults: FaultRegistry;
  store: StateStore;
  holds: ReplyHolds;
  apiHoldMs: number;
  bills: TradeBills;
}

/** WeChat's own v2 paths. */
export function v2Routes(deps: V2EndpointDeps): Route[] {
  const route = (path: string, kind: ApiCallKind, operation: Operation): Route => ({
    method: '*',
    path,
    handler: (req, res) => handleCall(req, res, { path, kind, operation }, deps),
  });
  return [
    route('/pay/unifiedorder', 'other', unifiedOrder),
    route('/pay/orderquery', 'query', (params, _signType, ctx, fault) =>
      orderQuery(params, ctx, { stale: fault === 'stale_query' }),
    ),
    route('/pay/closeorder', 'other', (params, _signType, ctx) => closeOrder(params, ctx)),
    // Mutual TLS is checked in front of every /secapi/ path, as WeChat's nginx does (client-certificate-gate.ts).
    route('/secapi/pay/refund', 'refund', refund),
    route('/pay/refundquery', 'other', (params, _signType, ctx) => refundQuery(params, ctx)),
    // A bill is not a signed XML answer: its own pipeline.
    { method: '*', path: DOWNLOAD_BILL_PATH, handler: (req, res) => downloadBill(req, res, deps) },
  ];
}

/**
 * One API call: read and parse the XML, apply any API fault, authenticate, run the operation,
 * record the exchange for the order, answer. WeChat answers HTTP 200 whatever the outcome.
 */
async function handleCall(
  req: IncomingMessage,
  res: ServerResponse,
  call: { path: string; kind: ApiCallKind; operation: Operation },
  deps: V2EndpointDeps,
): Promise<void> {
  const { path, kind, operation } = call;
  const received = await receiveV2Request(req);
  if ('failure' in received) {
    sendXml(res, 200, renderReply(transportFailure(received.failure), deps.merchant, 'MD5'));
    return;
  }
  const { raw, params } = received;
  const outTradeNo = orderKey(path, params, deps);
  const fault = deps.faults.takeApiFault(outTradeNo, kind);
  const signType: SignType = params.sign_type === 'HMAC-SHA256' ? 'HMAC-SHA256' : 'MD5';

  let status = 200;
  let body: string;
  if (fault === 'http500') {
    status = 500;
    body = 'Internal Server Error';
  } else if (fault === 'systemerror') {
    const systemError = businessError('SYSTEMERROR', '系统错误 (simulated fault; try again)');
    body = renderReply(systemError, deps.merchant, signType);
  } else {
    const auth = authenticate(params, deps.merchant);
    let reply: V2Reply;
    if (!auth.ok) reply = transportFailure(auth.returnMsg);
    else if (params.appid !== deps.merchant.appid)
      reply = businessError('APPID_MCHID_NOT_MATCH', 'appid和mch_id不匹配 (appid does not belong to this mch_id)');
    else reply = operation(params, auth.signType, deps, fault);
    body = renderReply(reply, deps.merchant, auth.ok ? auth.signType : 'MD5');
  }

  if (outTradeNo !== undefined) {
    deps.store.appendJournal(outTradeNo, {
      kind: 'api',
      at: new Date(deps.clock.now()).toISOString(),
      path,
      request: raw,
      httpStatus: status,
      response: body,
      fault: fault === 'ok' ? undefined : fault,
    });
  }
  // "timeout": WeChat acted, but the answer comes too late for the caller, who cannot know the outcome.
  if (fault === 'timeout') await deps.holds.hold(deps.apiHoldMs);
  if (status === 500) sendText(res, 500, body, 'text/plain; charset=utf-8');
  else sendXml(res, status, body);
}

/**
 * The out_trade_no the call is about, for faults and the journal: found by transaction_id (which
 * WeChat prefers) or given; a refund query by refund names it through the refund.
 */
function orderKey(path: string, params: Record<string, string>, deps: V2EndpointDeps): string | undefined {
  if (path === '/pay/refundquery') {
    if (params.refund_id !== undefined) return deps.refunds.find({ refundId: params.refund_id })?.outTradeNo;
    if (params.out_refund_no !== undefined) return deps.refunds.find({ outRefundNo: params.out_refund_no })?.outTradeNo;
  }
  if (params.transaction_id !== undefined) {
    const known = deps.trades.find({ transactionId: params.transaction_id })?.outTradeNo;
    if (known !== undefined) return known;
  }
  if (params.out_trade_no !== undefined)
    return OUT_TRADE_NO_PATTERN.test(params.out_trade_no) ? params.out_trade_no : undefined;
  return undefined;
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  sendText(res, status, body, 'text/xml; charset=utf-8');
}
