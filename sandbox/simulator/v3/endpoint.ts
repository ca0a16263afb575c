import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiCallKind, ApiFault, FaultRegistry } from '../faults';
import { BodyTooLargeError, readBody, requestOrigin, sendText, sendWithHeaders } from '../http-io';
import type { ReplyHolds } from '../reply-hold';
import type { Route, RouteParams } from '../router';
import type { StateStore } from '../state-store';
import { authenticateMerchant } from './authenticate';
import { billDownloadRoute } from './bill-download';
import type { V3Call } from './call';
import { platformCertificates } from './certificates';
import { closeOrder } from './close-order';
import type { V3Context } from './context';
import { OUT_TRADE_NO_PATTERN } from './params';
import type { SignWith } from './platform';
import { signerOf } from './platform';
import { PREPAY_PATHS, prepay } from './prepay';
import { queryTransaction } from './query';
import { createRefund, queryRefund } from './refund';
import { renderSigned, v3Error } from './replies';
import type { V3Reply } from './replies';
import { TRADE_BILL_PATH, tradeBill } from './trade-bill';

/** WeChat's v3 requests are small JSON documents. */
const MAX_REQUEST_BYTES = 32 * 1024;

type Operation = (call: V3Call, ctx: V3Context, fault: ApiFault) => V3Reply;

interface V3Operation {
  method: 'GET' | 'POST';
  path: string;
  kind: ApiCallKind;
  run: Operation;
  /** The out_trade_no the call is about, for faults and the journal. */
  orderKey: (call: V3Call, ctx: V3Context) => string | undefined;
}

export interface V3EndpointDeps extends V3Context {
  signWith: SignWith;
  faults: FaultRegistry;
  store: StateStore;
  holds: ReplyHolds;
  apiHoldMs: number;
}

const fromBody = (call: V3Call): string | undefined => validOutTradeNo(call.json?.out_trade_no);
const fromPath = (call: V3Call): string | undefined => validOutTradeNo(call.params.outTradeNo);
const fromTransactionId = (call: V3Call, ctx: V3Context): string | undefined =>
  call.params.transactionId === undefined
    ? undefined
    : ctx.trades.find({ transactionId: call.params.transactionId })?.outTradeNo;

const OPERATIONS: V3Operation[] = [
  ...Object.entries(PREPAY_PATHS).map(([segment, tradeType]): V3Operation => ({
    method: 'POST',
    path: `/v3/pay/transactions/${segment}`,
    kind: 'other',
    run: (call, ctx) => prepay(tradeType, call, ctx),
    orderKey: fromBody,
  })),
  {
    method: 'GET',
    path: '/v3/pay/transactions/out-trade-no/:outTradeNo',
    kind: 'query',
    run: (call, ctx, fault) => queryTransaction('out_trade_no', call, ctx, { stale: fault === 'stale_query' }),
    orderKey: fromPath,
  },
  {
    method: 'GET',
    path: '/v3/pay/transactions/id/:transactionId',
    kind: 'query',
    run: (call, ctx, fault) => queryTransaction('transaction_id', call, ctx, { stale: fault === 'stale_query' }),
    orderKey: fromTransactionId,
  },
  {
    method: 'POST',
    path: '/v3/pay/transactions/out-trade-no/:outTradeNo/close',
    kind: 'other',
    run: (call, ctx) => closeOrder(call, ctx),
    orderKey: fromPath,
  },
  {
    method: 'POST',
    path: '/v3/refund/domestic/refunds',
    kind: 'refund',
    run: (call, ctx, fault) => createRefund(call, ctx, fault),
    orderKey: (call, ctx) =>
      typeof call.json?.transaction_id === 'string'
        ? (ctx.trades.find({ transactionId: call.json.transaction_id })?.outTradeNo ?? fromBody(call))
        : fromBody(call),
  },
  {
    method: 'GET',
    path: '/v3/refund/domestic/refunds/:outRefundNo',
    kind: 'other',
    run: (call, ctx) => queryRefund(call, ctx),
    orderKey: (call, ctx) =>
      call.params.outRefundNo === undefined
        ? undefined
        : ctx.refunds.find({ outRefundNo: call.params.outRefundNo })?.outTradeNo,
  },
  {
    method: 'GET',
    path: TRADE_BILL_PATH,
    kind: 'other',
    run: (call, ctx) => tradeBill(call, ctx),
    orderKey: () => undefined,
  },
  {
    method: 'GET',
    path: '/v3/certificates',
    kind: 'other',
    run: (_call, ctx) => platformCertificates(ctx),
    orderKey: () => undefined,
  },
];

