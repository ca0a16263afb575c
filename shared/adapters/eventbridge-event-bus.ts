import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { DomainEvent, EventOutlet } from '../domain/events';

/** The `source` of every event we put on the bus, for consumers' rules to match on. */
export const EVENT_BUS_SOURCE = 'wechatpay';

export interface EventBridgeEventBusOptions {
  client: EventBridgeClient;
  busName: string;
  /** The event's wire form, the same as the webhook body: the entry's detail. */
  render: (event: DomainEvent) => string;
}

/** The bus refused the entry (PutEvents answers 200 with per-entry failures). */
export class EventBusError extends Error {
  override readonly name = 'EventBusError';

  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Puts each event on an EventBridge bus for other AWS consumers, detail-type = the event type. The
 * bus keeps no order and may deliver twice: consumers deduplicate by the detail's id. A refused entry
 * is an error, so the stream record is retried rather than the event lost for the bus.
 */
export class EventBridgeEventBus implements EventOutlet {
  private readonly client: EventBridgeClient;
  private readonly busName: string;
  private readonly render: (event: DomainEvent) => string;

  constructor(options: EventBridgeEventBusOptions) {
    this.client = options.client;
    this.busName = options.busName;
    this.render = options.render;
  }

  async publish(event: DomainEvent): Promise<void> {
    const answer = await this.client.send(
      new PutEventsCommand({
        Entries: [
          { EventBusName: this.busName, Source: EVENT_BUS_SOURCE, DetailType: event.type, Detail: this.render(event) },
        ],
      }),
    );
    if ((answer.FailedEntryCount ?? 0) > 0) {
      const entry = answer.Entries?.find((e) => e.ErrorCode !== undefined) ?? answer.Entries?.[0];
      const code = entry?.ErrorCode ?? 'UNKNOWN';
      throw new EventBusError(
        code,
        `the bus ${this.busName} refused event ${event.id}: ${code} ${entry?.ErrorMessage ?? ''}`.trim(),
      );
    }
  }
}
