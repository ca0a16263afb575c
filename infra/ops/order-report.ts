import { eventView } from '#shared/app/event-view';
import { orderView, refundSummary } from '#shared/app/order-view';
import { refundView } from '#shared/app/refund-view';
import type { HistoryEntry } from '#shared/domain/order';
import { paidAtRfc3339 } from '#shared/domain/payment-time';
import type { NotificationRecord } from '#shared/domain/ports';
import type { RefundHistoryEntry } from '#shared/domain/refund';
import { fenToYuan } from '#shared/wechatpay/core/money';
import type { OrderRecord } from './order-record';

/**
 * An order's record as `npm run orders -- <out_trade_no> --json` prints it: the order and its refunds
 * as the API answers them (snake_case, RFC 3339, fen), with what only an operator sees beside them:
 * each status change, the notifications received and the events produced.
 */
export function orderReportJson(record: OrderRecord): Record<string, unknown> {
  const { order } = record;
  return {
    order: orderView(order),
    history: order.history.map(historyView),
    ...(order.nextCheckAt === undefined ? {} : { next_check_at: order.nextCheckAt }),
    notifications: record.notifications.map(notificationView),
    refunds: record.refunds.map(({ refund, notifications }) => ({
      ...refundView(refund),
      ...(refund.acceptedAt === undefined ? {} : { accepted_at: refund.acceptedAt }),
      ...(refund.nextCheckAt === undefined ? {} : { next_check_at: refund.nextCheckAt }),
      history: refund.history.map(historyView),
      notifications: notifications.map(notificationView),
    })),
    events: record.events.map(eventView),
  };
}

function historyView(entry: HistoryEntry | RefundHistoryEntry): Record<string, unknown> {
  return {
    at: entry.at,
    from: entry.from,
    to: entry.to,
    source: entry.source,
    ...(entry.note === undefined ? {} : { note: entry.note }),
  };
}

/** A notification as received: WeChat's body kept for audit, and what became of it. */
function notificationView(record: NotificationRecord): Record<string, unknown> {
  return {
    id: record.id,
    received_at: record.receivedAt,
    api_version: record.apiVersion,
    outcome: record.outcome,
    ...(record.reason === undefined ? {} : { reason: record.reason }),
    body_sha256: record.bodySha256,
    body: record.body,
  };
}

/** 1999 → `1999 fen (¥19.99 CNY)`: the stored integer and what a person reads. */
function money(fen: number, currency = 'CNY'): string {
  return `${fen} fen (¥${fenToYuan(fen)} ${currency})`;
}

/** The same record, for a person at a terminal. */
export function orderReportText(record: OrderRecord): string {
  const { order } = record;
  const { request, prepay, payment } = order;
  const lines: string[] = [];
  const field = (name: string, value: string) => lines.push(`  ${name.padEnd(14)}${value}`);

  lines.push(`Order ${order.outTradeNo}: ${order.status}`);
  field('trade type', request.tradeType);
  field('description', request.description);
  field('amount', money(request.amount.total, request.amount.currency));
  field('created', order.createdAt);
  field('updated', order.updatedAt);
  field('expires', request.expiresAt);
  if (prepay !== undefined) field('prepay_id', prepay.prepayId);
  if (order.reason !== undefined) field('reason', order.reason);
  if (order.nextCheckAt !== undefined) field('next check', order.nextCheckAt);
  if (order.checksExhaustedAt !== undefined) field('checks gave up', `${order.checksExhaustedAt} (settle it by hand)`);
  if (payment !== undefined) {
    field('paid', `${money(payment.amountTotal, payment.currency)} at ${paidAtRfc3339(payment.paidAt)}`);
    field('transaction', payment.transactionId);
    if (payment.bankType !== undefined) field('bank', payment.bankType);
    if (payment.payerOpenid !== undefined) field('payer openid', payment.payerOpenid);
  }
  if (order.latePayment !== undefined) {
    const late = order.latePayment;
    const paid = `${money(late.amountTotal, late.currency)} at ${paidAtRfc3339(late.paidAt)}`;
    field('LATE PAYMENT', `${paid}, transaction ${late.transactionId}: refund it`);
  }
  if (order.status === 'PAID') {
    // The API's own summary (order-view.ts), so the two never disagree.
    const summary = refundSummary(order);
    field(
      'refunds',
      `refunded ${money(summary.refunded)}, pending ${money(summary.pending)}, refundable ${money(summary.refundable)}`,
    );
  }

  lines.push('', 'History');
  for (const entry of order.history) lines.push(`  ${historyLine(entry)}`);

  lines.push('', `Events (${record.events.length}, oldest first)`);
  if (record.events.length === 0) lines.push('  none');
  for (const event of record.events) {
    const about = event.subject.outRefundNo === undefined ? '' : ` refund ${event.subject.outRefundNo}`;
    lines.push(`  ${event.createdAt}  ${event.type}${about}  ${event.id}`);
  }

  lines.push('', `Notifications received (${record.notifications.length})`);
  if (record.notifications.length === 0) lines.push('  none');
  for (const notification of record.notifications) lines.push(`  ${notificationLine(notification)}`);

  lines.push('', `Refunds (${record.refunds.length})`);
  if (record.refunds.length === 0) lines.push('  none');
  for (const { refund, notifications } of record.refunds) {
    lines.push(`  ${refund.outRefundNo}: ${refund.status}, ${money(refund.amount.refund, refund.amount.currency)}`);
    const sub = (name: string, value: string) => lines.push(`    ${name.padEnd(12)}${value}`);
    if (refund.reason !== undefined) sub('reason', refund.reason);
    if (refund.refundId !== undefined) sub('refund_id', refund.refundId);
    sub('created', refund.createdAt);
    sub('updated', refund.updatedAt);
    if (refund.successTime !== undefined) sub('succeeded', refund.successTime);
    if (refund.userReceivedAccount !== undefined) sub('to', refund.userReceivedAccount);
    if (refund.failure !== undefined) sub('refused', `${refund.failure.code}: ${refund.failure.message}`);
    if (refund.nextCheckAt !== undefined) sub('next check', refund.nextCheckAt);
    for (const entry of refund.history) lines.push(`    ${historyLine(entry)}`);
    for (const notification of notifications) lines.push(`    notification ${notificationLine(notification)}`);
  }
  return `${lines.join('\n')}\n`;
}

function historyLine(entry: HistoryEntry | RefundHistoryEntry): string {
  const note = entry.note === undefined ? '' : `  (${entry.note})`;
  return `${entry.at}  ${entry.from ?? '-'} -> ${entry.to}  by ${entry.source}${note}`;
}

function notificationLine(record: NotificationRecord): string {
  const reason = record.reason === undefined ? '' : `: ${record.reason}`;
  const hash = record.bodySha256.slice(0, 12);
  return `${record.receivedAt}  ${record.apiVersion} ${record.outcome}${reason}  sha256 ${hash}…`;
}
