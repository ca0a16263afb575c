import { randomBytes } from 'node:crypto';

import { expect } from 'vitest';

import { SANDBOX_MERCHANT } from '#sandbox/simulator/sandbox-merchant';
import type { Refund } from '#shared/domain/refund';
import { toXml } from '#shared/wechatpay/v2/xml';
import { encryptResource, signWechatpayMessage } from '#shared/wechatpay/v3/testing/wechat-messages';
import type { HttpAnswer, TestStack } from './local-stack';
import { waitFor } from './wait-for';
import { encryptRefundReqInfo } from './wechatpay-v2';

/*
 * What the refund end-to-end suites (test/e2e/refunds-v2.test.ts, refunds-v3.test.ts) share: paying
 * an order through the simulator, asking for refunds through the gateway, and WeChat's refund
 * notifications built as WeChat builds them, for the tests that must send their own (duplicates at
 * once, forgeries).
 */

let sequence = 0;

/** A fresh id in WeChat's alphabet, unique within the run: `prefix` + time + counter. */
export function uniqueNo(prefix: string): string {
  sequence += 1;
  return `${prefix}${Date.now()}${String(sequence).padStart(4, '0')}`;
}

export interface PaidOrder {
  outTradeNo: string;
  transactionId: string;
  total: number;
}

/** Creates an order of `total` fen, has the simulator's payer pay it, and waits until it is PAID here. */
export async function paidOrder(stack: TestStack, total: number): Promise<PaidOrder> {
  const outTradeNo = uniqueNo('RFO');
  const created = await stack.api('POST', '/orders', {
    out_trade_no: outTradeNo,
    description: 'refund test',
    amount: { total },
    trade_type: 'NATIVE',
    product_id: 'sku',
    scene_info: { payer_client_ip: '198.51.100.7' },
  });
  expect(created.status, created.text).toBe(201);
  const paid = await stack.simulator('POST', `/sandbox/orders/${outTradeNo}/pay`, { result: 'SUCCESS' });
  expect(paid.status, paid.text).toBeLessThan(300);
  const order = await waitFor(
    () => stack.store.get(outTradeNo),
    (o) => o?.status === 'PAID',
  );
  const transactionId = order?.payment?.transactionId;
  if (transactionId === undefined) throw new Error(`order ${outTradeNo} is PAID without a transaction_id`);
  return { outTradeNo, transactionId, total };
}

/** POST /orders/{out_trade_no}/refunds. */
export function requestRefund(
  stack: TestStack,
  outTradeNo: string,
  body: { out_refund_no?: string; amount: { refund: number }; reason?: string },
): Promise<HttpAnswer> {
  return stack.api('POST', `/orders/${outTradeNo}/refunds`, body);
}

/** The refund as the API shows it. */
export async function refundView(stack: TestStack, outTradeNo: string, outRefundNo: string): Promise<HttpAnswer> {
  return stack.api('GET', `/orders/${outTradeNo}/refunds/${outRefundNo}`);
}

/** The order view's refund summary. */
export async function refundSummary(stack: TestStack, outTradeNo: string): Promise<unknown> {
  return (await stack.api('GET', `/orders/${outTradeNo}`)).json.refund;
}

/** The stored refund (with its history), read the way the handlers read it. */
export function storedRefund(stack: TestStack, outTradeNo: string, outRefundNo: string): Promise<Refund | undefined> {
  return stack.refundStore.getRefund(outTradeNo, outRefundNo);
}

/** Waits until the stored refund has `status`, and returns it. */
export async function waitForRefundStatus(
  stack: TestStack,
  outTradeNo: string,
  outRefundNo: string,
  status: Refund['status'],
  timeoutMs = 15_000,
): Promise<Refund> {
  const refund = await waitFor(
    () => storedRefund(stack, outTradeNo, outRefundNo),
    (r) => r?.status === status,
    { timeoutMs },
  );
  return refund as Refund;
}

/** Waits until WeChat (the simulator) has accepted the refund here: its refund_id is stored. */
export function waitForAcceptance(stack: TestStack, outTradeNo: string, outRefundNo: string): Promise<Refund> {
  return waitFor(
    () => storedRefund(stack, outTradeNo, outRefundNo),
    (r) => r?.refundId !== undefined,
  ) as Promise<Refund>;
}

/** Tells the simulator to finish the refund now, notifying as WeChat would. */
export async function completeAtWechat(
  stack: TestStack,
  outRefundNo: string,
  result: 'SUCCESS' | 'CLOSED' | 'ABNORMAL' = 'SUCCESS',
): Promise<void> {
  const res = await stack.simulator('POST', `/sandbox/refunds/${outRefundNo}/complete`, { result });
  expect(res.status, res.text).toBeLessThan(300);
}

/** The refunds the simulator (WeChat) knows of the order: what reached WeChat. */
export async function refundsAtWechat(
  stack: TestStack,
  outTradeNo: string,
): Promise<Array<{ out_refund_no: string; status?: string }>> {
  const described = await stack.simulator('GET', `/sandbox/orders/${outTradeNo}`);
  return (described.json.refunds as Array<{ out_refund_no: string; status?: string }> | undefined) ?? [];
}

