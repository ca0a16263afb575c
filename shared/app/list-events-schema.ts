import * as z from 'zod';

import { validationErrorOf } from './schema-errors';

/**
 * `GET /events?after=&limit=`. Only the text is read here: whether `after` is a cursor of the log is
 * the log's to say, and the range and default of `limit` are ListEvents' (each a ValidationError on
 * its parameter too).
 */
export const listEventsQuerySchema = z.object({
  after: z.string().optional(),
  limit: z.string().regex(/^\d+$/, 'must be a whole number').transform(Number).optional(),
});

export type ListEventsQuery = z.infer<typeof listEventsQuerySchema>;

/**
 * The query string as API Gateway hands it over; a bad value is a 400 naming its parameter. An empty
 * value is no value (`?after=&limit=` as a first call builds it: from the start, the default page).
 */
export function parseListEventsQuery(query: Record<string, string | undefined> | undefined): ListEventsQuery {
  const given = (value: string | undefined) => (value === '' ? undefined : value);
  const parsed = listEventsQuerySchema.safeParse({ after: given(query?.after), limit: given(query?.limit) });
  if (!parsed.success) throw validationErrorOf(parsed.error);
  return parsed.data;
}
