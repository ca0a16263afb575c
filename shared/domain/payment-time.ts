/** Beijing time, which WeChat's v2 timestamps and bill days are in without saying so: UTC+8, no DST. */
export const BEIJING_OFFSET_MS = 8 * 3_600_000;
const V2_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})$/;
/** RFC 3339 with its offset (v3), e.g. 2030-01-01T08:00:00+08:00; fractions of a second allowed. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * The instant of a payment's completion as WeChat sent it (PaymentFacts.paidAt): v2's time_end
 * `yyyyMMddHHmmss` in Beijing time, or v3's success_time in RFC 3339. Undefined when it is neither,
 * or names no real moment (a 13th month, a 25th hour).
 */
export function paidAtInstant(paidAt: string): Date | undefined {
  const v2 = V2_TIME.exec(paidAt);
  if (v2) {
    const [year, month, day, hour, minute, second] = v2.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
      number,
    ];
    const utc = Date.UTC(year, month - 1, day, hour, minute, second);
    const back = new Date(utc);
    // Date.UTC rolls 2030-02-30 over to March: a field out of range is not a time WeChat sent.
    if (
      back.getUTCFullYear() !== year ||
      back.getUTCMonth() !== month - 1 ||
      back.getUTCDate() !== day ||
      back.getUTCHours() !== hour ||
      back.getUTCMinutes() !== minute ||
      back.getUTCSeconds() !== second
    ) {
      return undefined;
    }
    return new Date(utc - BEIJING_OFFSET_MS);
  }
  return rfc3339Instant(paidAt);
}

/**
 * The instant of an RFC 3339 time with its offset (v3's times); undefined for anything else, even what
 * Date.parse would take (a time without its offset would be read in the Lambda's zone).
 */
export function rfc3339Instant(text: string): Date | undefined {
  if (!RFC3339.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

/**
 * A payment's completion time as an answer gives it: RFC 3339 with its offset. v2's Beijing
 * `yyyyMMddHHmmss` is rewritten with +08:00 (no arithmetic, so nothing is rounded or shifted); v3's
 * success_time is RFC 3339 already; anything else is passed on as WeChat sent it.
 */
export function paidAtRfc3339(paidAt: string): string {
  const v2 = V2_TIME.exec(paidAt);
  if (!v2) return paidAt;
  const [year, month, day, hour, minute, second] = v2.slice(1);
  return `${year}-${month}-${day}T${hour}:${minute}:${second}+08:00`;
}
