/** How the pages write amounts and instants: as the payer's phone shows them. */
import { beijingWallClock } from '#shared/wechatpay/core/beijing-time';
import { fenToYuan } from '#shared/wechatpay/core/money';

/** Integer fen as the phone shows it, `¥0.01` (`-¥0.02` for a negative amount). */
export function yuan(fen: number): string {
  const digits = fenToYuan(fen);
  return digits.startsWith('-') ? `-¥${digits.slice(1)}` : `¥${digits}`;
}

/** An instant in Beijing time, as WeChat shows it (`2024-05-01 12:00:00`). */
export function beijingTime(epochMs: number): string {
  return beijingWallClock(new Date(epochMs)).replace('T', ' ');
}

/** The same instant in RFC 3339, for `<time datetime>`. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
