import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { toWechatTime } from '#shared/wechatpay/v2/time';
import { faultRequestSchema } from './faults';
import type { FaultRegistry } from './faults';
import { readJson, sendJson, sendJsonError } from './http-io';
import type { SimOrder } from './order-model';
import type { Payer } from './payer';
import { refundEventSchema } from './refund-model';
import type { SimRefund } from './refund-model';
import type { Refunds } from './refunds';
import type { Route } from './router';
import type { StateStore } from './state-store';

const completeRequestSchema = z.object({ result: refundEventSchema }).strict();

const payRequestSchema = z
  .object({
    result: z.enum(['SUCCESS', 'FAIL', 'USERPAYING', 'CANCEL']),
    openid: z.string().min(1).max(128).optional(),
  })
  .strict();

export interface ControlDeps {
  store: StateStore;
  payer: Payer;
  refunds: Refunds;
  faults: FaultRegistry;
  /** v3 mode: WeChat's public identity, shown by GET /sandbox/platform. */
  platform?: {
    publicKeyPem: string;
    publicKeyId: string;
    certificatePem: string;
    certificateSerial: string;
    signWith: string;
  };
}

/** The sandbox's own JSON API: act as the payer, switch faults, look at what happened, health. */
export function controlRoutes(deps: ControlDeps): Route[] {
  return [
    { method: 'GET', path: '/health', handler: async (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'POST',
      path: '/sandbox/orders/:outTradeNo/pay',
      handler: (req, res, p) => pay(req, res, p.outTradeNo as string, deps),
    },
    {
      method: 'GET',
      path: '/sandbox/orders/:outTradeNo',
      handler: async (_req, res, p) => describe(res, p.outTradeNo as string, deps),
    },
    {
      method: 'POST',
      path: '/sandbox/refunds/:outRefundNo/complete',
      handler: (req, res, p) => completeRefund(req, res, p.outRefundNo as string, deps),
    },
    {
      method: 'GET',
      path: '/sandbox/refunds/:outRefundNo',
      handler: async (_req, res, p) => describeRefund(res, p.outRefundNo as string, deps),
    },
    { method: 'POST', path: '/sandbox/faults', handler: (req, res) => setFaults(req, res, deps) },
    { method: 'DELETE', path: '/sandbox/faults', handler: async (_req, res) => clearFaults(res, deps) },
    {
      method: 'GET',
      path: '/sandbox/faults',
      handler: async (_req, res) => sendJson(res, 200, deps.faults.snapshot()),
    },
    { method: 'GET', path: '/sandbox/platform', handler: async (_req, res) => platform(res, deps) },
  ];
}

async function pay(req: IncomingMessage, res: ServerResponse, outTradeNo: string, deps: ControlDeps): Promise<void> {
  const body = await readJson(req, res, payRequestSchema);
  if (body === undefined) return;
  const outcome = deps.payer.pay(outTradeNo, body.result, body.openid);
  if (outcome.kind === 'not_found') {
    sendJsonError(res, 404, 'ORDERNOTEXIST', `no order ${outTradeNo}`);
  } else if (outcome.kind === 'not_payable') {
    sendJsonError(res, 409, outcome.reason, NOT_PAYABLE_MESSAGES[outcome.reason]);
  } else {
    sendJson(res, 200, orderView(outcome.order));
  }
}

const NOT_PAYABLE_MESSAGES = {
  ORDERPAID: 'the order is already paid',
  ORDERCLOSED: 'the order is closed',
  PREPAY_EXPIRED: 'the prepay_id has expired (2 hours, scaled); call unifiedorder again for a new one',
  ORDER_EXPIRED: "the order's time_expire has passed",
} as const;

function describe(res: ServerResponse, outTradeNo: string, deps: ControlDeps): void {
  const order = deps.store.getOrder(outTradeNo);
  const journal = deps.store.journalOf(outTradeNo);
  if (order === undefined && journal.length === 0) {
    sendJsonError(res, 404, 'ORDERNOTEXIST', `nothing known about ${outTradeNo}`);
    return;
  }
  sendJson(res, 200, {
    order: order === undefined ? null : orderView(order),
    requests: journal.filter((e) => e.kind === 'api'),
    payer: journal.filter((e) => e.kind === 'payer'),
    notifications: journal.filter((e) => e.kind === 'notify' && e.outRefundNo === undefined),
    refunds: deps.refunds.ofOrder(outTradeNo).map(refundView),
  });
}

/**
 * Finishes a refund now, as WeChat's side would: SUCCESS, CLOSED, or ABNORMAL (which may later be
 * completed SUCCESS or CLOSED), and notifies the outcome. 404 for an unknown refund; 409
 * REFUND_FINAL for one already SUCCESS or CLOSED (or ABNORMAL again).
 */
async function completeRefund(
  req: IncomingMessage,
  res: ServerResponse,
  outRefundNo: string,
  deps: ControlDeps,
): Promise<void> {
  const body = await readJson(req, res, completeRequestSchema);
  if (body === undefined) return;
  const outcome = deps.refunds.complete(outRefundNo, body.result, 'control');
  if (outcome.kind === 'not_found') sendJsonError(res, 404, 'REFUNDNOTEXIST', `no refund ${outRefundNo}`);
  else if (outcome.kind === 'not_changeable')
    sendJsonError(res, 409, 'REFUND_FINAL', `the refund is ${outcome.refund.status} and cannot become ${body.result}`);
  else sendJson(res, 200, refundView(outcome.refund));
}

function describeRefund(res: ServerResponse, outRefundNo: string, deps: ControlDeps): void {
  const refund = deps.refunds.find({ outRefundNo });
  if (refund === undefined) {
    sendJsonError(res, 404, 'REFUNDNOTEXIST', `no refund ${outRefundNo}`);
    return;
  }
  const journal = deps.store.journalOf(refund.outTradeNo);
  sendJson(res, 200, {
    refund: refundView(refund),
    history: journal.filter((e) => e.kind === 'refund' && e.outRefundNo === outRefundNo),
    notifications: journal.filter((e) => e.kind === 'notify' && e.outRefundNo === outRefundNo),
  });
}

/** The refund as the sandbox shows it: v3's field names and statuses, instants as ISO strings. */
export function refundView(refund: SimRefund): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
  return {
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId,
    out_trade_no: refund.outTradeNo,
    transaction_id: refund.transactionId,
    status: refund.status,
    amount: { refund: refund.refundFee, total: refund.totalFee },
    reason: refund.reason,
    notify_url: refund.notifyUrl ?? null,
    api_version: refund.protocol.version,
    created_at: iso(refund.createdAt),
    updated_at: iso(refund.updatedAt),
    completes_at: iso(refund.completeAt),
    success_time: iso(refund.successAt),
    notification: refund.notification ?? null,
  };
}

