import {
  type AggregateChange,
  type DomainEvent,
  type EventLog,
  type EventOutlet,
  eventIdOf,
  eventTimeOf,
  eventTypeOf,
  subjectOf,
} from './events';

export interface EventRecorderDeps {
  /** Only recorded to: reading the log is GET /events' business. */
  log: Pick<EventLog, 'record'>;
  /** Where a recorded event goes next (the webhook queue, the event bus); none locally without a URL. */
  outlets: readonly EventOutlet[];
  /** The public view of the changed order or refund, as the API returns it. */
  describe: (change: AggregateChange) => Record<string, unknown>;
}

/**
 * Turns one change from the table's stream into its event: recorded once in the log, then handed to
 * every outlet. A change seen again (the stream's retries) is handed on again, since the first attempt
 * may have stopped between the log and an outlet: outlets get an event at least once, always with the
 * same id, and the backend deduplicates by it.
 */
export class EventRecorder {
  constructor(private readonly deps: EventRecorderDeps) {}

  /** The event the change produced, or undefined when it calls for none. */
  async record(change: AggregateChange): Promise<DomainEvent | undefined> {
    const type = eventTypeOf(change);
    if (type === undefined) return undefined;
    const subject = subjectOf(change);
    const event: DomainEvent = {
      id: eventIdOf(subject, type),
      type,
      createdAt: eventTimeOf(change),
      subject,
      data: this.deps.describe(change),
    };
    await this.deps.log.record(event);
    for (const outlet of this.deps.outlets) await outlet.publish(event);
    return event;
  }
}
