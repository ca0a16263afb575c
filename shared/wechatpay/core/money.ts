/**
 * WeChat Pay's money: integer fen (分) on the wire of both API versions, yuan (元) with two decimals
 * where people read it (bills, the payer's phone, an operator's terminal). Converted by integer
 * arithmetic, never through a float, so 0.1 + 0.2 never shows.
 */

/** 1234 → `"12.34"`; -2 → `"-0.02"`. Whole fen only: anything else is a RangeError. */
export function fenToYuan(fen: number): string {
  if (!Number.isSafeInteger(fen)) throw new RangeError(`fen must be a whole number: ${fen}`);
  const sign = fen < 0 ? '-' : '';
  const abs = Math.abs(fen);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
