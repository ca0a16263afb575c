/** How the pages write amounts and instants: as the payer's phone shows them. */

/** Integer fen as yuan with two decimals, `¥0.01`; no floating point on the way. */
export function yuan(fen: number): string {
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}¥${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

/** An instant in Beijing time, as WeChat shows it (`2024-05-01 12:00:00`). */
export function beijingTime(epochMs: number): string {
  return new Date(epochMs + BEIJING_OFFSET_MS).toISOString().slice(0, 19).replace('T', ' ');
}

/** The same instant in RFC 3339, for `<time datetime>`. */
export function isoTime(epochMs: number): string {
  return new Date(epochMs).toISOString();
}