/** What a merchant configures to verify WeChat (the simulator) in v3: public data only. */
function platform(res: ServerResponse, deps: ControlDeps): void {
  const p = deps.platform;
  if (p === undefined) {
    sendJsonError(
      res,
      404,
      'NOT_V3',
      'the simulator runs API v2 only; start it with apiVersion v3 (WECHATPAY_API_VERSION=v3)',
    );
    return;
  }
  sendJson(res, 200, {
    public_key: p.publicKeyPem,
    public_key_id: p.publicKeyId,
    certificate: p.certificatePem,
    certificate_serial: p.certificateSerial,
    sign_with: p.signWith,
  });
}

async function setFaults(req: IncomingMessage, res: ServerResponse, deps: ControlDeps): Promise<void> {
  const body = await readJson(req, res, faultRequestSchema);
  if (body === undefined) return;
  deps.faults.set(body);
  sendJson(res, 200, deps.faults.snapshot());
}

function clearFaults(res: ServerResponse, deps: ControlDeps): void {
  deps.faults.clear();
  sendJson(res, 200, deps.faults.snapshot());
}

/** The order as the sandbox shows it: WeChat's field names, instants in both forms. */
export function orderView(order: SimOrder): Record<string, unknown> {
  return {
    out_trade_no: order.outTradeNo,
    trade_state: order.state,
    trade_type: order.tradeType,
    total_fee: order.totalFee,
    fee_type: order.currency,
    notify_url: order.notifyUrl,
    api_version: order.protocol.version,
    sign_type: order.protocol.version === 'v2' ? order.protocol.signType : undefined,
    created_at: new Date(order.createdAt).toISOString(),
    expires_at: order.expiresAt === undefined ? undefined : new Date(order.expiresAt).toISOString(),
    prepay_id: order.prepay.prepayId,
    prepay_expires_at: new Date(order.prepay.expiresAt).toISOString(),
    transaction_id: order.payment?.transactionId,
    time_end: order.payment === undefined ? undefined : toWechatTime(new Date(order.payment.paidAt)),
    openid: order.payment?.openid ?? order.openid,
    closed_at: order.closedAt === undefined ? undefined : new Date(order.closedAt).toISOString(),
    notification: order.notification ?? null,
  };
}
