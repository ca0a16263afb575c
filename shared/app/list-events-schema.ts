import * as z from 'zod';

import { DEFAULT_EVENTS_PAGE, MAX_EVENTS_PAGE } from '../domain/list-events';
import { validationErrorOf } from './schema-errors';

/** A cursor is a few dozen characters (base64url of `<recordedAt>#<eventId>`); anything longer is not one. */
export const MAX_EVENTS_CURSOR_LENGTH = 200;

const LIMIT_RULE = `must be a whole number from 1 to ${MAX_EVENTS_PAGE}`;

/**
 * `GET /events?after=&limit=`. Only the shape is checked here; whether `after` is a cursor of the log
 * is the log's to say (a ValidationError on `after` too).
 */
const listEventsQuerySchema = z.object({
  after: z.string().max(MAX_EVENTS_CURSOR_LENGTH, `must be at most ${MAX_EVENTS_CURSOR_LENGTH} characters`).optional(),
  limit: z
    .string()
    .regex(/^\d{1,3}$/, LIMIT_RULE)
    .transform(Number)
    .pipe(z.number().min(1, LIMIT_RULE).max(MAX_EVENTS_PAGE, LIMIT_RULE))
    .default(DEFAULT_EVENTS_PAGE),
});

export interface ListEventsQuery {
  after?: string;
  limit: number;
}

/**
 * The query string as API Gateway hands it over; a bad value is a 400 naming its parameter. An empty
 * value is no value (`?after=&limit=` as a first call builds it: from the start, 50 events).
 */
export function parseListEventsQuery(query: Record<string, string | undefined> | undefined): ListEventsQuery {
  const given = (value: string | undefined) => (value === '' ? undefined : value);
  const parsed = listEventsQuerySchema.safeParse({ after: given(query?.after), limit: given(query?.limit) });
  if (!parsed.success) throw validationErrorOf(parsed.error);
  const { after, limit } = parsed.data;
  return after === undefined ? { limit } : { after, limit };
}
