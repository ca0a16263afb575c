/**
 * trade_state, spelled the same in v2 and v3. ACCEPT ("accepted, awaiting debit") appears on some
 * payment paths and in WeChat's later v2 pages.
 */
export const TRADE_STATES = [
  'SUCCESS',
  'REFUND',
  'NOTPAY',
  'CLOSED',
  'REVOKED',
  'USERPAYING',
  'PAYERROR',
  'ACCEPT',
] as const;
export type TradeState = (typeof TRADE_STATES)[number];

export function isTradeState(value: string): value is TradeState {
  return (TRADE_STATES as readonly string[]).includes(value);
}
