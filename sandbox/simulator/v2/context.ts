import type { Clock } from '../clock';
import type { Refunds } from '../refunds';
import type { Merchant } from '../sandbox-merchant';
import type { Trades } from '../trades';

/** What a v2 API handler may use; handlers turn checked parameters into a reply and nothing else. */
export interface V2Context {
  merchant: Merchant;
  trades: Trades;
  refunds: Refunds;
  clock: Clock;
}