/** WeChat's own v3 paths (JSON, RSA-signed both ways). */
export function v3Routes(deps: V3EndpointDeps): Route[] {
  return [
    ...OPERATIONS.map((operation) => ({
      method: '*',
      path: operation.path,
      handler: (req: IncomingMessage, res: ServerResponse, params: RouteParams) =>
        handleCall(req, res, params, operation, deps),
    })),
    // The file is not a signed JSON answer: its own pipeline.
    billDownloadRoute(deps),
  ];
}

/**
 * One API call: read the body, apply any API fault, check the merchant's signature, run the
 * operation, sign the answer, record the exchange for the order, answer.
 */
async function handleCall(
  req: IncomingMessage,
  res: ServerResponse,
  params: RouteParams,
  operation: V3Operation,
  deps: V3EndpointDeps,
): Promise<void> {
  const method = req.method ?? 'GET';
  const url = req.url ?? '/';
  const received = await receive(req, method, url, params);
  const call = 'call' in received ? received.call : undefined;
  const outTradeNo = call === undefined ? undefined : operation.orderKey(call, deps);
  const fault =
    call === undefined || method !== operation.method ? 'ok' : deps.faults.takeApiFault(outTradeNo, operation.kind);

  let reply: V3Reply | undefined;
  if (method !== operation.method) {
    reply = v3Error(405, 'METHOD_NOT_ALLOWED', `请使用${operation.method}方法 (${operation.method} only)`);
  } else if ('tooLarge' in received) {
    reply = received.tooLarge;
  } else if (fault === 'systemerror') {
    reply = v3Error(500, 'SYSTEM_ERROR', '系统错误 (simulated fault; try again)');
  } else if (fault !== 'http500') {
    reply =
      authenticateMerchant(req, received.call, deps) ?? received.badJson ?? operation.run(received.call, deps, fault);
  }
  // "http500": a bare 500 from in front of WeChat's API, neither JSON nor signed.
  const sent =
    reply === undefined
      ? { status: 500, body: 'Internal Server Error', headers: {} }
      : renderSigned(reply, signerOf(deps.platform, deps.signWith), deps.clock.now());

  if (outTradeNo !== undefined) {
    deps.store.appendJournal(outTradeNo, {
      kind: 'api',
      at: new Date(deps.clock.now()).toISOString(),
      path: `${method} ${url}`,
      request: call?.body ?? '',
      httpStatus: sent.status,
      response: sent.body,
      fault: fault === 'ok' ? undefined : fault,
    });
  }
  // "timeout": WeChat acted, but the answer comes too late for the caller, who cannot know the outcome.
  if (fault === 'timeout') await deps.holds.hold(deps.apiHoldMs);
  if (reply === undefined) sendText(res, sent.status, sent.body, 'text/plain; charset=utf-8');
  else sendWithHeaders(res, sent.status, sent.body, sent.headers);
}

type Received = { call: V3Call; badJson?: V3Reply } | { tooLarge: V3Reply };

/** Reads the body; JSON that does not parse is reported after the signature check, as WeChat checks in that order. */
async function receive(req: IncomingMessage, method: string, url: string, params: RouteParams): Promise<Received> {
  let body: string;
  try {
    body = await readBody(req, MAX_REQUEST_BYTES);
  } catch (err) {
    if (!(err instanceof BodyTooLargeError)) throw err;
    return { tooLarge: v3Error(400, 'PARAM_ERROR', `请求体过大 (larger than ${MAX_REQUEST_BYTES} bytes)`) };
  }
  const call: V3Call = {
    method,
    url,
    params,
    query: new URL(url, 'http://simulator').searchParams,
    origin: requestOrigin(req),
    body,
    json: undefined,
  };
  if (method !== 'POST') return { call };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { call, badJson: v3Error(400, 'PARAM_ERROR', '请求体格式错误 (the body must be JSON)') };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { call, badJson: v3Error(400, 'PARAM_ERROR', '请求体格式错误 (the body must be a JSON object)') };
  }
  return { call: { ...call, json: parsed as Record<string, unknown> } };
}

function validOutTradeNo(value: unknown): string | undefined {
  return typeof value === 'string' && OUT_TRADE_NO_PATTERN.test(value) ? value : undefined;
}