/** What of a refund must not move when a notification is refused. */
export function unchangedPart(refund: Refund | undefined): unknown {
  if (refund === undefined) return undefined;
  return {
    status: refund.status,
    updatedAt: refund.updatedAt,
    history: refund.history,
    successTime: refund.successTime,
    amount: refund.amount,
  };
}

// ---- WeChat's refund notifications ------------------------------------------------------------

/** Beijing wall time `yyyy-MM-dd HH:mm:ss`, as v2 writes success_time. */
function beijingTime(at: Date): string {
  return new Date(at.getTime() + 8 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19);
}

/** The req_info fields of a successful v2 refund of this stored refund; override any of them. */
export function v2RefundFields(refund: Refund, transactionId: string, overrides: Record<string, string> = {}) {
  return {
    out_refund_no: refund.outRefundNo,
    out_trade_no: refund.outTradeNo,
    refund_account: 'REFUND_SOURCE_RECHARGE_FUNDS',
    refund_fee: String(refund.amount.refund),
    refund_id: refund.refundId ?? '50000000000000000000000000000',
    refund_recv_accout: '支付用户零钱',
    refund_request_source: 'API',
    refund_status: 'SUCCESS',
    settlement_refund_fee: String(refund.amount.refund),
    settlement_total_fee: String(refund.amount.total),
    success_time: beijingTime(new Date()),
    total_fee: String(refund.amount.total),
    transaction_id: transactionId,
    ...overrides,
  };
}

/** The encrypted req_info of these fields under `apiKey` (`<root>` as WeChat writes it). */
export function v2ReqInfo(fields: Record<string, string>, apiKey: string): string {
  const root = toXml(fields)
    .replace(/^<xml>/, '<root>')
    .replace(/<\/xml>$/, '</root>');
  return encryptRefundReqInfo(root, apiKey);
}

/** A v2 refund notification body: unsigned, the refund in req_info. */
export function v2RefundNotificationBody(
  reqInfo: string,
  merchant: { appid: string; mchid: string } = SANDBOX_MERCHANT,
): string {
  return toXml({
    return_code: 'SUCCESS',
    appid: merchant.appid,
    mch_id: merchant.mchid,
    nonce_str: randomBytes(16).toString('hex'),
    req_info: reqInfo,
  });
}

/** The decrypted resource of a v3 REFUND.SUCCESS notification for this stored refund. */
export function v3RefundResource(
  refund: Refund,
  transactionId: string,
  mchid: string,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    mchid,
    out_trade_no: refund.outTradeNo,
    transaction_id: transactionId,
    out_refund_no: refund.outRefundNo,
    refund_id: refund.refundId ?? '50000000000000000000000000000',
    refund_status: 'SUCCESS',
    success_time: new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    user_received_account: '支付用户零钱',
    amount: {
      total: refund.amount.total,
      refund: refund.amount.refund,
      payer_total: refund.amount.total,
      payer_refund: refund.amount.refund,
    },
    ...overrides,
  };
}

/** A v3 refund notification: the resource under the APIv3 key (associated_data `refund`), the body signed. */
export function v3RefundNotification(
  stack: TestStack,
  resource: Record<string, unknown>,
  opts: { eventType?: string; apiV3Key?: string; associatedData?: string } = {},
): { headers: Record<string, string>; body: string } {
  const apiV3Key = opts.apiV3Key ?? stack.settings.WECHATPAY_APIV3_KEY;
  const serial = stack.settings.WECHATPAY_PUBLIC_KEY_ID;
  if (stack.platformKey === undefined || apiV3Key === undefined || serial === undefined)
    throw new Error('not a v3 stack');
  const now = new Date();
  const body = JSON.stringify({
    id: randomBytes(16).toString('hex'),
    create_time: now.toISOString().replace(/\.\d{3}Z$/, '+00:00'),
    resource_type: 'encrypt-resource',
    event_type: opts.eventType ?? 'REFUND.SUCCESS',
    summary: '退款成功',
    resource: encryptResource(JSON.stringify(resource), apiV3Key, {
      associatedData: opts.associatedData ?? 'refund',
      originalType: 'refund',
    }),
  });
  const headers = {
    ...signWechatpayMessage(body, { privateKey: stack.platformKey, serial }, { now }),
    'Content-Type': 'application/json',
  };
  return { headers, body };
}

/** POSTs a refund notification to /notify/refund; `ok` is whether it was acknowledged as received. */
export async function postRefundNotification(
  stack: TestStack,
  body: string,
  headers: Record<string, string> = { 'content-type': 'text/xml' },
): Promise<{ ok: boolean; status: number; text: string }> {
  const url = stack.notifyUrl.replace(/\/notify\/pay$/, '/notify/refund');
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  // Acknowledged: a 2xx whose body (v2 XML, or v3's JSON when there is one) does not say FAIL.
  const failed = /<return_code>(<!\[CDATA\[)?FAIL|"code"\s*:\s*"FAIL"/.test(text);
  return { ok: res.status < 300 && !failed, status: res.status, text };
}
