import type { Page } from './layout';
import { beijingTime, isoTime, yuan } from './format';
import { html } from './html';
import type { SafeHtml } from './html';
import { CASHIER_SCRIPT } from './cashier-script';
import { isPayable, notificationStatus, notificationsFragment, refundsFragment, tradeStateOf } from './cashier-view';
import type { CashierState } from './cashier-view';
import { trusted } from './html';

const TRADE_TYPE_HINTS: Record<string, string> = {
  NATIVE: 'Scan the code with WeChat, then act as the payer below.',
  JSAPI: 'The payer is in WeChat (official account or mini program): act as the payer below.',
  APP: "The merchant's app opened WeChat's payment sheet: act as the payer below.",
  MWEB: 'The payer followed mweb_url in a mobile browser: act as the payer below.',
};

/**
 * The payer's side of one order: what the phone shows (amount, description, the QR of code_url for
 * NATIVE), the three ways the payment sheet can end (errCode 0, -1, -2 in the APP SDK's words), and
 * what WeChat's side then told the merchant, kept live by the page's script.
 */
export function cashierPage(state: CashierState, qr: SafeHtml | undefined): Page {
  const { order } = state;
  const tradeState = tradeStateOf(state);
  const payable = isPayable(order);
  const notifications = notificationsFragment(state);
  const refunds = refundsFragment(state);
  const off = payable ? '' : html` disabled`;
  const body = html`<main data-out-trade-no="${order.outTradeNo}">
    <section class="card" aria-label="Payment">
      <p class="merchant">Pay merchant <code>${order.mchid}</code></p>
      <p id="amount">${yuan(order.totalFee)}</p>
      <dl class="facts">
        <dt>Description</dt>
        <dd id="description">${order.description}</dd>
        <dt>Trade type</dt>
        <dd id="trade-type">${order.tradeType}</dd>
        <dt>Trade state</dt>
        <dd><span id="trade-state" class="state state-${tradeState}">${tradeState}</span></dd>
        <dt>Order</dt>
        <dd><code>${order.outTradeNo}</code></dd>
        <dt>Created</dt>
        <dd><time datetime="${isoTime(order.createdAt)}">${beijingTime(order.createdAt)}</time></dd>
        <dt>API</dt>
        <dd>${order.protocol.version}</dd>
      </dl>
      ${qr === undefined ? '' : html`<div id="qr" aria-label="QR code of code_url">${qr}</div>`}
      <p class="hint">${TRADE_TYPE_HINTS[order.tradeType] ?? ''}</p>
      <div class="actions">
        <button type="button" data-action="pay" ${off}>Pay ${yuan(order.totalFee)}</button>
        <div class="row">
          <button type="button" class="danger" data-action="fail" ${off}>Fail<small>errCode -1</small></button>
          <button type="button" class="secondary" data-action="cancel" ${off}>Cancel<small>errCode -2</small></button>
        </div>
      </div>
      <p id="result" role="status" aria-live="polite"></p>
    </section>
    <section class="card" aria-label="Notifications">
      <h2>Notifications to the merchant</h2>
      <p class="meta" id="notification-status">${notificationStatus(order)}</p>
      <ol id="notifications" data-digest="${notifications.digest}">
        ${trusted(notifications.html)}
      </ol>
    </section>
    <section class="card" aria-label="Refunds" id="refund-section" ${order.state === 'SUCCESS' ? '' : html` hidden`}>
      <h2>Refunds</h2>
      <p class="empty" id="no-refunds" ${refunds.count === 0 ? '' : html` hidden`}>
        No refund yet: the merchant asks for one.
      </p>
      <ul id="refunds" data-digest="${refunds.digest}">
        ${trusted(refunds.html)}
      </ul>
      <p id="refund-result" role="status" aria-live="polite"></p>
    </section>
  </main>`;
  return { title: `Cashier ${yuan(order.totalFee)} · ${order.outTradeNo}`, body, script: CASHIER_SCRIPT };
}

/** The page for an order the simulator does not know. */
export function unknownOrderPage(outTradeNo: string): Page {
  return {
    title: 'No such order',
    body: html`<main>
      <section class="card">
        <h1>No such order</h1>
        <p>
          The simulator knows no order <code>${outTradeNo}</code>. An order exists once the merchant has called
          unifiedorder (v2) or a v3 prepay for it.
        </p>
        <p><a href="/sandbox">All orders and refunds</a></p>
      </section>
    </main>`,
  };
}
