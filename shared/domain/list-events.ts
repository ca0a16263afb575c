import { ValidationError } from './errors';
import type { EventLog, EventPage } from './events';

export const DEFAULT_EVENTS_PAGE = 50;
export const MAX_EVENTS_PAGE = 100;

/** `GET /events`: the log, oldest first, from a cursor. */
export class ListEvents {
  constructor(private readonly log: EventLog) {}

  async list(query: { after?: string; limit?: number }): Promise<EventPage> {
    const limit = query.limit ?? DEFAULT_EVENTS_PAGE;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_EVENTS_PAGE) {
      throw new ValidationError(`limit must be a whole number from 1 to ${MAX_EVENTS_PAGE}`, 'limit');
    }
    return this.log.list({ after: query.after, limit });
  }
}
