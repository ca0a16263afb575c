import { ValidationError } from '../domain/errors';
import { EVENT_ID_PATTERN } from '../domain/events';

/**
 * The cursor of `GET /events`: where an event sits in the log, `<recordedAt>#<event id>` (the events
 * index's sort key, see table-schema.ts), base64url so callers treat it as opaque. Every log (the
 * DynamoDB one, the in-memory one of the tests) orders and resumes by the same key.
 */

const POSITION = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)#(.*)$/;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
/** Sorts after every other event id: the position of this id at an instant is the end of its millisecond. */
const LAST_EVENT_ID = `evt_${'f'.repeat(32)}`;

export interface EventPosition {
  /** ISO 8601 with milliseconds, UTC (`Date.toISOString`). */
  recordedAt: string;
  eventId: string;
}

/** The log's sort key of an event: by time recorded, the id keeping events of the same millisecond apart. */
export function positionKey(position: EventPosition): string {
  return `${position.recordedAt}#${position.eventId}`;
}

export function encodeEventCursor(position: EventPosition): string {
  return Buffer.from(positionKey(position), 'utf8').toString('base64url');
}

/**
 * The position a cursor names. Refuses anything this log did not hand out: a cursor is decoded only
 * when it is canonical base64url of a well-formed key with a real instant, so no other text reaches a
 * query.
 */
export function decodeEventCursor(cursor: string): EventPosition {
  const refuse = (): never => {
    throw new ValidationError('after is not a cursor of this events log', 'after');
  };
  if (!BASE64URL.test(cursor)) return refuse();
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  // Buffer ignores stray bits and trailing characters: only the one encoding of the key is accepted.
  if (Buffer.from(key, 'utf8').toString('base64url') !== cursor) return refuse();
  const match = POSITION.exec(key);
  if (!match) return refuse();
  const [, recordedAt, eventId] = match as unknown as [string, string, string];
  if (!EVENT_ID_PATTERN.test(eventId)) return refuse();
  const instant = new Date(recordedAt);
  if (Number.isNaN(instant.getTime()) || instant.toISOString() !== recordedAt) return refuse();
  return { recordedAt, eventId };
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC day (`yyyy-mm-dd`) of an ISO instant. */
export function utcDay(instant: string): string {
  return instant.slice(0, 10);
}

/** The UTC days from `first` to `last` inclusive (none when first is after last). */
function utcDaysBetween(first: string, last: string): string[] {
  const days: string[] = [];
  for (let ms = Date.parse(`${first}T00:00:00.000Z`); ; ms += DAY_MS) {
    const day = utcDay(new Date(ms).toISOString());
    if (day > last) return days;
    days.push(day);
  }
}

/** The part of the log one listing may read (see EventLog.list). */
export interface ListingWindow {
  /** Only events after this key: the cursor's, or the start of the retention period when that is later. */
  afterKey: string;
  /** Only events at or before this key: the end of the settled instant's millisecond. */
  upToKey: string;
  /** The UTC days to read, oldest first. */
  days: string[];
  /**
   * The cursor to hand back when the listing is not cut off by its limit: every event up to upToKey
   * has then been read, so the next listing starts there rather than at an old cursor's day.
   */
  settledCursor: string;
}

/**
 * What a listing at `now` reads. Recorders take recordedAt before their write commits, and writes of
 * several stream shards commit slightly out of that order: an event may land just behind one already
 * visible. Listing only events older than `settleMs` keeps a cursor from passing one that is still to
 * land. Nothing recorded `retentionDays` ago or earlier is listed, exactly what the items' TTL expires
 * (an expired item lingers until DynamoDB deletes it, and must neither show up nor vanish mid-paging),
 * and an old cursor costs no query per day since.
 */
export function listingWindow(
  after: string | undefined,
  now: Date,
  settleMs: number,
  retentionDays: number,
): ListingWindow {
  const retainedAfter = endOf(new Date(now.getTime() - retentionDays * DAY_MS).toISOString());
  const cursor = after === undefined ? undefined : decodeEventCursor(after);
  const from = cursor !== undefined && positionKey(cursor) > positionKey(retainedAfter) ? cursor : retainedAfter;
  const upTo = endOf(new Date(now.getTime() - settleMs).toISOString());
  // A cursor ahead of the settled instant (another instance's clock ran ahead) is never moved back.
  const resume = positionKey(from) > positionKey(upTo) ? from : upTo;
  return {
    afterKey: positionKey(from),
    upToKey: positionKey(upTo),
    days: utcDaysBetween(utcDay(from.recordedAt), utcDay(upTo.recordedAt)),
    settledCursor: encodeEventCursor(resume),
  };
}

/** The position after every event recorded at or before `recordedAt`. */
function endOf(recordedAt: string): EventPosition {
  return { recordedAt, eventId: LAST_EVENT_ID };
}
