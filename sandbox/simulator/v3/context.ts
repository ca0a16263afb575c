import type { KeyObject } from 'node:crypto';
import type { TradeBills } from '../bills';
import type { Clock } from '../clock';
import type { Refunds } from '../refunds';
import type { Trades } from '../trades';
import type { BillDownloadTokens } from './bill-download-tokens';
import type { PlatformIdentity } from './platform';

/** The merchant as WeChat's v3 side knows it. */
export interface V3Merchant {
  appid: string;
  mchid: string;
  /** 32 bytes; encrypts notification resources and certificates. Never logged. */
  apiV3Key: string;
  /** Verifies the merchant's Authorization header. */
  publicKey: KeyObject;
  /** The merchant certificate serial that Authorization must name. */
  certSerial: string;
}

/** What a v3 API handler may use; handlers turn a checked request into a reply and nothing else. */
export interface V3Context {
  merchant: V3Merchant;
  trades: Trades;
  refunds: Refunds;
  clock: Clock;
  platform: PlatformIdentity;
  bills: TradeBills;
  billTokens: BillDownloadTokens;
}
