import type { SimOrder } from '../order-model';
import type { SimRefund } from '../refund-model';
import { beijingTime, isoTime, yuan } from './format';
import { html } from './html';
import type { Page } from './layout';

/** Enough to find what one just did; the JSON control API has every order. */
export const RECENT_LIMIT = 100;

export function cashierPath(outTradeNo: string): string {
  return `/sandbox/cashier/${encodeURIComponent(outTradeNo)}`;
}

const NO_ORDERS = html`<p class="empty">No order yet: call unifiedorder (or POST /orders on the app backend).</p>`;

function newestFirst<T extends { createdAt: number }>(items: T[]): T[] {
  return [...items].sort((a, b) => b.createdAt - a.createdAt).slice(0, RECENT_LIMIT);
}

function orderRow(order: SimOrder, refunded: boolean): ReturnType<typeof html> {
  const state = order.state === 'SUCCESS' && refunded ? 'REFUND' : order.state;
  return html`<tr data-out-trade-no="${order.outTradeNo}">
    <td><code>${order.outTradeNo}</code></td>
    <td><span class="state state-${state}">${state}</span></td>
    <td class="num">${yuan(order.totalFee)}</td>
    <td>${order.tradeType}</td>
    <td>${order.description}</td>
    <td><time datetime="${isoTime(order.createdAt)}">${beijingTime(order.createdAt)}</time></td>
    <td><a class="cashier" href="${cashierPath(order.outTradeNo)}">Cashier</a></td>
  </tr>`;
}

function refundRow(refund: SimRefund): ReturnType<typeof html> {
  return html`<tr data-out-refund-no="${refund.outRefundNo}">
    <td><code>${refund.outRefundNo}</code></td>
    <td>
      <a href="${cashierPath(refund.outTradeNo)}"><code>${refund.outTradeNo}</code></a>
    </td>
    <td><span class="state state-${refund.status}">${refund.status}</span></td>
    <td class="num">${yuan(refund.refundFee)}</td>
    <td><time datetime="${isoTime(refund.createdAt)}">${beijingTime(refund.createdAt)}</time></td>
  </tr>`;
}

/** `GET /sandbox`: the latest orders and refunds, newest first, each order linking to its cashier. */
export function orderListPage(orders: SimOrder[], refunds: SimRefund[]): Page {
  const refundedOrders = new Set(refunds.map((r) => r.outTradeNo));
  const recentOrders = newestFirst(orders);
  const recentRefunds = newestFirst(refunds);
  const body = html`<main>
    <section class="card wide" aria-label="Orders">
      <h2>Orders</h2>
      <p class="meta">
        The ${RECENT_LIMIT} latest, newest first; times are Beijing time. Open a cashier to pay, fail or cancel.
      </p>
      <table id="orders">
        <thead>
          <tr>
            <th>out_trade_no</th>
            <th>State</th>
            <th>Amount</th>
            <th>Type</th>
            <th>Description</th>
            <th>Created</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${recentOrders.map((order) => orderRow(order, refundedOrders.has(order.outTradeNo)))}
        </tbody>
      </table>
      ${recentOrders.length === 0 ? NO_ORDERS : ''}
    </section>
    <section class="card wide" aria-label="Refunds">
      <h2>Refunds</h2>
      <table id="refunds">
        <thead>
          <tr>
            <th>out_refund_no</th>
            <th>Order</th>
            <th>Status</th>
            <th>Amount</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          ${recentRefunds.map(refundRow)}
        </tbody>
      </table>
      ${recentRefunds.length === 0 ? html`<p class="empty">No refund yet.</p>` : ''}
    </section>
  </main>`;
  return { title: 'Simulator: orders and refunds', body };
}
