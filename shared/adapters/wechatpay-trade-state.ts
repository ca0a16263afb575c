import type { TradeState } from '../domain/ports';
import type { TradeState as WechatTradeState } from '../wechatpay/core/trade-state';

/** WeChat's trade_state, the same in v2 and v3, as the domain reads it. */
export const TRADE_STATE: Readonly<Record<WechatTradeState, TradeState>> = {
  SUCCESS: 'SUCCESS',
  REFUND: 'REFUND',
  NOTPAY: 'NOTPAY',
  CLOSED: 'CLOSED',
  REVOKED: 'REVOKED',
  USERPAYING: 'USERPAYING',
  PAYERROR: 'PAYERROR',
  // Accepted, awaiting debit: still in progress, like a payer entering a password.
  ACCEPT: 'USERPAYING',
};
