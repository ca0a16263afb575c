import type { TradeState } from '../domain/ports';
import type { V2TradeState } from '../wechatpay/v2/responses';
import type { V3TradeState } from '../wechatpay/v3/schemas';

/** WeChat's trade_state, the same in v2 and v3, as the domain reads it. */
export const TRADE_STATE: Readonly<Record<V2TradeState & V3TradeState, TradeState>> = {
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
