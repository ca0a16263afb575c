import type { ServerResponse } from 'node:http';
import { sendJson, sendJsonError } from '../http-io';
import type { Route } from '../router';
import type { StateStore } from '../state-store';
import { cashierPage, unknownOrderPage } from './cashier-page';
import { liveView } from './cashier-view';
import type { CashierState } from './cashier-view';
import { sendPage } from './layout';
import { orderListPage } from './order-list-page';
import { qrSvg } from './qr-code';

/**
 * The simulator's pages for people: the order list and the payer's cashier, server-rendered, with the
 * JSON the cashier polls. Read-only: the buttons act through the control API.
 */
export function pageRoutes(deps: { store: StateStore }): Route[] {
  const { store } = deps;
  const stateOf = (outTradeNo: string): CashierState | undefined => {
    const order = store.getOrder(outTradeNo);
    if (order === undefined) return undefined;
    return { order, journal: store.journalOf(outTradeNo), refunds: store.refundsOf(outTradeNo) };
  };
  const list = async (_req: unknown, res: ServerResponse): Promise<void> =>
    sendPage(res, 200, orderListPage(store.allOrders(), store.allRefunds()));
  return [
    { method: 'GET', path: '/sandbox', handler: list },
    { method: 'GET', path: '/sandbox/', handler: list },
    {
      method: 'GET',
      path: '/sandbox/cashier/:outTradeNo',
      handler: async (_req, res, p) => {
        const state = stateOf(p.outTradeNo as string);
        if (state === undefined) {
          sendPage(res, 404, unknownOrderPage(p.outTradeNo as string));
          return;
        }
        const codeUrl = state.order.tradeType === 'NATIVE' ? state.order.prepay.codeUrl : undefined;
        sendPage(res, 200, cashierPage(state, codeUrl === undefined ? undefined : await qrSvg(codeUrl)));
      },
    },
    {
      method: 'GET',
      path: '/sandbox/cashier/:outTradeNo/live',
      handler: async (_req, res, p) => {
        const state = stateOf(p.outTradeNo as string);
        if (state === undefined) sendJsonError(res, 404, 'ORDERNOTEXIST', `no order ${p.outTradeNo as string}`);
        else sendJson(res, 200, liveView(state));
      },
    },
  ];
}
