/** WeChat v2 writes instants as yyyyMMddHHmmss in Beijing time (UTC+8, no daylight saving). */

const BEIJING_OFFSET_MS = 8 * 60 * 60 * 1000;

export function formatBeijing(epochMs: number): string {
  const iso = new Date(epochMs + BEIJING_OFFSET_MS).toISOString(); // 2024-01-02T03:04:05.678Z
  return iso.slice(0, 19).replace(/[-T:]/g, '');
}

/** yyyyMMdd of the Beijing date. */
export function beijingDate(epochMs: number): string {
  return formatBeijing(epochMs).slice(0, 8);
}

/** Epoch milliseconds, or undefined when the text is not a real yyyyMMddHHmmss instant. */
export function parseBeijing(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const epochMs = Date.UTC(year, month - 1, day, hour, minute, second) - BEIJING_OFFSET_MS;
  // Date.UTC rolls 20240230 over to March; a round trip catches impossible dates.
  return formatBeijing(epochMs) === text ? epochMs : undefined;
}
