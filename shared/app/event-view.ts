import * as z from 'zod';

import { EVENT_ID_PATTERN, EVENT_TYPES } from '../domain/events';
import type { DomainEvent } from '../domain/events';

/**
 * The public JSON shape of an event (README.md, "Events to your backend"): the webhook
 * body, the event bus's detail and each item of `GET /events` are all this, so a backend reads one
 * shape whichever way it learns of an event.
 */
export const eventViewSchema = z.object({
  id: z.string().regex(EVENT_ID_PATTERN),
  type: z.enum(EVENT_TYPES),
  created_at: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
});
export type EventView = z.infer<typeof eventViewSchema>;

export function eventView(event: DomainEvent): EventView {
  return { id: event.id, type: event.type, created_at: event.createdAt, data: event.data };
}

/**
 * The event's wire text: rendered once when the event is handed to an outlet and then carried as is,
 * since a webhook's signature covers these exact bytes (the receiver verifies the raw body).
 */
export function eventJson(event: DomainEvent): string {
  return JSON.stringify(eventView(event));
}
