/**
 * The cashier's script, sent inline under the page's CSP nonce: the buttons act as the payer through
 * the control API, and the page polls /sandbox/cashier/{out_trade_no}/live once a second for the
 * trade state, the notification attempts and the refunds. Lists are replaced only when their digest
 * changes, so a button is not swapped out under a click. Plain ES2020, no build step.
 */
export const CASHIER_SCRIPT = `
(() => {
  'use strict';
  const main = document.querySelector('main[data-out-trade-no]');
  if (!main) return;
  const no = main.dataset.outTradeNo;
  const enc = encodeURIComponent(no);
  const $ = (id) => document.getElementById(id);
  const result = $('result');
  const refundResult = $('refund-result');
  const payButtons = Array.from(document.querySelectorAll('.actions button[data-action]'));
  const ERR = {
    pay: { result: 'SUCCESS', errCode: 0, text: 'Paid', name: 'Pay' },
    fail: { result: 'FAIL', errCode: -1, text: 'Payment failed', name: 'Fail' },
    cancel: { result: 'CANCEL', errCode: -2, text: 'Cancelled by the payer', name: 'Cancel' },
  };
  let timer;

  async function send(method, path, body) {
    const res = await fetch(path, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: 'no-store',
    });
    let json = {};
    try { json = await res.json(); } catch (e) { json = {}; }
    return { status: res.status, json };
  }

  function show(el, text, ok) {
    el.textContent = text;
    el.className = ok ? 'ok' : 'bad';
  }

  function replaceList(list, fragment) {
    if (list.dataset.digest === fragment.digest) return;
    list.innerHTML = fragment.html;
    list.dataset.digest = fragment.digest;
  }

  function apply(live) {
    const state = $('trade-state');
    state.textContent = live.trade_state;
    state.className = 'state state-' + live.trade_state;
    for (const b of payButtons) b.disabled = !live.payable;
    $('notification-status').textContent = live.notification_status;
    replaceList($('notifications'), live.notifications);
    replaceList($('refunds'), live.refunds);
    $('no-refunds').hidden = live.refunds.count > 0;
    $('refund-section').hidden = !live.paid;
  }

  // A click polls at once while a timer's poll may be in flight: only the latest poll may apply its
  // answer (an older one could be staler) and schedule the next, so polls never double up.
  let generation = 0;

  async function poll() {
    clearTimeout(timer);
    generation += 1;
    const mine = generation;
    try {
      const { status, json } = await send('GET', '/sandbox/cashier/' + enc + '/live');
      if (status === 200 && mine === generation) apply(json);
    } catch (e) {
      // The simulator may be restarting: keep polling.
    }
    if (mine === generation) timer = setTimeout(poll, 1000);
  }

  for (const button of payButtons) {
    button.addEventListener('click', async () => {
      const action = ERR[button.dataset.action];
      if (!action) return;
      for (const b of payButtons) b.disabled = true;
      try {
        const { status, json } = await send('POST', '/sandbox/orders/' + enc + '/pay', { result: action.result });
        if (status === 200) {
          show(result, action.text + ': errCode ' + action.errCode, action.errCode === 0);
        } else {
          // WeChat refused the action itself: the phone's SDK never returned, so there is no errCode.
          const err = json.error || {};
          const why = (err.code || 'HTTP ' + status) + (err.message ? ' (' + err.message + ')' : '');
          show(result, action.name + ' refused: ' + why, false);
        }
      } catch (e) {
        show(result, 'The simulator did not answer', false);
      }
      await poll();
    });
  }

  $('refunds').addEventListener('click', async (event) => {
    const button = event.target.closest('button[data-action]');
    const item = button && button.closest('li[data-out-refund-no]');
    if (!item) return;
    const outcome = { 'refund-success': 'SUCCESS', 'refund-close': 'CLOSED', 'refund-abnormal': 'ABNORMAL' }[
      button.dataset.action
    ];
    if (!outcome) return;
    const refundNo = item.dataset.outRefundNo;
    button.disabled = true;
    try {
      const { status, json } = await send(
        'POST', '/sandbox/refunds/' + encodeURIComponent(refundNo) + '/complete', { result: outcome });
      if (status === 200) show(refundResult, 'Refund ' + refundNo + ': ' + json.status, true);
      else {
        const why = (json.error && json.error.message) || 'HTTP ' + status;
        show(refundResult, 'Refund ' + refundNo + ' refused: ' + why, false);
      }
    } catch (e) {
      show(refundResult, 'The simulator did not answer', false);
    }
    await poll();
  });

  timer = setTimeout(poll, 1000);
})();
`;
