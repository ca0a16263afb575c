import type { DomainEvent, EventType } from '../domain/events';

/**
 * The public JSON shape of an event (../shared/product.md, "Events to the app backend"): the webhook
 * body, the event bus's detail and each item of `GET /events` are all this, so a backend reads one
 * shape whichever way it learns of an event.
 */
export interface EventView {
  id: string;
  type: EventType;
  created_at: string;
  data: Record<string, unknown>;
}

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
