import { createHash } from 'node:crypto';
import type { JournalEntry, SimOrder } from '../order-model';
import type { SimRefund } from '../refund-model';
import { isFinalRefund } from '../refund-model';
import { beijingTime } from './format';
import { html } from './html';
import type { SafeHtml } from './html';
import { yuan } from './format';

/** What the cashier shows of an order, read from the simulator's state at one moment. */
export interface CashierState {
  order: SimOrder;
  journal: JournalEntry[];
  refunds: SimRefund[];
}

/** How an attempt ended for the payer's eyes: the merchant said yes, said no, or was never heard. */
export type AttemptOutcome = 'acknowledged' | 'refused' | 'failed';

type NotifyEntry = Extract<JournalEntry, { kind: 'notify' }>;

/**
 * `delivered` was acknowledged; `failed` got an HTTP answer that was not an acknowledgement (a FAIL
 * reply, a 500, plain `success`): the merchant refused it; no answer in time, no connection, or a
 * dropped notification never reached the merchant at all.
 */
export function attemptOutcome(entry: NotifyEntry): AttemptOutcome {
  if (entry.outcome === 'delivered') return 'acknowledged';
  if (entry.outcome === 'failed') return 'refused';
  return 'failed';
}

/** WeChat's trade_state as a query answers it: a paid order with refunds reads REFUND. */
export function tradeStateOf(state: CashierState): string {
  return state.order.state === 'SUCCESS' && state.refunds.length > 0 ? 'REFUND' : state.order.state;
}

/** The payer can still act on the order (a later refusal, e.g. an expired prepay, is shown as it comes). */
export function isPayable(order: SimOrder): boolean {
  return order.state !== 'SUCCESS' && order.state !== 'CLOSED';
}

const MAX_REPLY_SHOWN = 2048;

function paymentNotifications(journal: JournalEntry[]): NotifyEntry[] {
  return journal.filter((e): e is NotifyEntry => e.kind === 'notify' && e.outRefundNo === undefined);
}

function attemptItem(entry: NotifyEntry): SafeHtml {
  const outcome = attemptOutcome(entry);
  const reply = entry.reply === undefined ? undefined : entry.reply.slice(0, MAX_REPLY_SHOWN);
  const detail =
    entry.outcome === 'dropped'
      ? 'not sent (drop fault)'
      : entry.httpStatus === undefined
        ? (entry.error ?? 'no answer')
        : `HTTP ${entry.httpStatus}`;
  return html`<li data-outcome="${outcome}" data-attempt="${entry.attempt}">
    <div>
      <strong>Attempt ${entry.attempt}${entry.copy > 1 ? ` (copy ${entry.copy})` : ''}</strong> · ${outcome} ·
      ${detail}${
        entry.durationMs === undefined ? '' : ` · ${Math.round(entry.durationMs)} ms`
      }${entry.fault === undefined ? '' : ` · fault ${entry.fault}`}
    </div>
    <div class="meta"><time datetime="${entry.at}">${beijingTime(Date.parse(entry.at))}</time> → ${entry.url}</div>
    ${
      reply === undefined
        ? ''
        : html`<pre class="reply" aria-label="Merchant's reply">${reply === '' ? '(empty reply)' : reply}</pre>`
    }
  </li>`;
}

function refundItem(refund: SimRefund, journal: JournalEntry[]): SafeHtml {
  const attempts = journal.filter((e): e is NotifyEntry => e.kind === 'notify' && e.outRefundNo === refund.outRefundNo);
  const last = attempts.at(-1);
  const final = isFinalRefund(refund.status);
  const notified =
    last === undefined
      ? 'no notification yet'
      : `${attempts.length} notification attempt${attempts.length === 1 ? '' : 's'}, last ${attemptOutcome(last)}`;
  return html`<li data-out-refund-no="${refund.outRefundNo}" data-status="${refund.status}">
    <div>
      <code>${refund.outRefundNo}</code> · <span class="state state-${refund.status}">${refund.status}</span> ·
      ${yuan(refund.refundFee)} of ${yuan(refund.totalFee)}
    </div>
    <div class="meta">refund_id ${refund.refundId} · ${notified}</div>
    <div class="buttons">
      <button type="button" class="secondary" data-action="refund-success" ${final ? html` disabled` : ''}>
        Succeed
      </button>
      <button type="button" class="secondary" data-action="refund-close" ${final ? html` disabled` : ''}>Close</button>
      <button
        type="button"
        class="danger"
        data-action="refund-abnormal"
        ${final || refund.status === 'ABNORMAL' ? html` disabled` : ''}
      >
        Abnormal
      </button>
    </div>
  </li>`;
}

/** A list's items with a digest, so the page replaces them only when they changed (a click is not lost). */
export interface Fragment {
  html: string;
  digest: string;
  count: number;
}

function fragment(items: SafeHtml[]): Fragment {
  const text = items.map((item) => item.value).join('\n');
  return { html: text, digest: createHash('sha256').update(text).digest('hex').slice(0, 16), count: items.length };
}

export function notificationsFragment(state: CashierState): Fragment {
  return fragment(paymentNotifications(state.journal).map(attemptItem));
}

export function refundsFragment(state: CashierState): Fragment {
  return fragment(state.refunds.map((refund) => refundItem(refund, state.journal)));
}

/** Where the payment notification stands, in a sentence. */
export function notificationStatus(order: SimOrder): string {
  const job = order.notification;
  if (job === undefined) return 'Nothing notified yet: the merchant hears of a payment or a failure.';
  const event = job.event === 'SUCCESS' ? 'payment' : 'failure';
  switch (job.status) {
    case 'delivered':
      return `The ${event} notification was acknowledged after ${job.attempts} attempt(s).`;
    case 'gave_up':
      return `The ${event} notification was given up after ${job.attempts} attempts.`;
    case 'dropped':
      return `The ${event} notification was dropped (fault): the merchant must query.`;
    case 'pending':
      return job.nextAttemptAt === undefined
        ? `The ${event} notification is being sent.`
        : `The ${event} notification's next attempt is due at ${beijingTime(job.nextAttemptAt)} (Beijing).`;
  }
}

/** The cashier's changing parts, as the page polls them. */
export function liveView(state: CashierState): Record<string, unknown> {
  return {
    out_trade_no: state.order.outTradeNo,
    trade_state: tradeStateOf(state),
    payable: isPayable(state.order),
    paid: state.order.state === 'SUCCESS',
    notification_status: notificationStatus(state.order),
    notifications: notificationsFragment(state),
    refunds: refundsFragment(state),
  };
}
